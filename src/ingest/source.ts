/**
 * Input sources: a path, or `-` for stdin; gzip detected by magic bytes (not by name), read as
 * a stream and cut into lines with bounded memory. Every reader goes through here.
 *
 * Lines are delivered in batches (one array per chunk) so a reader pays one `await` per chunk,
 * not per line; each batch carries the number of its first line for `file:line` diagnostics.
 */
import {isAscii} from 'node:buffer'
import {closeSync, createReadStream, openSync, read, readSync, statSync} from 'node:fs'
import {Readable, Transform} from 'node:stream'

import {COMPRESSION_FORMATS, type Decoder} from './decompress.js'
import {CompressedDataError} from './decompress-error.js'

export interface LineBatch {
  lines: string[]
  /** 1-based number of lines[0]. */
  firstLine: number
  /** Compressed/raw bytes consumed from the source so far (for progress). */
  bytesRead: number
  /** Decoded bytes up to the end of these lines (for progress: finer than bytesRead of a compressed file). */
  decodedRead?: number
  /** Set on the final batch when the input's last line had no newline (a capture cut short?). */
  unterminated?: boolean
  /**
   * The decoded text the lines were cut from, when each line is exactly its part of it: lines[i]
   * starts where lines[i - 1] ends plus one (the newline). Absent when carriage returns were
   * stripped. For fast paths that scan one flat string instead of many sliced ones.
   */
  text?: string
  /**
   * Lines longer than MAX_LINE_BYTES in this batch: each is delivered as an empty line (so line
   * numbers hold) and listed here with its length, for a `line-too-long` diagnostic.
   */
  overlong?: {line: number; bytes: number}[]
}

/**
 * Decoded bytes cut at line ends (splitByteLines): `buf[start, end)` is one or more whole lines
 * joined by `\n`, without the newline of the last one (so `end` is at a newline, or at the end of
 * the input for the last batch of an input whose last line has no newline). Lines may end in a
 * carriage return (CRLF), left in place. `buf` is valid until the consumer asks for the batch
 * after the next one (the file reader reuses its buffers).
 */
export interface ByteBatch {
  buf: Buffer
  start: number
  end: number
  /** Compressed/raw bytes consumed from the source so far (for progress). */
  bytesRead: number
  /** Decoded bytes up to the end of these lines (for progress). */
  decodedRead?: number
  /** Set on the final batch when the input's last line had no newline (a capture cut short?). */
  unterminated?: boolean
  /**
   * A line longer than MAX_LINE_BYTES comes first: its bytes are dropped, it counts as one line
   * (an empty one, for a `line-too-long` diagnostic) of this many bytes before the range.
   */
  overlong?: number
  /** With `overlong`: the batch is that line alone (the range holds no line). */
  noLines?: boolean
}

/**
 * The longest line a reader is given (like tracefs's `[LINE TOO BIG]`): a longer one is skipped
 * and reported. No ptdump or trace line comes near it; without it a file with no newline would be
 * held whole (1 GB of /dev/zero).
 */
export const MAX_LINE_BYTES = 1 << 20

export interface OpenedSource {
  /** Name for messages: the path, or `<stdin>`. */
  name: string
  /** Raw size in bytes when known (a regular file), for progress. */
  size?: number
  batches: AsyncIterable<LineBatch>
}

/** Whole lines as bytes (openByteSource()). */
export interface LineChunk {
  /**
   * Lines separated by newlines, the last ending at buf.length (its newline not included); a
   * line keeps a trailing carriage return (the reader drops it, as splitLines() does). Valid until
   * the next chunk is asked for.
   */
  buf: Buffer
  /** Compressed/raw bytes consumed from the source so far (for progress). */
  bytesRead: number
  /** Set when the first line was longer than MAX_LINE_BYTES: its length; its bytes are dropped (buf's first line is empty). */
  overlongFirst?: number
  /** Set on the final chunk when the input's last line had no newline (a capture cut short?). */
  unterminated?: boolean
}

