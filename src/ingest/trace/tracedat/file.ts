/**
 * Positional reads of a trace.dat file and a bounds-checked cursor over the bytes read.
 *
 * The reader never holds the whole file: metadata sections are read (and decompressed) one at a
 * time and dropped once parsed, ring-buffer data one page or one compressed chunk per CPU at a
 * time. Every read is checked against the file size, so a truncated or corrupt file ends with
 * `file:offset: expected …, got …` (a TraceDatError, an InputError: exit 2), never a RangeError.
 */
import {closeSync, fstatSync, openSync, read, readSync} from 'node:fs'

import {InputError} from '../../source.js'

/** The first 10 bytes of every trace.dat: 0x17 0x08 0x44 "tracing" (trace-cmd.dat(5), INITIAL FORMAT). */
export const TRACE_DAT_MAGIC = [0x17, 0x08, 0x44, 0x74, 0x72, 0x61, 0x63, 0x69, 0x6e, 0x67]

export class TraceDatError extends InputError {
  constructor(
    file: string,
    readonly offset: number,
    what: string,
  ) {
    super(`${file}:${offset}: ${what}`, file)
  }
}

/** Does this byte prefix start a trace.dat? */
export function hasTraceDatMagic(head: Uint8Array): boolean {
  if (head.length < TRACE_DAT_MAGIC.length) return false
  for (let i = 0; i < TRACE_DAT_MAGIC.length; i++) if (head[i] !== TRACE_DAT_MAGIC[i]) return false
  return true
}

/** Is `path` a regular file that starts with the trace.dat magic? (false for `-` and unreadable paths) */
export function isTraceDatFile(path: string): boolean {
  if (path === '-') return false
  let fd: number | undefined
  try {
    fd = openSync(path, 'r')
    if (!fstatSync(fd).isFile()) return false
    const head = Buffer.alloc(TRACE_DAT_MAGIC.length)
    const n = readSync(fd, head, 0, head.length, 0)
    return n === head.length && hasTraceDatMagic(head)
  } catch {
    return false
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/** An open trace.dat: reads by offset. */
export class DatFile {
  readonly size: number
  private fd: number | undefined

  constructor(readonly name: string) {
    try {
      this.fd = openSync(name, 'r')
      this.size = fstatSync(this.fd).size
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      throw new InputError(`${name}: cannot read: ${code === 'ENOENT' ? 'no such file' : (code ?? String(e))}`, name)
    }
  }

  error(offset: number, what: string): TraceDatError {
    return new TraceDatError(this.name, offset, what)
  }

  /** Exactly `len` bytes at `offset`, or a TraceDatError naming `what` was expected there. */
  async read(offset: number, len: number, what: string): Promise<Buffer> {
    this.check(offset, len, what)
    const buf = Buffer.allocUnsafe(len)
    let done = 0
    while (done < len) {
      const n = await new Promise<number>((resolve, reject) =>
        read(this.fd!, buf, done, len - done, offset + done, (e, k) => (e ? reject(e) : resolve(k))),
      )
      if (n === 0) throw this.error(offset + done, `expected ${len} bytes of ${what}, got ${done} (truncated file)`)
      done += n
    }
    return buf
  }

  /** Synchronous read, for the small fixed-size header. */
  readSync(offset: number, len: number, what: string): Buffer {
    this.check(offset, len, what)
    const buf = Buffer.alloc(len)
    const n = readSync(this.fd!, buf, 0, len, offset)
    if (n < len) throw this.error(offset + n, `expected ${len} bytes of ${what}, got ${n} (truncated file)`)
    return buf
  }

  private check(offset: number, len: number, what: string): void {
    if (this.fd === undefined) throw this.error(offset, `expected an open file for ${what}, got a closed one`)
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(len) || len < 0) {
      throw this.error(Math.max(0, Number.isFinite(offset) ? offset : 0), `expected ${what} at a valid offset, got offset ${offset} length ${len}`)
    }
    if (offset + len > this.size) {
      throw this.error(offset, `expected ${len} bytes of ${what}, got ${Math.max(0, this.size - offset)} (file ends at ${this.size}: truncated)`)
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd)
    this.fd = undefined
  }
}

/**
 * A cursor over bytes read from the file (or decompressed from a section), in the file's
 * endianness. `base` is the file offset of byte 0 for messages (for a compressed section: the
 * section's offset, and `where` says "uncompressed byte N of …").
 */
export class Cursor {
  pos = 0
  private readonly view: DataView

  constructor(
    readonly buf: Uint8Array,
    readonly le: boolean,
    private readonly file: string,
    private readonly base: number,
    private readonly label?: string,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  }

  get remaining(): number {
    return this.buf.length - this.pos
  }

  /** The file offset (or the section offset and the position inside its uncompressed data). */
  where(at = this.pos): number {
    return this.label === undefined ? this.base + at : this.base
  }

  error(what: string, at = this.pos): TraceDatError {
    const inside = this.label === undefined ? '' : ` (byte ${at} of the uncompressed ${this.label})`
    return new TraceDatError(this.file, this.where(at), `${what}${inside}`)
  }

  need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.buf.length) {
      throw this.error(`expected ${n} bytes of ${what}, got ${Math.max(0, this.buf.length - this.pos)}`)
    }
  }

  u16(what: string): number {
    this.need(2, what)
    const v = this.view.getUint16(this.pos, this.le)
    this.pos += 2
    return v
  }

  u32(what: string): number {
    this.need(4, what)
    const v = this.view.getUint32(this.pos, this.le)
    this.pos += 4
    return v
  }

  /** A 64-bit count or offset as a number; a TraceDatError above 2^53 (no file is that large). */
  u64(what: string): number {
    this.need(8, what)
    const v = this.view.getBigUint64(this.pos, this.le)
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.error(`expected ${what} below 2^53, got ${v}`)
    this.pos += 8
    return Number(v)
  }

  bytes(n: number, what: string): Uint8Array {
    this.need(n, what)
    const b = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return b
  }

  /** A NUL-terminated string (latin1). */
  cstring(what: string): string {
    const end = this.buf.indexOf(0, this.pos)
    if (end < 0) throw this.error(`expected a NUL-terminated ${what}, got ${this.buf.length - this.pos} bytes without NUL`)
    const s = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, end - this.pos).toString('latin1')
    this.pos = end + 1
    return s
  }

  /** `n` bytes as text (latin1), e.g. an event format file. */
  text(n: number, what: string): string {
    const b = this.bytes(n, what)
    return Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1')
  }
}
