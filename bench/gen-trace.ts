/**
 * Generate a large tracefs kprobe trace shaped like the real 6.19 BBML2 capture
 * (samples/linux-6.19-bbml2-qemu/max-2G-default/trace.txt.gz): the same header, probe names,
 * argument layout and call pattern (set_memory_* → change_memory_common → __change_memory_common
 * → update_range_prot → split_kernel_leaf_mapping[_locked] → return), per-page
 * set_direct_map_* bursts from vfree, phase markers, two CPUs, and a `<stack trace>` on the
 * first set_memory_ro of each module, with addresses advancing page by page so values differ.
 */
import {createWriteStream} from 'node:fs'
import {pathToFileURL} from 'node:url'

const HEADER = `# tracer: nop
#
# entries-in-buffer/entries-written: 0/0   #P:2
#
#                                _-----=> irqs-off/BH-disabled
#                               / _----=> need-resched
#                              | / _---=> hardirq/softirq
#                              || / _--=> preempt-depth
#                              ||| / _-=> migrate-disable
#                              |||| /     delay
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
`

const STACK = [
  ' => set_memory_ro',
  ' => module_enable_rodata_ro',
  ' => load_module',
  ' => init_module_from_file',
  ' => __arm64_sys_finit_module',
  ' => do_el0_svc',
  ' => el0_svc',
  ' => el0t_64_sync_handler',
  ' => el0t_64_sync',
].join('\n')

const hex = (n: bigint) => '0x' + n.toString(16)

export interface GeneratedTrace {
  bytes: number
  lines: number
  events: number
}

/** Write at least `targetBytes` of trace to `path`. */
export async function generateTrace(path: string, targetBytes: number): Promise<GeneratedTrace> {
  const out = createWriteStream(path, {highWaterMark: 1 << 22})
  let bytes = 0
  let lines = 0
  let events = 0
  let usec = 2_811_844n // 2.811844 s, the real capture's first event
  let vmalloc = 0xffff8000787b8000n
  let linear = 0xffff000008df8000n
  let page = 0xfffffc0000289640n
  let i = 0
  const ts = () => {
    usec += 3n + BigInt(i % 7)
    const s = usec / 1_000_000n
    const f = (usec % 1_000_000n).toString().padStart(6, '0')
    return `${s.toString().padStart(5)}.${f}`
  }
  const ctx = (comm: string, pid: number, cpu: number, flags = 'd....') => `${comm.padStart(16)}-${String(pid).padEnd(7)} [${String(cpu).padStart(3, '0')}] ${flags} ${ts()}: `
  const write = (chunk: string): Promise<void> | undefined => {
    bytes += Buffer.byteLength(chunk)
    if (!out.write(chunk)) return new Promise((r) => out.once('drain', () => r()))
    return undefined
  }
  await write(HEADER)
  lines += 12
  while (bytes < targetBytes) {
    const parts: string[] = []
    // One "module": a marker, then 32 set_memory_ro calls with their nested per-page calls.
    const cpu = i & 1
    parts.push(ctx('init', 1, cpu, '.....') + `tracing_mark_write: capture: insmod module${i}`)
    events++
    for (let k = 0; k < 32; k++, i++) {
      const c = ctx('insmod', 88 + (i % 50), cpu)
      const a = hex(vmalloc)
      const l = hex(linear)
      parts.push(`${c}set_memory_ro: (set_memory_ro+0x0/0x1c) addr=${a} numpages=0x1`)
      if (k === 0) parts.push(ctx('insmod', 88 + (i % 50), cpu) + '<stack trace>\n' + STACK)
      parts.push(`${ctx('insmod', 88 + (i % 50), cpu)}change_memory_common: (change_memory_common+0x0/0x134) addr=${a} numpages=0x1 set_mask=0x80 clear_mask=0x8000000000000`)
      for (const s of [l, a]) {
        const end = hex(BigInt(s) + 0x1000n)
        parts.push(`${ctx('insmod', 88 + (i % 50), cpu)}__change_memory_common: (__change_memory_common+0x0/0x9c) start=${s} size=0x1000 set_mask=0x80 clear_mask=0x8000000000000`)
        parts.push(`${ctx('insmod', 88 + (i % 50), cpu)}update_range_prot: (update_range_prot+0x0/0xd8) start=${s} size=0x1000 set_mask=0x80 clear_mask=0x8000000000000`)
        parts.push(`${ctx('insmod', 88 + (i % 50), cpu)}split_kernel_leaf_mapping: (split_kernel_leaf_mapping+0x0/0xd8) start=${s} end=${end}`)
        parts.push(`${ctx('insmod', 88 + (i % 50), cpu)}split_kernel_leaf_mapping_locked: (split_kernel_leaf_mapping_locked+0x0/0x180) addr=${end}`)
        parts.push(`${ctx('insmod', 88 + (i % 50), cpu)}split_kernel_leaf_mapping_ret: (update_range_prot+0x20/0xd8 <- split_kernel_leaf_mapping) ret=0x0`)
      }
      events += 12
      vmalloc += 0x1000n
      linear += 0x1000n
    }
    // vfree of a VM_FLUSH_RESET_PERMS area: invalid then default per page (vm_reset_perms).
    for (const op of ['invalid', 'default']) {
      for (let k = 0; k < 8; k++) {
        parts.push(`${ctx('kworker/1:1', 41, 1 - cpu)}set_direct_map_${op}_noflush: (set_direct_map_${op}_noflush+0x0/0x50) page=${hex(page + BigInt(k * 64))}`)
        events++
      }
    }
    page += 0x200n
    const text = parts.join('\n') + '\n'
    lines += text.split('\n').length - 1
    const p = write(text)
    if (p) await p
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())))
  return {bytes, lines, events}
}

// Run alone (the benchmark generates in a child process so the generator's memory does not
// count in the reader's peak RSS): node dist/bench/gen-trace.js PATH BYTES
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await generateTrace(process.argv[2]!, Number(process.argv[3]))
  process.stdout.write(JSON.stringify(r) + '\n')
}