export interface OpenedByteSource {
  /** Name for messages: the path, or `<stdin>`. */
  name: string
  /** Raw size in bytes when known (a regular file), for progress. */
  size?: number
  /** The chunks; `at()` gives the number of the line the consumer reads next (for the source's own messages). */
  chunks: (at: () => number) => AsyncIterable<LineChunk>
  /** The same bytes as the line-aligned ranges they are cut from (ByteBatch: with decoded-bytes progress); `at()` as for chunks. */
  ranges: (at: () => number) => AsyncIterable<ByteBatch>
}

export class InputError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
  ) {
    super(message)
  }
}

/**
 * Bytes per read (and per gunzip output chunk). Below Node's EXTERN_APEX (0xFBEE9): a longer
 * decoded chunk becomes an external string, and scanning an external string with charCodeAt /
 * startsWith is slower than on an ordinary heap string. gunzip's default 16 KiB chunks cost a
 * batch each.
 */
export const CHUNK_BYTES = 512 * 1024

/**
 * Bytes decoded into one string (one batch). A decoded string of 128 KiB or more is allocated in
 * V8's large-object space, which costs several times more per byte to decode into than an
 * ordinary young-generation string: a 512 KiB read is decoded in four or five pieces. This also
 * saves copying the whole chunk to join the previous chunk's unfinished line (only the first
 * piece is joined).
 */
const PIECE_BYTES = 120 * 1024

/** Compression formats recognised by their first bytes (decompress.ts). Readers never see compressed data. */
const MAGIC: {name: string; bytes: readonly number[]; decoder: Decoder}[] = [...COMPRESSION_FORMATS]

async function peek(stream: Readable, n: number): Promise<{head: Buffer; stream: Readable}> {
  // Pull chunks through one iterator and keep using it afterwards: breaking out of a
  // for-await loop would destroy the stream.
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  const chunks: Buffer[] = []
  let len = 0
  let done = false
  while (len < n) {
    const r = await it.next()
    if (r.done) {
      done = true
      break
    }
    chunks.push(r.value)
    len += r.value.length
  }
  const head = Buffer.concat(chunks)
  async function* rest() {
    if (head.length) yield head
    if (done) return
    for (;;) {
      const r = await it.next()
      if (r.done) return
      yield r.value
    }
  }
  return {head, stream: Readable.from(rest(), {objectMode: false})}
}

/** Open a path or `-` and yield line batches. Throws InputError for a missing/unreadable file. */
export async function openSource(path: string, stdin: Readable = process.stdin): Promise<OpenedSource> {
  const o = await openDecoded(path, stdin)
  return {name: o.name, size: o.size, batches: splitLines(o.chunks, o.counter, o.name)}
}

/**
 * Open a path or `-` and yield whole lines as bytes, for readers that parse bytes instead of
 * strings: as chunks (lineChunks()) or as the line-aligned ranges they are cut from
 * (splitByteLines()). Only one of the two may be iterated. Throws InputError for a
 * missing/unreadable file.
 */
export async function openByteSource(path: string, stdin: Readable = process.stdin): Promise<OpenedByteSource> {
  const o = await openDecoded(path, stdin)
  return {
    name: o.name,
    size: o.size,
    chunks: (at) => lineChunks(splitByteLines(o.chunks, o.counter, o.name, at)),
    ranges: (at) => splitByteLines(o.chunks, o.counter, o.name, at),
  }
}

