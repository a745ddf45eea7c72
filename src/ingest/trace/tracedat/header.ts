/**
 * The metadata of a trace.dat, versions 6 and 7 (trace-cmd Documentation/trace-cmd/
 * trace-cmd.dat.v6.5.txt and .v7.5.txt; trace-cmd lib/trace-cmd/trace-input.c read_headers_v6(),
 * read_headers_v7(), handle_section(), read_section_header()).
 *
 * v6: the initial format, then in sequence header_page/header_event, ftrace formats, event
 * formats, kallsyms, printk formats, saved cmdlines, the CPU count, `options  ` (optional) and
 * `flyrecord` with one (offset, size) per CPU.
 * v7: the initial format with the compression algorithm and the offset of the first OPTIONS
 * section; sections start with `<2 id><2 flags><4 description string id><8 size>` (flag 1 =
 * compressed: `<4 compressed size><4 uncompressed size><data>`); options sections chain through
 * DONE; HEADER_INFO … CMDLINES options give the other sections' offsets, one BUFFER option per
 * instance gives its CPUs' data.
 */
import {type Codec, codecOf, uncompressBlock} from './compression.js'
import {Cursor, DatFile, hasTraceDatMagic} from './file.js'
import {type EventFormat, type PageHeader, parseEventFormat, parseHeaderPage} from './format.js'
import type {KallsymsSource} from './kallsyms.js'
import {type BufferInfo, newOptions, OPT, type Options, parseOptions} from './options.js'

export interface TraceDatMeta {
  file: DatFile
  version: number
  le: boolean
  /** User-space long size from the initial format. */
  longSize: number
  pageSize: number
  codec: Codec
  header: PageHeader
  /** Event formats by ID (ftrace and every system). */
  events: Map<number, EventFormat>
  cmdlines: Map<number, string>
  /** The /proc/kallsyms text (compressed as stored in v7), for %ps; undefined when the file has none. */
  kallsyms?: KallsymsSource
  buffers: BufferInfo[]
  options: Options
  /** Problems that did not stop the reading (unknown options, unparsable formats), with offsets. */
  warnings: {offset: number; code: string; message: string}[]
}

const MAX_V6_OPTIONS = 1 << 20

export async function readTraceDatMeta(path: string): Promise<TraceDatMeta> {
  const file = new DatFile(path)
  try {
    return await readMeta(file)
  } catch (e) {
    file.close()
    throw e
  }
}

async function readMeta(file: DatFile): Promise<TraceDatMeta> {
  const head = file.readSync(0, Math.min(file.size, 64), 'the trace.dat initial format')
  if (!hasTraceDatMagic(head)) {
    throw file.error(0, `expected the trace.dat magic 17 08 44 "tracing", got ${[...head.subarray(0, 10)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}`)
  }
  const hc = new Cursor(head, true, file.name, 0)
  hc.pos = 10
  const vs = hc.cstring('file version')
  const version = Number(vs)
  if (version !== 6 && version !== 7) throw file.error(10, `expected file version 6 or 7, got '${vs.slice(0, 20)}'`)
  const endian = hc.bytes(1, 'endianness')[0]!
  if (endian > 1) throw file.error(hc.pos - 1, `expected endianness 0 (little) or 1 (big), got ${endian}`)
  const le = endian === 0
  const longSize = hc.bytes(1, 'long size')[0]!
  if (longSize !== 4 && longSize !== 8) throw file.error(hc.pos - 1, `expected a long size of 4 or 8, got ${longSize}`)
  const c = new Cursor(head, le, file.name, 0)
  c.pos = hc.pos
  const pageSize = c.u32('page size')
  if (pageSize < 64 || pageSize > 1 << 24 || (pageSize & (pageSize - 1)) !== 0) throw file.error(c.pos - 4, `expected a power-of-two page size, got ${pageSize}`)
  const meta: TraceDatMeta = {
    file,
    version,
    le,
    longSize,
    pageSize,
    codec: 'none',
    header: parseHeaderPage('', 8),
    events: new Map(),
    cmdlines: new Map(),
    buffers: [],
    options: newOptions(),
    warnings: [],
  }
  if (version === 7) await readV7(meta, c)
  else await readV6(meta, c.pos)
  for (const u of meta.options.unknown) {
    meta.warnings.push({offset: u.at, code: 'unknown-option', message: `${file.name}:${u.at}: expected a known option id (0–25), got ${u.id}: skipped`})
  }
  return meta
}

// ---- v7 ----

