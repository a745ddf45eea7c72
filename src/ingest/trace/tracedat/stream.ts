/**
 * The events of one CPU of one buffer instance, in ring-buffer order (per-CPU time order), read
 * with bounded memory: uncompressed data in runs of pages by positional reads, compressed data one
 * chunk at a time (trace-cmd.dat.v7(5) COMPRESSION FORMAT OF THE TRACE DATA).
 *
 * Lost events (a page with MISSING_EVENTS), corrupt pages and events of an id the file has no
 * format for are reported through `onDiagnostic` and skipped; reading goes on. A chunk table or a
 * chunk that cannot be read or decompressed ends the stream with a TraceDatError after the events
 * read so far.
 */
import type {Diagnostic, RawRecord} from '../../events.js'
import {uncompressBlock} from './compression.js'
import {Cursor} from './file.js'
import type {EventDecoder} from './decode.js'
import type {TraceDatMeta} from './header.js'
import type {BufferInfo, CpuData} from './options.js'
import {readPage} from './ringbuffer.js'

/** Pages per positional read of uncompressed data (256 KiB with 4 KiB pages). */
const PAGES_PER_READ = 64

export interface StreamOptions {
  onDiagnostic: (d: Diagnostic) => void
  /** Called with the file bytes consumed (compressed size for chunks), for progress. */
  onBytes?: (n: number) => void
  /** Timestamp → ns (OFFSET / TSC2NSEC options). */
  toNs: (ts: bigint) => bigint
}

export interface LostInfo {
  cpu: number
  count: number | undefined
}

/** Yields batches of records of one CPU; `lost` collects MISSING_EVENTS pages. */
export async function* cpuRecords(
  meta: TraceDatMeta,
  dec: EventDecoder,
  buf: BufferInfo,
  cpu: CpuData,
  file: string,
  opts: StreamOptions,
  lost: LostInfo[],
): AsyncGenerator<RawRecord[]> {
  const pageSize = buf.pageSize
  const f = meta.file
  if (cpu.size === 0) return
  // a truncated file: read the whole pages that are there, then say so
  const truncated = cpu.offset + cpu.size > f.size
  const truncation = () => f.error(cpu.offset, `expected ${cpu.size} bytes of CPU ${cpu.cpu} data, got ${Math.max(0, f.size - cpu.offset)} (file ends at ${f.size}: truncated)`)
  const unknown = new Set<number>()
  const one = (block: Uint8Array, blockOffset: number, compressed: boolean): RawRecord[] => {
    const out: RawRecord[] = []
    const view = new DataView(block.buffer, block.byteOffset, block.byteLength)
    const payload = {view, buf: block, start: 0, len: 0}
    for (let page = 0; page + pageSize <= block.length; page += pageSize) {
      // file offset of the page (uncompressed), or of its chunk (compressed)
      const base = compressed ? blockOffset : blockOffset + page
      const res = readPage(view, page, pageSize, meta.header, meta.le, (ts, start, len, at) => {
        payload.start = start
        payload.len = len
        const src = {file, line: compressed ? base : base + at}
        const id = dec.eventId(payload)
        const rec = id < 0 ? undefined : dec.decode(payload, id, opts.toNs(ts), cpu.cpu, src)
        if (rec) out.push(rec)
        else if (!unknown.has(id) || unknown.size < 16) {
          unknown.add(id)
          opts.onDiagnostic({
            src,
            code: 'unknown-event',
            message: `${file}:${src.line}: expected an event id with a format in the file, got ${id} (CPU ${cpu.cpu}${compressed ? `, page at ${page} of the chunk` : ''}): event skipped`,
          })
        }
      })
      if (res.lost !== 0) lost.push({cpu: cpu.cpu, count: res.lost < 0 ? undefined : res.lost})
      if (res.corrupt) {
        const at = compressed ? base : base + res.corrupt.at
        opts.onDiagnostic({
          src: {file, line: at},
          code: 'corrupt-page',
          message: `${file}:${at}: ${res.corrupt.message} (CPU ${cpu.cpu}${compressed ? `, byte ${page + res.corrupt.at} of the chunk` : ''}): rest of the page skipped`,
        })
      }
    }
    return out
  }
  if (!buf.compressed) {
    const end = truncated ? cpu.offset + Math.max(0, Math.floor((f.size - cpu.offset) / pageSize) * pageSize) : cpu.offset + cpu.size
    for (let off = cpu.offset; off < end; ) {
      const n = Math.min(end - off, pageSize * PAGES_PER_READ)
      const block = await f.read(off, n, `CPU ${cpu.cpu} ring-buffer pages`)
      opts.onBytes?.(n)
      const out = one(block, off, false)
      off += n
      if (out.length) yield out
    }
    if (truncated) throw truncation()
    return
  }
  if (truncated && cpu.offset + 4 > f.size) throw truncation()
  // compressed: <4 count> then chunks <4 zsize><4 size><data>
  let off = cpu.offset
  const end = cpu.offset + cpu.size
  const count = new Cursor(await f.read(off, 4, `CPU ${cpu.cpu} chunk count`), meta.le, file, off).u32('chunk count')
  off += 4
  opts.onBytes?.(4)
  for (let i = 0; i < count; i++) {
    if (truncated && off + 8 > f.size) throw truncation()
    if (off + 8 > end) throw f.error(off, `expected chunk ${i + 1} of ${count} of CPU ${cpu.cpu}, got the end of its data (${end})`)
    const h = new Cursor(await f.read(off, 8, `CPU ${cpu.cpu} chunk header`), meta.le, file, off)
    const zsize = h.u32('compressed chunk size')
    const size = h.u32('uncompressed chunk size')
    if (off + 8 + zsize > end) throw f.error(off, `expected a compressed chunk of up to ${end - off - 8} bytes (CPU ${cpu.cpu} data ends at ${end}), got ${zsize}`)
    if (truncated && off + 8 + zsize > f.size) throw truncation()
    if (size % pageSize !== 0) throw f.error(off + 4, `expected an uncompressed chunk size that is a multiple of the page size ${pageSize}, got ${size}`)
    const z = await f.read(off + 8, zsize, `CPU ${cpu.cpu} chunk`)
    let block: Uint8Array
    try {
      block = uncompressBlock(meta.codec, z, size)
    } catch (e) {
      throw f.error(off + 8, `CPU ${cpu.cpu} chunk ${i + 1}: ${(e as Error).message}`)
    }
    opts.onBytes?.(8 + zsize)
    const out = one(block, off, true)
    off += 8 + zsize
    if (out.length) yield out
  }
}