/** The decoded bytes of a path or `-` (compression detected by magic bytes), with the raw bytes read so far. */
async function openDecoded(path: string, stdin: Readable): Promise<{name: string; size?: number; chunks: AsyncIterable<Buffer>; counter: {bytes: number}}> {
  let raw: Readable
  let size: number | undefined
  let name: string
  if (path === '-') {
    raw = stdin
    name = '<stdin>'
  } else {
    name = path
    try {
      const st = statSync(path)
      if (st.isDirectory()) throw new InputError(`${path}: is a directory, expected a file`)
      size = st.size
      // An empty file named as compressed is a failed capture or copy, not an empty trace (R19).
      if (st.isFile() && size === 0 && /\.(gz|tgz|zst|xz)$/i.test(path)) throw new InputError(`${path}: empty file (0 bytes), expected compressed data`, path)
      if (st.isFile()) {
        // an uncompressed regular file: read directly (readChunks), no stream
        const head = Buffer.alloc(6)
        const fd = openSync(path, 'r')
        let n: number
        try {
          n = readSync(fd, head, 0, 6, 0)
        } finally {
          closeSync(fd)
        }
        if (!MAGIC.some((m) => n >= m.bytes.length && m.bytes.every((b, i) => head[i] === b))) {
          const counter = {bytes: 0}
          return {name, size, chunks: readChunks(path, counter), counter}
        }
      }
    } catch (e) {
      if (e instanceof InputError) throw e
      const code = (e as NodeJS.ErrnoException).code
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? String(e))
      throw new InputError(`${path}: cannot read: ${why}`)
    }
    raw = createReadStream(path, {highWaterMark: CHUNK_BYTES})
  }
  const counter = {bytes: 0}
  const counted = raw.pipe(
    new Transform({
      transform(chunk: Buffer, _enc, cb) {
        counter.bytes += chunk.length
        cb(null, chunk)
      },
    }),
  )
  raw.on('error', (e) => counted.destroy(e))
  const {head, stream} = await peek(counted, 6)
  let decoded: Readable = stream
  for (const m of MAGIC) {
    if (head.length >= m.bytes.length && m.bytes.every((b, i) => head[i] === b)) {
      decoded = m.decoder(stream)
      break
    }
  }
  return {name, size, chunks: decoded, counter}
}

/**
 * The bytes of a regular file in CHUNK_BYTES reads into two buffers used in turn: the read of the
 * next chunk runs (libuv thread pool) while the current one is processed, and no buffer is
 * allocated per read (a ReadStream allocates a fresh 512 KiB buffer for each). A yielded chunk is
 * valid until the consumer asks for the one after the next; splitLines() is done with a chunk
 * (decoded, its tail copied) before it asks for the next one.
 */
async function* readChunks(path: string, counter: {bytes: number}): AsyncGenerator<Buffer> {
  const fd = openSync(path, 'r')
  const bufs = [Buffer.allocUnsafeSlow(CHUNK_BYTES), Buffer.allocUnsafeSlow(CHUNK_BYTES)]
  const readInto = (b: Buffer) =>
    new Promise<number>((resolve, reject) => read(fd, b, 0, CHUNK_BYTES, null, (e, n) => (e ? reject(e) : resolve(n))))
  let k = 0
  let pending: Promise<number> | undefined = readInto(bufs[0]!)
  try {
    for (;;) {
      const n = await pending
      pending = undefined
      if (n === 0) return
      counter.bytes += n
      const cur = bufs[k]!
      k ^= 1
      // the other buffer held the chunk before this one: the consumer is done with it
      pending = readInto(bufs[k]!)
      yield cur.subarray(0, n)
    }
  } finally {
    if (pending) await pending.catch(() => 0)
    closeSync(fd)
  }
}

/**
 * Cut decoded bytes into line-aligned ranges (see ByteBatch), with bounded memory: the text up to
 * a chunk's last newline is complete lines, and the bytes after it wait for the next chunk. A
 * chunk's complete lines are handed on in pieces of at most ~PIECE_BYTES. Nothing is decoded.
 */