async function readV7(meta: TraceDatMeta, c: Cursor): Promise<void> {
  const file = meta.file
  const at = c.pos
  const name = c.cstring('compression algorithm name')
  c.cstring('compression algorithm version')
  const codec = codecOf(name)
  if (codec === undefined) throw file.error(at, `expected compression 'none', 'zstd' or 'zlib', got '${name.slice(0, 20)}'`)
  meta.codec = codec
  let next = c.u64('first options section offset')
  const seen = new Set<number>()
  while (next !== 0) {
    if (seen.has(next)) throw file.error(next, `expected options sections in a chain, got a loop back to ${next}`)
    if (seen.size > 4096) throw file.error(next, 'expected at most 4096 options sections, got more')
    seen.add(next)
    const sc = await readSection(meta, next, OPT.DONE, 'options section')
    parseOptions(sc, meta.options, true, meta.pageSize)
    next = meta.options.next
  }
  const o = meta.options
  const sec = (id: number) => o.sections.get(id)
  const hi = sec(OPT.HEADER_INFO)
  if (hi === undefined) throw file.error(0, 'expected a HEADER_INFO option (the page and event header formats), got none')
  readHeaderInfo(meta, await readSection(meta, hi, OPT.HEADER_INFO, 'header info section'))
  const fe = sec(OPT.FTRACE_EVENTS)
  if (fe !== undefined) readFtraceEvents(meta, await readSection(meta, fe, OPT.FTRACE_EVENTS, 'ftrace events section'))
  const ef = sec(OPT.EVENT_FORMATS)
  if (ef !== undefined) readEventFormats(meta, await readSection(meta, ef, OPT.EVENT_FORMATS, 'event formats section'))
  const ks = sec(OPT.KALLSYMS)
  if (ks !== undefined) meta.kallsyms = await readKallsymsSection(meta, ks)
  const cl = sec(OPT.CMDLINES)
  if (cl !== undefined) readCmdlines(meta, await readSection(meta, cl, OPT.CMDLINES, 'cmdlines section'))
  for (const b of o.buffers) {
    if (b.latency) continue
    // the BUFFER FLYRECORD section header says whether its data is compressed
    const h = await file.read(b.offset, 16, `buffer '${b.name}' section header`)
    const hc = new Cursor(h, meta.le, file.name, b.offset)
    const id = hc.u16('section id')
    const flags = hc.u16('section flags')
    if (id !== OPT.BUFFER) throw file.error(b.offset, `expected a BUFFER section (id ${OPT.BUFFER}) for buffer '${b.name}', got section id ${id}`)
    b.compressed = (flags & 1) !== 0
    if (b.compressed && meta.codec === 'none') throw file.error(b.offset, `expected an uncompressed buffer section in a file with compression 'none', got flags ${flags}`)
  }
  meta.buffers = o.buffers.filter((b) => !b.latency)
}

/** A v7 section's data (decompressed when flagged), as a cursor. */
async function readSection(meta: TraceDatMeta, offset: number, id: number, what: string): Promise<Cursor> {
  const file = meta.file
  const h = await file.read(offset, 16, `${what} header`)
  const hc = new Cursor(h, meta.le, file.name, offset)
  const sid = hc.u16('section id')
  const flags = hc.u16('section flags')
  hc.u32('section description')
  const size = hc.u64('section size')
  if (sid !== id) throw file.error(offset, `expected ${what} (section id ${id}), got section id ${sid}`)
  if ((flags & 1) === 0) {
    const data = await file.read(offset + 16, size, what)
    return new Cursor(data, meta.le, file.name, offset + 16)
  }
  if (meta.codec === 'none') throw file.error(offset, `expected an uncompressed ${what} in a file with compression 'none', got flags ${flags}`)
  const ch = new Cursor(await file.read(offset + 16, 8, `${what} compression header`), meta.le, file.name, offset + 16)
  const csize = ch.u32('compressed size')
  const usize = ch.u32('uncompressed size')
  if (csize + 8 > size) throw file.error(offset + 16, `expected a compressed size up to ${size - 8} (the section size), got ${csize}`)
  const data = await file.read(offset + 24, csize, what)
  let out: Uint8Array
  try {
    out = uncompressBlock(meta.codec, data, usize)
  } catch (e) {
    throw file.error(offset + 24, `${what}: ${(e as Error).message}`)
  }
  return new Cursor(out, meta.le, file.name, offset, what)
}

// ---- section contents (the same in v6 and v7) ----

