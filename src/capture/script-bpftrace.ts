/**
 * `capture-script --tool bpftrace`: the bpftrace program, one probe block per kprobe printing the
 * record line src/ingest/trace/bpftrace.ts reads, and the shell that assembles and runs it.
 */
import {type FetchType, MARKER_PROBE, type ProbeDef} from './probes.js'
import {shQuote} from './shell.js'

/** bpftrace printf conversion and argument expression per fetch type. */
function btArg(arg: ProbeDef['args'][number]): {fmt: string; expr: string} {
  const src = arg.index === 'retval' ? 'retval' : `arg${arg.index}`
  const conv: Record<FetchType, {fmt: string; expr: string}> = {
    x64: {fmt: '0x%lx', expr: src},
    s32: {fmt: '%d', expr: `(int32)${src}`},
    u32: {fmt: '%u', expr: `(uint32)${src}`},
    u8: {fmt: '%u', expr: `(uint8)${src}`},
  }
  return {fmt: `${arg.name}=${conv[arg.type].fmt}`, expr: conv[arg.type].expr}
}

/**
 * One bpftrace probe block printing the documented record line (src/ingest/trace/bpftrace.ts):
 * `PGP <nsecs> <cpu> <tid> <event> <probe> <%16s comm> name=value…`, kstack appended when asked.
 */
export function bpftraceProbe(p: ProbeDef, stacks: boolean): string {
  const args = p.args.map(btArg)
  const fmt = ['PGP %llu %d %d', p.event, '%s %16s', ...args.map((x) => x.fmt)].join(' ') + (stacks && !p.ret ? '%s' : '') + '\\n'
  const exprs = ['nsecs', 'cpu', 'tid', 'probe', 'comm', ...args.map((x) => x.expr), ...(stacks && !p.ret ? ['kstack'] : [])]
  return `${p.ret ? 'kretprobe' : 'kprobe'}:${p.symbol} { printf("${fmt}", ${exprs.join(', ')}); }`
}

export function bpftraceMarkerProbe(): string {
  return `kprobe:${MARKER_PROBE.symbol} { printf("PGP %llu %d %d ${MARKER_PROBE.event} %s %16s text=%s\\n", nsecs, cpu, tid, probe, comm, str(uptr(arg1), arg2)); }`
}

/** module:module_load / module_free as `module_load … text=<name>` records. */
export function bpftraceModuleProbe(event: string): string {
  return `tracepoint:module:${event} { printf("PGP %llu %d %d ${event} %s %16s text=%s\\n", nsecs, cpu, tid, probe, comm, str(args->name)); }`
}

/** The bpftrace part of the capture script: assemble the program from the probes this kernel has, run it, wait until attached. */
export function bpftraceSection(probes: ProbeDef[], stacks: boolean): {start: string; stop: string} {
  const blocks = probes.map((p) => `bt ${p.symbol} ${shQuote(bpftraceProbe(p, stacks))}`)
  return {
    start: `
# ---- bpftrace ----------------------------------------------------------------
command -v bpftrace >/dev/null || { err "bpftrace not found"; exit 1; }
# The program is assembled here so it holds only symbols this kernel has (bpftrace refuses
# to start if one kprobe cannot attach). printf, not echo: dash's echo would expand the \\n.
B="$OUT/pgprot.bt"
: > "$B"
bt() { # bt SYMBOL PROGRAM-LINE
  if has_sym "$1"; then printf '%s\\n' "$2" >> "$B"; else err "not in kallsyms: $1"; fi
}
bt_tp() { # bt_tp SYSTEM/EVENT PROGRAM-LINE: a tracepoint, if this kernel has it
  if [ -d "$T/events/$1" ]; then printf '%s\\n' "$2" >> "$B"; else err "no tracepoint $1"; fi
}
bt ${MARKER_PROBE.symbol} ${shQuote(bpftraceMarkerProbe())}
${blocks.join('\n')}
${['module_load', 'module_free'].map((e) => `bt_tp module/${e} ${shQuote(bpftraceModuleProbe(e))}`).join('\n')}
printf '%s\\n' 'BEGIN { printf("ptreplay: attached\\n"); }' >> "$B"
BPFTRACE_STRLEN=128 bpftrace -o "$OUT/bpftrace.txt" "$B" 2>>"$OUT/errors.txt" &
BT_PID=$!
cleanup() { kill -INT $BT_PID 2>/dev/null; wait $BT_PID 2>/dev/null; }
trap 'cleanup; exit 130' INT TERM
n=0
until grep -q '^ptreplay: attached' "$OUT/bpftrace.txt" 2>/dev/null; do
  n=$((n + 1)); [ $n -gt 60 ] && { err "bpftrace did not attach within 60 s"; cleanup; exit 1; }
  kill -0 $BT_PID 2>/dev/null || { err "bpftrace exited (see errors.txt)"; exit 1; }
  sleep 1
done
sleep 1
step "tracing on"
`,
    stop: `kill -INT $BT_PID; wait $BT_PID
step "tracing off"
`,
  }
}