export async function* splitByteLines(input: AsyncIterable<Buffer>, counter: {bytes: number}, name: string, at: () => number): AsyncGenerator<ByteBatch> {
  // The unfinished line so far, as pieces (joined once, at its newline: linear in its length),
  // or only its length once it is over MAX_LINE_BYTES (then its bytes are dropped as they come).
  let carry: Buffer[] = []
  let carryLen = 0
  // Decoded bytes of the chunks before this one.
  let decodedBase = 0
  const takeCarry = (body: Buffer): Buffer => (carry.length === 1 && body.length === 0 ? carry[0]! : Buffer.concat([...carry, body]))
  try {
    for await (const chunk of input) {
      const buf = chunk
      const last = buf.lastIndexOf(10)
      if (last < 0) {
        decodedBase += buf.length
        carryLen += buf.length
        if (carryLen > MAX_LINE_BYTES) {
          // A megabyte without a newline holding NUL bytes is binary data, not a long text line:
          // stop (an endless stream such as /dev/zero would otherwise never end).
          if (carry.some((c) => c.indexOf(0) >= 0) || buf.indexOf(0) >= 0) {
            throw new InputError(`${name}:${at()}: binary data (NUL bytes, no newline in ${MAX_LINE_BYTES.toLocaleString('en-US')} bytes): not a text ptdump or trace`, name, at())
          }
          carry = []
        } else carry.push(Buffer.from(buf))
        continue
      }
      // the complete lines in pieces of at most ~PIECE_BYTES, each its own batch (see PIECE_BYTES)
      let p = 0
      while (p <= last) {
        let e = last
        if (last - p > PIECE_BYTES) {
          e = buf.lastIndexOf(10, p + PIECE_BYTES)
          if (e < p) e = buf.indexOf(10, p + PIECE_BYTES)
        }
        let batch: ByteBatch
        if (carryLen > 0) {
          const first = buf.indexOf(10, p)
          const total = carryLen + (first - p)
          if (total > MAX_LINE_BYTES) {
            // the carried line is too long: drop it (and its rest in this chunk) as one empty line
            batch = first < e ? {buf, start: first + 1, end: e, bytesRead: counter.bytes, decodedRead: decodedBase + e + 1, overlong: total} : {buf, start: e, end: e, bytesRead: counter.bytes, decodedRead: decodedBase + e + 1, overlong: total, noLines: true}
          } else {
            const joined = takeCarry(buf.subarray(p, e))
            batch = {buf: joined, start: 0, end: joined.length, bytesRead: counter.bytes, decodedRead: decodedBase + e + 1}
          }
          carry = []
          carryLen = 0
        } else batch = {buf, start: p, end: e, bytesRead: counter.bytes, decodedRead: decodedBase + e + 1}
        p = e + 1
        yield batch
      }
      decodedBase += buf.length
      // copy the tail: a chunk may be a view into a buffer the stream reuses
      if (last + 1 < buf.length) {
        carry = [Buffer.from(buf.subarray(last + 1))]
        carryLen = buf.length - last - 1
      }
    }
  } catch (e) {
    if (e instanceof InputError) throw e
    // damage inside compressed data: where in the compressed file, not which decoded line
    if (e instanceof CompressedDataError) throw new InputError(`${name}:${e.offset}: ${e.message}`, name)
    const err = e as NodeJS.ErrnoException
    const what = err.code === 'Z_BUF_ERROR' || /unexpected end/i.test(err.message) ? 'truncated compressed input' : err.message
    throw new InputError(`${name}:${at()}: ${what}`, name, at())
  }
  if (carryLen > 0) {
    if (carryLen > MAX_LINE_BYTES) {
      const empty = Buffer.alloc(0)
      yield {buf: empty, start: 0, end: 0, bytesRead: counter.bytes, unterminated: true, overlong: carryLen, noLines: true}
      return
    }
    const all = takeCarry(Buffer.alloc(0))
    yield {buf: all, start: 0, end: all.length, bytesRead: counter.bytes, unterminated: true}
  }
}

/**
 * Cut decoded text into lines: the byte ranges of splitByteLines(), decoded — as latin1 when all
 * ASCII (the common case: a one-byte string, no UTF-8 decoding; the same characters). The text
 * up to a newline is complete UTF-8 (0x0A never occurs inside a multi-byte sequence); invalid
 * UTF-8 becomes U+FFFD as with a StringDecoder. Exported for the parallel reader
 * (trace/parallel-chunk.ts), which feeds it one line-aligned range of a file in the same
 * CHUNK_BYTES reads, so it cuts the same batches as the one-thread reader's ranges.
 */
