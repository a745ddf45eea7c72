/**
 * trace.dat options (trace-cmd lib/trace-cmd/include/private/trace-cmd-private.h, enum
 * TRACECMD_OPTION_*; trace-cmd.dat.v7(5) OPTIONS SECTION; v6: the `options  ` block). Each option
 * is `<2 id><4 size><data>`; v7 ends a section with DONE (8 bytes: offset of the next options
 * section, 0 = last), v6 ends the list with id 0 and no size. The reader uses the ones that change
 * what events mean (BUFFER, OFFSET, TSC2NSEC, the v7 section offsets); the others are skipped.
 */
import type {Cursor} from './file.js'

export const OPT = {
  DONE: 0,
  DATE: 1,
  CPUSTAT: 2,
  BUFFER: 3,
  TRACECLOCK: 4,
  UNAME: 5,
  HOOK: 6,
  OFFSET: 7,
  CPUCOUNT: 8,
  VERSION: 9,
  PROCMAPS: 10,
  TRACEID: 11,
  TIME_SHIFT: 12,
  GUEST: 13,
  TSC2NSEC: 14,
  STRINGS: 15,
  HEADER_INFO: 16,
  FTRACE_EVENTS: 17,
  EVENT_FORMATS: 18,
  KALLSYMS: 19,
  PRINTK: 20,
  CMDLINES: 21,
  BUFFER_TEXT: 22,
  BTF_FILE: 23,
  LAST_BOOT_INFO: 24,
  MODULES_FILE: 25,
} as const

/** Highest option id trace-cmd 3.4 defines; above it an option is unknown (skipped, reported). */
export const OPT_MAX_KNOWN = OPT.MODULES_FILE

export interface CpuData {
  cpu: number
  /** File offset of the CPU's data (v7 compressed: of its chunk count). */
  offset: number
  /** Bytes in the file (compressed size when compressed). */
  size: number
}

export interface BufferInfo {
  /** '' for the top instance. */
  name: string
  clock: string
  /** Sub-buffer size (v7 BUFFER option; v6: the file's page size). */
  pageSize: number
  /** v7: file offset of the BUFFER FLYRECORD section; v6 instances: of their `flyrecord` block. */
  offset: number
  cpus: CpuData[]
  /** v7: the flyrecord section is compressed (chunks). */
  compressed: boolean
  /** BUFFER_TEXT (latency text): not read. */
  latency: boolean
}

export interface Options {
  /** v7 section offsets by option id (HEADER_INFO … CMDLINES). */
  sections: Map<number, number>
  buffers: BufferInfo[]
  /** OFFSET option: added to every timestamp (trace-input.c handle_options). */
  tsOffset: bigint
  /** TSC2NSEC: ns = (ts × mult) >> shift (trace-input.c timestamp_calc). */
  tsc2nsec?: {mult: bigint; shift: bigint}
  cpuCount?: number
  traceClock?: string
  /** Unknown option ids seen (skipped), with their offsets. */
  unknown: {id: number; at: number}[]
  /** v7: offset of the next options section (DONE), 0 when none. */
  next: number
}

export function newOptions(): Options {
  return {sections: new Map(), buffers: [], tsOffset: 0n, unknown: [], next: 0}
}

/** Parse the options in `c` into `o` (v7 when `sections`, else v6). Stops at DONE / id 0. */
export function parseOptions(c: Cursor, o: Options, v7: boolean, pageSize: number): void {
  o.next = 0
  for (;;) {
    const at = c.pos
    const id = c.u16('option id')
    if (!v7 && id === OPT.DONE) return
    const size = c.u32(`size of option ${id}`)
    c.need(size, `option ${id} data`)
    const data = c.pos
    const end = data + size
    switch (id) {
      case OPT.DONE:
        if (size < 8) throw c.error(`expected 8 bytes of DONE option (next options offset), got ${size}`, at)
        o.next = c.u64('next options section offset')
        c.pos = end
        return
      case OPT.BUFFER:
      case OPT.BUFFER_TEXT:
        o.buffers.push(parseBuffer(c, id, end, v7, pageSize))
        break
      case OPT.OFFSET: {
        const s = c.text(size, 'OFFSET option').replace(/\0.*$/s, '').trim()
        try {
          o.tsOffset += BigInt(s)
        } catch {
          throw c.error(`expected an integer time offset in the OFFSET option, got '${s.slice(0, 40)}'`, data)
        }
        break
      }
      case OPT.TSC2NSEC:
        if (size >= 16) {
          const mult = c.u32('TSC2NSEC multiplier')
          const shift = c.u32('TSC2NSEC shift')
          if (mult !== 0) o.tsc2nsec = {mult: BigInt(mult), shift: BigInt(shift)}
        }
        break
      case OPT.CPUCOUNT:
        if (size >= 4) o.cpuCount = c.u32('CPU count')
        break
      case OPT.TRACECLOCK:
        o.traceClock = c.text(size, 'trace clock').replace(/\0.*$/s, '').trim()
        break
      case OPT.HEADER_INFO:
      case OPT.FTRACE_EVENTS:
      case OPT.EVENT_FORMATS:
      case OPT.KALLSYMS:
      case OPT.PRINTK:
      case OPT.CMDLINES:
      case OPT.BTF_FILE:
      case OPT.MODULES_FILE:
        if (v7 && size >= 8) o.sections.set(id, c.u64(`offset of section ${id}`))
        break
      default:
        if (id > OPT_MAX_KNOWN) o.unknown.push({id, at: c.where(at)})
    }
    c.pos = end
  }
}

function parseBuffer(c: Cursor, id: number, end: number, v7: boolean, pageSize: number): BufferInfo {
  const offset = c.u64('buffer section offset')
  const name = c.cstring('buffer instance name')
  const b: BufferInfo = {name, clock: '', pageSize, offset, cpus: [], compressed: false, latency: id === OPT.BUFFER_TEXT}
  if (!v7) return b
  b.clock = c.cstring('buffer trace clock')
  if (id === OPT.BUFFER_TEXT) return b
  b.pageSize = c.u32('buffer page size')
  if (b.pageSize < 64 || b.pageSize > 1 << 24) throw c.error(`expected a sub-buffer size between 64 and 16 MiB, got ${b.pageSize}`, c.pos - 4)
  const n = c.u32('buffer CPU count')
  if (n * 20 > end - c.pos) throw c.error(`expected ${n} CPU entries (${n * 20} bytes) in the BUFFER option, got ${end - c.pos} bytes`)
  for (let i = 0; i < n; i++) {
    const cpu = c.u32('CPU id')
    const off = c.u64('CPU data offset')
    const size = c.u64('CPU data size')
    b.cpus.push({cpu, offset: off, size})
  }
  return b
}