function readHeaderInfo(meta: TraceDatMeta, c: Cursor): void {
  const tag = c.cstring('header_page tag')
  if (tag !== 'header_page') throw c.error(`expected 'header_page', got '${tag.slice(0, 20)}'`)
  const ps = c.u64('header_page size')
  const page = c.text(ps, 'header_page')
  const tag2 = c.cstring('header_event tag')
  if (tag2 !== 'header_event') throw c.error(`expected 'header_event', got '${tag2.slice(0, 20)}'`)
  const es = c.u64('header_event size')
  c.text(es, 'header_event')
  meta.header = parseHeaderPage(page, meta.longSize)
  const h = meta.header
  if (h.commitSize !== 4 && h.commitSize !== 8) throw c.error(`expected a commit field of 4 or 8 bytes in header_page, got ${h.commitSize}`)
}

function addFormat(meta: TraceDatMeta, c: Cursor, text: string, system: string): void {
  const f = parseEventFormat(text, system)
  if (typeof f === 'string') {
    meta.warnings.push({offset: c.where(), code: 'bad-format', message: `${meta.file.name}:${c.where()}: ${system} event format: ${f}: event skipped`})
    return
  }
  meta.events.set(f.id, f)
}

function readFtraceEvents(meta: TraceDatMeta, c: Cursor): void {
  const n = c.u32('ftrace event count')
  for (let i = 0; i < n; i++) {
    const size = c.u64('ftrace event format size')
    addFormat(meta, c, c.text(size, 'ftrace event format'), 'ftrace')
  }
}

function readEventFormats(meta: TraceDatMeta, c: Cursor): void {
  const systems = c.u32('event system count')
  for (let s = 0; s < systems; s++) {
    const sys = c.cstring('event system name')
    const n = c.u32(`event count of system ${sys}`)
    for (let i = 0; i < n; i++) {
      const size = c.u64('event format size')
      addFormat(meta, c, c.text(size, `${sys} event format`), sys)
    }
  }
}

/**
 * The kallsyms section, kept as stored: decompressing ~10 MB with fzstd costs seconds and only a
 * `%ps` lookup needs it (kallsyms.ts streams it then). Uncompressed: `<4 size><text>`; compressed:
 * the compression header, then data whose uncompressed form is `<4 size><text>`.
 */
async function readKallsymsSection(meta: TraceDatMeta, offset: number): Promise<KallsymsSource> {
  const file = meta.file
  const hc = new Cursor(await file.read(offset, 16, 'kallsyms section header'), meta.le, file.name, offset)
  const sid = hc.u16('section id')
  const flags = hc.u16('section flags')
  hc.u32('section description')
  const size = hc.u64('section size')
  if (sid !== OPT.KALLSYMS) throw file.error(offset, `expected the kallsyms section (section id ${OPT.KALLSYMS}), got section id ${sid}`)
  if ((flags & 1) === 0 || meta.codec === 'none') {
    const c = new Cursor(await file.read(offset + 16, size, 'kallsyms section'), meta.le, file.name, offset + 16)
    const n = c.u32('kallsyms size')
    return {codec: 'none', data: c.bytes(n, 'kallsyms')}
  }
  const ch = new Cursor(await file.read(offset + 16, 8, 'kallsyms compression header'), meta.le, file.name, offset + 16)
  const csize = ch.u32('compressed size')
  if (csize + 8 > size) throw file.error(offset + 16, `expected a compressed size up to ${size - 8} (the section size), got ${csize}`)
  return {codec: meta.codec, data: await file.read(offset + 24, csize, 'kallsyms section')}
}

function readCmdlines(meta: TraceDatMeta, c: Cursor): void {
  const size = c.u64('cmdlines size')
  parseCmdlines(meta, c.text(size, 'saved cmdlines'))
}

/** saved_cmdlines: `pid comm` per line. */
function parseCmdlines(meta: TraceDatMeta, text: string): void {
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ')
    if (sp <= 0) continue
    const pid = Number(line.slice(0, sp))
    if (Number.isInteger(pid)) meta.cmdlines.set(pid, line.slice(sp + 1))
  }
}

// ---- v6 ----

