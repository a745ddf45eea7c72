/**
 * A line reader over bytes: the lines of a line-aligned byte range of a Buffer (source.ts
 * ByteBatch, or any range that starts at a line start and ends at a newline or the end of the
 * input) into the RecordAssembler, one line after the other, with `file:line` positions.
 *
 * Each line is tried on the reader's byte fast paths first (eventBytes: the normalized event;
 * recordBytes: the record; fastpath.ts) and otherwise decoded and given to the reader's general
 * tokenize(), as a string line exactly as source.ts splitLines() would have cut it (carriage
 * return dropped, UTF-8 decoded). The range is decoded once, as latin1 when it is all ASCII (a
 * memory copy): events cut what they keep (address text, the argument text read on demand) from
 * that one string. Lines longer than MAX_LINE_BYTES and lines holding NUL bytes are reported and
 * skipped, as before.
 *
 * Entry points: parseTextChunk(buf, start, end, st) for a whole range, or, to hand events on
 * between pieces of a range, begin() once per range and parse() repeatedly.
 */
import {isAscii} from 'node:buffer'

import type {SourcePos} from '../events.js'
import type {Normalizer} from '../normalize.js'
import {MAX_LINE_BYTES} from '../source.js'
import {clipText} from '../text.js'
import type {RecordAssembler} from './assemble.js'
import type {DiagnosticSink} from './stats.js'
import type {LineReader} from './types.js'

export class TextChunkParser {
  /** The number of the next line. */
  line = 1
  private buf: Buffer = Buffer.alloc(0)
  private end = 0
  /** The range decoded as latin1 (it is all ASCII), and the offset of its characters from the bytes; undefined: not ASCII. */
  private text: string | undefined
  private off = 0
  /** The range holds a NUL byte or a line over MAX_LINE_BYTES: each line is checked. */
  private checked = false
  /** The range's last line is the input's last, without a newline (a capture cut short?). */
  private unterminated = false

  constructor(
    readonly file: string,
    private readonly reader: LineReader<unknown>,
    private readonly state: unknown,
    private readonly normalizer: Normalizer,
    private readonly assembler: RecordAssembler,
    private readonly sink: DiagnosticSink,
  ) {}

  /**
   * Start on `buf[start, end)`: whole lines joined by `\n`, `end` at the newline of the last one
   * (not included) or, with `unterminated`, at the end of the input.
   */
  begin(buf: Buffer, start: number, end: number, unterminated = false): void {
    this.buf = buf
    this.end = end
    this.unterminated = unterminated
    const nul = buf.indexOf(0, start)
    this.checked = (nul >= 0 && nul < end) || end - start > MAX_LINE_BYTES
    if (isAscii(buf.subarray(start, end))) {
      this.text = buf.toString('latin1', start, end)
      this.off = -start
    } else this.text = undefined
  }

  /**
   * Read the lines from `from` (a line start of the range begun), at most `maxLines`; returns the
   * start of the next line, past the range's end when every line has been read.
   */
  parse(from: number, maxLines = Infinity): number {
    const {buf, end, reader, state, assembler, normalizer, file} = this
    const fast = reader.recordBytes !== undefined && !this.unterminated
    const fused = reader.eventBytes
    let s = from
    for (let k = 0; k < maxLines && s <= end; k++) {
      let e = buf.indexOf(10, s)
      if (e < 0 || e > end) e = end
      const next = e + 1
      const pos: SourcePos = {file, line: this.line++}
      // a carriage return before the newline is dropped (source.ts stripCr)
      const le = e > s && buf[e - 1] === 13 ? e - 1 : e
      if (this.checked && this.skipped(s, e, le, pos)) {
        s = next
        continue
      }
      let text = this.text
      let off = this.off
      if (fast) {
        if (text === undefined && isAscii(buf.subarray(s, le))) {
          // a line of a range that is not all ASCII: the fast paths read ASCII lines only
          text = buf.toString('latin1', s, le)
          off = -s
        }
        if (text !== undefined) {
          if (fused !== undefined) {
            const ev = fused(buf, s, le, text, off, pos, state, normalizer)
            if (ev !== undefined) {
              assembler.pushEvent(ev)
              s = next
              continue
            }
          }
          const rec = reader.recordBytes!(buf, s, le, text, off, pos, state)
          if (rec !== undefined) {
            assembler.pushRecord(rec)
            s = next
            continue
          }
        }
      }
      const line = this.text !== undefined ? this.text.slice(s + this.off, le + this.off) : buf.toString('utf8', s, le)
      s = next
      const tok = reader.tokenize(line, pos, state)
      if (tok === null) continue
      const cut = this.unterminated && s > end
      if (Array.isArray(tok)) for (const t of tok) assembler.push(t, cut)
      else assembler.push(tok, cut)
    }
    return s
  }

  /** A line over MAX_LINE_BYTES or holding NUL bytes: reported, true (skip it). */
  private skipped(s: number, e: number, le: number, pos: SourcePos): boolean {
    const buf = this.buf
    if (e - s > MAX_LINE_BYTES) {
      // (source.ts markOverlong: the decoded line's length)
      const line = buf.toString(this.text !== undefined ? 'latin1' : 'utf8', s, e)
      if (line.length > MAX_LINE_BYTES) {
        this.overlong(pos, Buffer.byteLength(line))
        return true
      }
    }
    const nul = buf.indexOf(0, s)
    if (nul >= 0 && nul < le) {
      const line = buf.toString(this.text !== undefined ? 'latin1' : 'utf8', s, le)
      this.sink.add({src: pos, code: 'nul-bytes', message: `${pos.file}:${pos.line}: a line holding NUL bytes (binary data?), got '${clipText(line)}'; skipped`})
      return true
    }
    return false
  }

  /** A line of `bytes` bytes over MAX_LINE_BYTES at `pos`: reported (skipped). */
  overlong(pos: SourcePos, bytes: number): void {
    this.sink.add({src: pos, code: 'line-too-long', message: `${pos.file}:${pos.line}: a line of ${bytes.toLocaleString('en-US')} bytes (over ${MAX_LINE_BYTES.toLocaleString('en-US')}); skipped`})
  }
}

/**
 * The lines of `buf[start, end)` (line-aligned: see TextChunkParser.begin) read by `st`, from its
 * next line number on, into its assembler (whose `out` then holds the records and events, in
 * file order). Returns the number of lines read.
 */
export function parseTextChunk(buf: Buffer, start: number, end: number, st: TextChunkParser, unterminated = false): number {
  const first = st.line
  st.begin(buf, start, end, unterminated)
  st.parse(start)
  return st.line - first
}
