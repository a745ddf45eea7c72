/** The hits as text: tracefs `trace` lines and header, and the records the tracefs tokenizer would make. */
import {type KernelVersion, versionHas} from '../../kernel/version.js'
import type {RawRecord} from '../../ingest/events.js'
import type {Hit} from './types.js'

/** Probe symbol sizes (`fn+0x0/0xSIZE`) as the real 6.12 and 6.19 captures print them. */
const SYM_SIZE_619: Record<string, number> = {
  set_memory_ro: 0x1c,
  set_memory_rw: 0x1c,
  set_memory_x: 0x1c,
  set_memory_nx: 0x1c,
  set_memory_valid: 0x58,
  change_memory_common: 0x134,
  __change_memory_common: 0x9c,
  update_range_prot: 0xd8,
  set_direct_map_invalid_noflush: 0x50,
  set_direct_map_default_noflush: 0x54,
}

const SYM_SIZE_612: Record<string, number> = {
  set_memory_ro: 0x38,
  set_memory_rw: 0x38,
  set_memory_x: 0x38,
  set_memory_nx: 0x38,
  set_memory_valid: 0x58,
  change_memory_common: 0x130,
  __change_memory_common: 0xf8,
  update_range_prot: 0xd8,
  set_direct_map_invalid_noflush: 0xc8,
  set_direct_map_default_noflush: 0xc8,
}

function tsText(us: number): string {
  const s = Math.floor(us / 1e6)
  return `${String(s).padStart(5)}.${String(us % 1e6).padStart(6, '0')}`
}

/** One tracefs `trace` line, as the real captures print kprobe and marker events. */
export function hitToLine(h: Hit, kernel: KernelVersion = [6, 19]): string {
  const task = `${h.comm}-${h.pid}`.padStart(16)
  const cpu = `[${String(h.cpu).padStart(3, '0')}]`
  if (h.text !== undefined) return `${task} ${cpu} ..... ${tsText(h.tsUs)}: tracing_mark_write: ${h.text}`
  const sizes = versionHas(kernel, 'leafSplit') ? SYM_SIZE_619 : SYM_SIZE_612
  let line = `${task} ${cpu} d.... ${tsText(h.tsUs)}: ${h.fn}: (${h.fn}+0x0/0x${(sizes[h.fn] ?? 0x40).toString(16)})`
  for (const [k, v] of h.args ?? []) line += ` ${k}=${v}`
  return line
}

/** The tracefs header the kernel prints before the events. */
export function traceHeader(events: number, cpus: number): string[] {
  return [
    '# tracer: nop',
    '#',
    `# entries-in-buffer/entries-written: ${events}/${events}   #P:${cpus}`,
    '#',
    '#                                _-----=> irqs-off/BH-disabled',
    '#                               / _----=> need-resched',
    '#                              | / _---=> hardirq/softirq',
    '#                              || / _--=> preempt-depth',
    '#                              ||| / _-=> migrate-disable',
    '#                              |||| /     delay',
    '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION',
    '#              | |         |   |||||     |         |',
  ]
}

/**
 * A hit as the tracefs tokenizer would have produced it (for in-memory replays that skip text:
 * feed it to the Normalizer of src/ingest/normalize.ts).
 */
export function hitToRecord(h: Hit, line: number, file = '<synth>'): RawRecord {
  const args: Record<string, string> = {}
  for (const [k, v] of h.args ?? []) args[k] = v
  const rec: RawRecord = {
    tsNs: BigInt(h.tsUs) * 1000n,
    cpu: h.cpu,
    pid: h.pid,
    comm: h.comm,
    event: h.fn,
    args,
    src: {file, line},
  }
  if (h.text !== undefined) rec.text = h.text
  else rec.probeSymbol = h.fn
  return rec
}