/** Reads the v6 header sequentially by offset; each piece is read when its size is known. */
async function readV6(meta: TraceDatMeta, start: number): Promise<void> {
  const file = meta.file
  let off = start
  const num = async (n: 4 | 8, what: string): Promise<number> => {
    const c = new Cursor(await file.read(off, n, what), meta.le, file.name, off)
    off += n
    return n === 4 ? c.u32(what) : c.u64(what)
  }
  const block = async (n: number, what: string): Promise<Cursor> => {
    const c = new Cursor(await file.read(off, n, what), meta.le, file.name, off)
    off += n
    return c
  }
  const cstr = async (what: string): Promise<string> => {
    const b = await file.read(off, Math.min(256, file.size - off), what)
    const nul = b.indexOf(0)
    if (nul < 0) throw file.error(off, `expected a NUL-terminated ${what}, got none within 256 bytes`)
    off += nul + 1
    return b.subarray(0, nul).toString('latin1')
  }
  // header_page / header_event: tags and 8-byte sizes
  const hs = off
  if ((await cstr('header_page tag')) !== 'header_page') throw file.error(hs, "expected 'header_page'")
  const ps = await num(8, 'header_page size')
  const page = (await block(ps, 'header_page')).text(ps, 'header_page')
  const es0 = off
  if ((await cstr('header_event tag')) !== 'header_event') throw file.error(es0, "expected 'header_event'")
  const es = await num(8, 'header_event size')
  off += es
  meta.header = parseHeaderPage(page, meta.longSize)
  if (meta.header.commitSize !== 4 && meta.header.commitSize !== 8) throw file.error(hs, `expected a commit field of 4 or 8 bytes in header_page, got ${meta.header.commitSize}`)
  // ftrace formats
  const nf = await num(4, 'ftrace event count')
  for (let i = 0; i < nf; i++) {
    const size = await num(8, 'ftrace event format size')
    const c = await block(size, 'ftrace event format')
    addFormat(meta, c, c.text(size, 'ftrace event format'), 'ftrace')
  }
  const systems = await num(4, 'event system count')
  for (let s = 0; s < systems; s++) {
    const sys = await cstr('event system name')
    const n = await num(4, `event count of system ${sys}`)
    for (let i = 0; i < n; i++) {
      const size = await num(8, 'event format size')
      const c = await block(size, `${sys} event format`)
      addFormat(meta, c, c.text(size, `${sys} event format`), sys)
    }
  }
  const ks = await num(4, 'kallsyms size')
  meta.kallsyms = {codec: 'none', data: (await block(ks, 'kallsyms')).bytes(ks, 'kallsyms')}
  const pk = await num(4, 'printk formats size')
  off += pk
  const cs = await num(8, 'cmdlines size')
  parseCmdlines(meta, (await block(cs, 'saved cmdlines')).text(cs, 'saved cmdlines'))
  const cpus = await num(4, 'CPU count')
  if (cpus > 65536) throw file.error(off - 4, `expected a CPU count up to 65536, got ${cpus}`)
  let tagAt = off
  let tag = (await block(10, 'options/flyrecord tag')).text(10, 'tag')
  if (tag.startsWith('options')) {
    const n = Math.min(MAX_V6_OPTIONS, file.size - off)
    const oc = new Cursor(await file.read(off, n, 'options'), meta.le, file.name, off)
    parseOptions(oc, meta.options, false, meta.pageSize)
    off += oc.pos
    tagAt = off
    tag = (await block(10, 'flyrecord tag')).text(10, 'tag')
  }
  if (tag.startsWith('latency')) throw file.error(tagAt, "expected 'flyrecord' trace data, got a latency trace (text): read it with trace-cmd report")
  if (!tag.startsWith('flyrecord')) throw file.error(tagAt, `expected 'flyrecord' or 'options', got '${tag.replace(/\0/g, '')}'`)
  const top: BufferInfo = {name: '', clock: meta.options.traceClock ?? '', pageSize: meta.pageSize, offset: tagAt, cpus: [], compressed: false, latency: false}
  top.cpus = await readCpuTable(meta, off, cpus)
  meta.buffers = [top]
  // v6 instances: BUFFER options point at their own `flyrecord` tag and CPU table
  for (const b of meta.options.buffers) {
    if (b.latency) continue
    const t = (await file.read(b.offset, 10, `buffer '${b.name}' flyrecord tag`)).toString('latin1')
    if (!t.startsWith('flyrecord')) throw file.error(b.offset, `expected 'flyrecord' for buffer '${b.name}', got '${t.replace(/\0/g, '')}'`)
    b.cpus = await readCpuTable(meta, b.offset + 10, cpus)
    b.clock = top.clock
    meta.buffers.push(b)
  }
}

async function readCpuTable(meta: TraceDatMeta, off: number, cpus: number): Promise<BufferInfo['cpus']> {
  const c = new Cursor(await meta.file.read(off, cpus * 16, 'flyrecord CPU table'), meta.le, meta.file.name, off)
  const out: BufferInfo['cpus'] = []
  for (let i = 0; i < cpus; i++) {
    const offset = c.u64('CPU data offset')
    const size = c.u64('CPU data size')
    out.push({cpu: i, offset, size})
  }
  return out
}
