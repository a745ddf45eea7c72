import {execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {bundleInfo, bundleTrace} from '../../src/capture/bundle.js'
import {kprobeDefinition, parseKernelVersion, probesFor} from '../../src/capture/probes.js'
import {buildCaptureScript, CAPTURE_TOOLS, stackEvents} from '../../src/capture/script.js'
import {bpftraceProbe} from '../../src/capture/script-bpftrace.js'
import {parseBpftraceRecord} from '../../src/ingest/trace/bpftrace.js'

const dir = mkdtempSync(join(tmpdir(), 'ptreplay-capture-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

/** Every real capture folder: samples/<kernel>/<boot>/. */
const SAMPLES = readdirSync('samples', {withFileTypes: true})
  .filter((d) => d.isDirectory())
  .flatMap((d) =>
    readdirSync(join('samples', d.name), {withFileTypes: true})
      .filter((b) => b.isDirectory())
      .map((b) => join('samples', d.name, b.name)),
  )
  // The tracefs captures (the tools boot, trace-cmd and perf, has no kprobe_events.requested).
  .filter((s) => existsSync(join(s, 'kprobe_events.requested')))

function requested(sample: string): string[] {
  return readFileSync(join(sample, 'kprobe_events.requested'), 'utf8').trimEnd().split('\n')
}

/** The `addp SYM 'DEF'` lines of a generated script, as definitions. */
function definitions(script: string): string[] {
  return [...script.matchAll(/^addp \S+ '(.*)'$/gm)].map((m) => m[1]!)
}

describe('capture-script: generated script', () => {
  for (const tool of CAPTURE_TOOLS) {
    for (const kernel of ['6.1', '6.12', '6.19', '7.3']) {
      it(`${tool} / ${kernel} passes bash -n and dash -n`, () => {
        const path = join(dir, `${tool}-${kernel}.sh`)
        writeFileSync(path, buildCaptureScript({tool, kernel: parseKernelVersion(kernel), stacks: true}))
        execFileSync('bash', ['-n', path])
        execFileSync('dash', ['-n', path])
      })
    }
  }

  it('has a sample for every kernel it is checked against', () => {
    // the kernel of each sample, from its version.txt (`Linux version 6.12.117+deb12-arm64 …`)
    const kernels = SAMPLES.map((s) => /^Linux version (\d+\.\d+)/.exec(readFileSync(join(s, 'version.txt'), 'utf8'))![1])
    expect([...new Set(kernels)].sort()).toEqual(['6.1', '6.12', '6.19', '7.3'])
  })

  // ampere1a-2G-tools: recorded by trace-cmd and perf with a reduced probe set (its README: no
  // kretprobes, no vfree/ioremap_page_range), not by a capture-script
  for (const sample of SAMPLES.filter((s) => !s.endsWith('ampere1a-2G-tools'))) {
    it(`tracefs probes for ${sample} equal its kprobe_events.requested`, () => {
      const version = parseKernelVersion(readFileSync(join(sample, 'version.txt'), 'utf8').replace(/^Linux version /, ''))!
      // --untyped reproduces the real capture byte for byte…
      const untyped = definitions(buildCaptureScript({tool: 'tracefs', kernel: version, typed: false}))
      expect(untyped).toEqual(requested(sample))
      // …and the default adds only fetch types, so the kernel prints 32-bit ints without the
      // AAPCS64 garbage in bits 63:32 (`numpages=1`, not `numpages=0x1` or worse).
      const typed = definitions(buildCaptureScript({tool: 'tracefs', kernel: version}))
      expect(typed.map((d) => d.replace(/:(x64|s32|u32|u8)\b/g, ''))).toEqual(requested(sample))
      expect(typed.filter((d) => /numpages=%x1(?!:s32)/.test(d))).toEqual([])
    })
  }

  it('per kernel: 6.1 and 6.12 have 9 probes, 6.13 adds set_direct_map_valid_noflush, 6.18+ the split helpers', () => {
    const names = (k: string) => probesFor(parseKernelVersion(k)!).map((p) => p.event)
    expect(names('6.1')).toHaveLength(9)
    expect(names('6.12')).toEqual(names('6.1'))
    expect(names('6.13')).toEqual([...names('6.1').slice(0, 7), 'set_direct_map_valid_noflush', ...names('6.1').slice(7)])
    expect(names('6.17')).not.toContain('split_pmd')
    for (const k of ['6.18', '6.19', '7.0']) {
      expect(names(k)).toEqual(
        expect.arrayContaining(['update_range_prot', 'split_kernel_leaf_mapping', 'split_kernel_leaf_mapping_ret', 'split_kernel_leaf_mapping_locked', 'split_pud', 'split_pmd', 'split_contpmd', 'split_contpte']),
      )
    }
    // The 6.19 stack instance enables the outer probes only, as the real capture did.
    expect(stackEvents(parseKernelVersion('6.19')!)).not.toContain('update_range_prot')
    expect(stackEvents(parseKernelVersion('6.19')!)).toContain('split_pmd')
    expect(stackEvents(parseKernelVersion('6.1')!)).toContain('__change_memory_common')
  })

  it('7.3: the 7.3 capture set — vmalloc probes and tracepoints, the inlined helpers skipped with a note, the probed snapshot', () => {
    const k = parseKernelVersion('7.3')!
    const names = probesFor(k).map((p) => p.event)
    expect(names).toEqual(expect.arrayContaining(['vmap_pages_range', 'vunmap_range', 'ioremap_page_range', 'vmalloc_ret', 'vfree']))
    for (const inlined of ['__change_memory_common', 'split_contpmd', 'split_contpte']) expect(names).not.toContain(inlined)
    expect(probesFor(parseKernelVersion('6.19')!).map((p) => p.event)).not.toContain('vmap_pages_range')
    const script = buildCaptureScript({tool: 'tracefs', kernel: k})
    expect(script).toMatch(/^# skipped split_contpte: split_contpte is static and inlined in Debian's 7\.3 build/m)
    // The tracepoints of tracepoints.enabled in the 7.3 captures, in that order.
    const enabled = readFileSync('samples/linux-7.3-debian-qemu/ampere1a-2G-default/tracepoints.enabled', 'utf8').trim().split('\n')
    expect(script).toContain(`for e in ${enabled.join(' ')}; do`)
    expect(script).toMatch(/tracing on"\n[\s\S]*snapshot probed\nrun_workload/)
    expect(stackEvents(k)).not.toContain('vmap_pages_range')
    expect(stackEvents(k)).toContain('vfree')
    expect(buildCaptureScript({tool: 'trace-cmd', kernel: k})).toContain('-e vmalloc:alloc_vmap_area -e vmalloc:free_vmap_area_noflush -e vmalloc:purge_vmap_area_lazy')
  })

  it('$argN style and return probes', () => {
    const [ro] = probesFor(parseKernelVersion('6.19')!)
    expect(kprobeDefinition(ro!, {style: 'arg'})).toBe('p:set_memory_ro set_memory_ro addr=$arg1:x64 numpages=$arg2:s32')
    const ret = probesFor(parseKernelVersion('6.19')!).find((p) => p.ret)!
    expect(kprobeDefinition(ret)).toBe('r:split_kernel_leaf_mapping_ret split_kernel_leaf_mapping ret=$retval:s32')
  })

  it('collects the bundle metadata, phase marks and kprobe_profile', () => {
    const s = buildCaptureScript({tool: 'tracefs', kernel: parseKernelVersion('6.19')})
    for (const needle of [
      'save /proc/cpuinfo cpuinfo',
      'save /proc/meminfo meminfo',
      'save /proc/cmdline cmdline',
      'save /proc/version version.txt',
      '/proc/config.gz',
      'snapshot before',
      'snapshot after',
      'kernel_page_tables.$1',
      'save "$T/kprobe_profile" kprobe_profile',
      'mark "workload begin"',
      'mark "workload end"',
      '"$OUT/trace.txt"',
      '"$OUT/trace_stacktrace.txt"',
      'err "not in kallsyms: $1"',
    ])
      expect(s).toContain(needle)
    const perf = buildCaptureScript({tool: 'perf', stacks: true})
    expect(perf).toContain("perf record -a -k mono -g -e 'kprobes:*'")
    expect(perf).toContain("addp tracing_mark_write 'p:tracing_mark_write tracing_mark_write text=+0(%x1):ustring'")
    expect(buildCaptureScript({tool: 'trace-cmd'})).toContain('trace-cmd report -t -i "$OUT/trace.dat" > "$OUT/trace-cmd.txt"')
  })

  it('the bpftrace program prints lines the bpftrace reader parses back', () => {
    // Simulate bpftrace's printf for each probe: fill the format with plausible values.
    for (const p of probesFor(parseKernelVersion('6.19')!)) {
      const prog = bpftraceProbe(p, false)
      const fmt = /printf\("(.*)\\n"/.exec(prog)![1]!
      let i = 0
      const values = ['2846798000', '1', '88', `${p.ret ? 'kretprobe' : 'kprobe'}:${p.symbol}`, 'insmod']
      const line = fmt.replace(/%(llu|d|u|16s|s|lx)/g, (_m, conv: string) => {
        const v = values[i++]
        if (v !== undefined) return conv === '16s' ? v.padStart(16) : v
        return conv === 'lx' ? 'ffff8000787b8000' : '1'
      })
      const rec = parseBpftraceRecord(line, {file: 'bt', line: 1})
      expect(rec, line).toMatchObject({tsNs: 2846798000n, cpu: 1, pid: 88, comm: 'insmod', event: p.event})
      if (typeof rec === 'string') continue
      expect(Object.keys(rec.args)).toEqual(p.args.map((a) => a.name))
      if (p.ret) expect(rec.returnFrom).toBe(p.symbol)
      else expect(rec.probeSymbol).toBe(p.symbol)
    }
  })
})

/**
 * Run one section of a generated script under dash with a fake tracefs directory and a
 * kallsyms file of our choosing: the shell logic itself, not only its text.
 */
function dryRun(script: string, from: string, to: string, kallsyms: string): {out: string; t: string} {
  const start = script.indexOf(from)
  const end = script.indexOf(to, start)
  expect(start, from).toBeGreaterThan(0)
  expect(end, to).toBeGreaterThan(start)
  const helpers = script.slice(script.indexOf('step() {'), script.indexOf('save() {'))
  const root = mkdtempSync(join(dir, 'dry-'))
  const out = join(root, 'bundle')
  const t = join(root, 'tracing')
  execFileSync('mkdir', ['-p', out, join(t, 'events/module/module_load'), join(t, 'events/module/module_free')])
  writeFileSync(join(out, 'errors.txt'), '')
  writeFileSync(join(root, 'kallsyms'), kallsyms)
  const body = `set -u\nOUT=${out}\nT=${t}\nD=${root}/debug\n${helpers}\nsave() { :; }\n${script.slice(start, end)}\n`
  execFileSync('dash', ['-c', body], {env: {...process.env, PTREPLAY_KALLSYMS: join(root, 'kallsyms')}, stdio: ['ignore', 'ignore', 'pipe']})
  return {out, t}
}

describe('capture-script: dry runs of the shell logic', () => {
  it('a 6.19 script on the 6.12 kernel defines exactly the 6.12 capture\'s probes and logs the missing ones', () => {
    // The real 6.12 capture's kallsyms excerpt: no set_direct_map_valid_noflush, no split helpers.
    const kallsyms = readFileSync('samples/debian-6.12-qemu/max-2G-default/kallsyms.excerpt', 'utf8')
    const script = buildCaptureScript({tool: 'tracefs', kernel: parseKernelVersion('6.19'), typed: false})
    const {out, t} = dryRun(script, '# ---- kprobes', 'save "$T/kprobe_events" kprobe_events', kallsyms)
    expect(readFileSync(join(out, 'kprobe_events.requested'), 'utf8').trimEnd().split('\n')).toEqual(requested('samples/debian-6.12-qemu/max-2G-default'))
    // What the kernel was sent: a stale-probe removal then the definition, one write each.
    expect(readFileSync(join(t, 'kprobe_events'), 'utf8')).toContain('-:set_memory_ro\np:set_memory_ro set_memory_ro addr=%x0 numpages=%x1\n')
    const errors = readFileSync(join(out, 'errors.txt'), 'utf8')
    // The real 6.12 capture logged the same line (samples/debian-6.12-qemu/*/errors.txt).
    expect(errors).toContain(readFileSync('samples/debian-6.12-qemu/max-2G-default/errors.txt', 'utf8').trim())
    expect(errors).toContain('not in kallsyms: split_pmd')
  })

  it('the bpftrace program is assembled with literal \\n escapes (dash echo would break them)', () => {
    const kallsyms = readFileSync('samples/linux-6.19-bbml2-qemu/max-2G-default/kallsyms.excerpt', 'utf8') + 'ffff800080123456 t tracing_mark_write\n'
    const script = buildCaptureScript({tool: 'bpftrace', kernel: parseKernelVersion('6.19'), stacks: true})
    const {out} = dryRun(script, 'B="$OUT/pgprot.bt"', 'BPFTRACE_STRLEN=', kallsyms)
    const prog = readFileSync(join(out, 'pgprot.bt'), 'utf8').trimEnd().split('\n')
    // one line per probe: marker, 18 kprobes/kretprobe of 6.19, module_load/free, BEGIN
    expect(prog).toHaveLength(1 + 18 + 2 + 1)
    expect(prog[1]).toBe(bpftraceProbe(probesFor(parseKernelVersion('6.19')!)[0]!, true))
    expect(prog.every((l) => l.includes('\\n"'))).toBe(true)
  })
})

describe('bundles: the samples are bundles', () => {
  it('finds the primary trace and the kernel of every sample', () => {
    for (const s of SAMPLES) {
      const t = bundleTrace(s)
      if (s.endsWith('ampere1a-2G-tools')) {
        // a trace-cmd recording: its trace.dat is the bundle's trace
        expect(t).toEqual({path: join(s, 'trace.dat'), format: 'trace.dat'})
      } else {
        expect(t?.format, s).toBe('tracefs')
        expect(t!.path).toMatch(/trace\.txt(\.gz)?$/)
      }
      const info = bundleInfo(s)
      expect(info.kernelRelease).toMatch(/^(6\.(1|12|19)|7\.3)\./)
    }
    expect(bundleInfo('samples/debian-6.1-qemu/max-2G-default').pageSize).toBe(4096)
  })
})