export async function* splitLines(input: AsyncIterable<Buffer>, counter: {bytes: number}, name: string): AsyncGenerator<LineBatch> {
  let line = 1
  for await (const b of splitByteLines(input, counter, name, () => line)) {
    const batch = lineBatchOf(b, line)
    yield batch
    line += batch.lines.length
  }
}

/** The LineBatch of a ByteBatch whose first line is line `firstLine`. */
export function lineBatchOf(b: ByteBatch, firstLine: number): LineBatch {
  let overlong: {line: number; bytes: number}[] | undefined
  if (b.unterminated) {
    if (b.overlong !== undefined) return {lines: [''], firstLine, bytesRead: b.bytesRead, unterminated: true, overlong: [{line: firstLine, bytes: b.overlong}]}
    let text = decodeText(b.buf.subarray(b.start, b.end))
    if (text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1)
    return {lines: [text], firstLine, bytesRead: b.bytesRead, unterminated: true}
  }
  const body = b.buf.subarray(b.start, b.end)
  let text: string
  let lines: string[]
  if (b.overlong !== undefined) {
    overlong = [{line: firstLine, bytes: b.overlong}]
    text = ''
    lines = b.noLines ? [''] : ['', ...splitBody(body, firstLine + 1, (o) => overlong!.push(o))]
  } else {
    text = decodeText(body)
    lines = text.split('\n')
    if (body.length > MAX_LINE_BYTES) markOverlong(lines, firstLine, (o) => (overlong ??= []).push(o))
  }
  const batch: LineBatch = {lines, firstLine, bytesRead: b.bytesRead, decodedRead: b.decodedRead}
  if (body.indexOf(13) >= 0) stripCr(lines)
  else if (!overlong) batch.text = text
  if (overlong) batch.overlong = overlong
  return batch
}

/**
 * The ranges of splitByteLines() as chunks of whole lines (openByteSource().chunks): a line too
 * long comes alone, as an empty chunk with overlongFirst.
 */
async function* lineChunks(ranges: AsyncIterable<ByteBatch>): AsyncGenerator<LineChunk> {
  for await (const b of ranges) {
    if (b.overlong !== undefined) {
      const c: LineChunk = {buf: b.buf.subarray(b.start, b.start), bytesRead: b.bytesRead, overlongFirst: b.overlong}
      if (b.noLines && b.unterminated) c.unterminated = true
      yield c
      if (b.noLines) continue
    }
    const c: LineChunk = {buf: b.buf.subarray(b.start, b.end), bytesRead: b.bytesRead}
    if (b.unterminated) c.unterminated = true
    yield c
  }
}

/** Lines of `body` (no carried part), with any over MAX_LINE_BYTES blanked and reported. */
function splitBody(body: Buffer, firstLine: number, report: (o: {line: number; bytes: number}) => void): string[] {
  const lines = decodeText(body).split('\n')
  if (body.length > MAX_LINE_BYTES) markOverlong(lines, firstLine, report)
  return lines
}

function markOverlong(lines: string[], firstLine: number, report: (o: {line: number; bytes: number}) => void): void {
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.length > MAX_LINE_BYTES) {
      report({line: firstLine + i, bytes: Buffer.byteLength(lines[i]!)})
      lines[i] = ''
    }
  }
}

function stripCr(lines: string[]): void {
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!
    if (l.length && l.charCodeAt(l.length - 1) === 13) lines[i] = l.slice(0, -1)
  }
}

/** Batch text from bytes (also the parallel reader's, trace/parallel.ts). */
export function decodeText(b: Buffer): string {
  return b.toString(isAscii(b) ? 'latin1' : 'utf8')
}

/** Lines of an in-memory string (tests, pasted text). */
export function* linesOf(text: string): Generator<{text: string; line: number}> {
  const lines = text.split('\n')
  if (lines.length && lines[lines.length - 1] === '') lines.pop()
  for (let i = 0; i < lines.length; i++) yield {text: lines[i]!.replace(/\r$/, ''), line: i + 1}
}
