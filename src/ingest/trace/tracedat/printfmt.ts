/**
 * An event's `print fmt` compiled into a function of its payload, producing the text libtraceevent
 * (rostedt/libtraceevent src/event-parse.c, print_event_field / pretty_print) renders for it, so a
 * trace.dat event goes through the same payload parser as the `trace-cmd report` line of that
 * event. Supported: printf conversions `%[-+ #0][width][.prec][hh|h|l|ll|L|z|j|t](d|i|u|x|X|o|c|s|p)`,
 * `%ps/%pS/%pf/%pF` through the file's kallsyms, arguments `REC->field` (with casts),
 * `__get_str(f)`, `__get_rel_str(f)`, `__get_dynamic_array(f)`, `__print_flags(v, "delim", {…})`,
 * `__print_symbolic(v, {…})` and integer constants. An event whose format uses anything else is
 * rendered as `name=value` pairs of its own fields (libtraceevent would say `[FAILED TO PARSE]`).
 */
import {evalConst} from './const-expr.js'
import type {EventFormat, Field} from './format.js'

/** One event's payload inside a page buffer. */
export interface Payload {
  view: DataView
  buf: Uint8Array
  start: number
  len: number
}

export interface RenderContext {
  longSize: number
  le: boolean
  /** %ps: the symbol of an address, or undefined. */
  symbol(addr: bigint): {name: string; offset: bigint} | undefined
}

type Value = bigint | string
type Arg = (p: Payload, ctx: RenderContext) => Value

/** The raw value of a numeric field, sign-extended to 64 bits when the field is signed. */
export function fieldValue(p: Payload, f: Field, le: boolean): bigint {
  const at = p.start + f.offset
  if (f.offset + f.size > p.len) return 0n
  const v = p.view
  switch (f.size) {
    case 1:
      return f.signed ? BigInt(v.getInt8(at)) : BigInt(v.getUint8(at))
    case 2:
      return f.signed ? BigInt(v.getInt16(at, le)) : BigInt(v.getUint16(at, le))
    case 4:
      return f.signed ? BigInt(v.getInt32(at, le)) : BigInt(v.getUint32(at, le))
    case 8:
      return f.signed ? v.getBigInt64(at, le) : v.getBigUint64(at, le)
    default:
      return 0n
  }
}

/** A string field: a fixed char array, or a `__data_loc`/`__rel_loc` dynamic one; up to the first NUL. */
export function fieldString(p: Payload, f: Field, le: boolean): string {
  let from = f.offset
  let len = f.size
  if (f.dataLoc || f.relLoc) {
    if (f.offset + 4 > p.len) return ''
    const loc = p.view.getUint32(p.start + f.offset, le)
    from = (loc & 0xffff) + (f.relLoc ? f.offset + f.size : 0)
    len = loc >>> 16
  } else if (len === 0) len = p.len - from // `char buf[]`: to the end of the record
  if (from > p.len) return ''
  len = Math.max(0, Math.min(len, p.len - from))
  const b = p.buf.subarray(p.start + from, p.start + from + len)
  const nul = b.indexOf(0)
  return Buffer.from(b.buffer, b.byteOffset, nul < 0 ? b.length : nul).toString('latin1')
}

interface Spec {
  flags: string
  width: number | undefined
  prec: number | undefined
  length: string
  conv: string
  ext: string
}

type Piece = string | {spec: Spec; arg: Arg} | ((p: Payload, ctx: RenderContext) => string)

/** Compile; undefined when the format uses something this renderer does not know. */
export function compilePrintFmt(ev: EventFormat): ((p: Payload, ctx: RenderContext) => string) | undefined {
  if (ev.printFmt === undefined) return undefined
  const fields = new Map(ev.fields.map((f) => [f.name, f]))
  const fmt = ev.printFmt
  const pieces: Piece[] = []
  let lit = ''
  let argi = 0
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i]!
    if (c !== '%') {
      lit += c
      continue
    }
    if (fmt[i + 1] === '%') {
      lit += '%'
      i++
      continue
    }
    const m = /^%([-+ #0]*)(\d+|\*)?(?:\.(\d+|\*))?(hh|h|ll|l|L|z|j|t|q)?([diuxXocsp])/.exec(fmt.slice(i))
    if (!m || m[2] === '*' || m[3] === '*') return undefined
    let ext = ''
    let len = m[0].length
    if (m[5] === 'p') {
      const e = /^[sSfFxXK]/.exec(fmt.slice(i + len))
      if (e) {
        ext = e[0]
        len++
      }
    }
    if (lit) pieces.push(lit)
    lit = ''
    const text = ev.printArgs[argi++]
    if (text === undefined) return undefined
    const spec = {flags: m[1]!, width: m[2] ? Number(m[2]) : undefined, prec: m[3] ? Number(m[3]) : undefined, length: m[4] ?? '', conv: m[5]!, ext}
    const fast = fastField(stripCasts(text), fields, spec)
    if (fast) {
      pieces.push(fast)
      i += len - 1
      continue
    }
    const arg = compileArg(text, fields)
    if (!arg) return undefined
    pieces.push({spec: {flags: m[1]!, width: m[2] ? Number(m[2]) : undefined, prec: m[3] ? Number(m[3]) : undefined, length: m[4] ?? '', conv: m[5]!, ext}, arg})
    i += len - 1
  }
  if (lit) pieces.push(lit)
  return (p, ctx) => {
    let out = ''
    for (let k = 0; k < pieces.length; k++) {
      const pc = pieces[k]!
      out += typeof pc === 'string' ? pc : typeof pc === 'function' ? pc(p, ctx) : format(pc.spec, pc.arg(p, ctx), ctx)
    }
    return out
  }
}

/**
 * `%x`/`%lx`/`%Lx`/`%u`/`%lu`/… of an unsigned field, no flags/width/precision, with the
 * conversion at least as wide as the field (so no truncation): the digits straight from the
 * 32-bit halves, no BigInt (the common kprobe `addr=0x%Lx` case).
 */
function fastField(t: string, fields: Map<string, Field>, spec: Spec): ((p: Payload, ctx: RenderContext) => string) | undefined {
  const m = /^REC->([A-Za-z_]\w*)$/.exec(t)
  if (!m || spec.flags || spec.width !== undefined || spec.prec !== undefined || spec.ext) return undefined
  const f = fields.get(m[1]!)
  if (!f || f.array || f.string || f.signed || (f.size !== 8 && f.size !== 4)) return undefined
  const hex = spec.conv === 'x'
  if (!hex && spec.conv !== 'u') return undefined
  const bits = spec.length === 'll' || spec.length === 'L' || spec.length === 'j' || spec.length === 'q' ? 64 : spec.length === 'l' || spec.length === 'z' ? -1 : spec.length === '' ? 32 : 0
  if (bits === 0) return undefined
  const off = f.offset
  if (f.size === 4) {
    return (p, ctx) => {
      if (off + 4 > p.len) return '0'
      const v = p.view.getUint32(p.start + off, ctx.le)
      return hex ? v.toString(16) : String(v)
    }
  }
  return (p, ctx) => {
    const w = bits === -1 ? ctx.longSize * 8 : bits
    if (w < 64 || off + 8 > p.len) return format(spec, fieldValue(p, f, ctx.le), ctx)
    const le = ctx.le
    const at = p.start + off
    const lo = p.view.getUint32(le ? at : at + 4, le)
    const hi = p.view.getUint32(le ? at + 4 : at, le)
    if (hex) return hi === 0 ? lo.toString(16) : hi.toString(16) + lo.toString(16).padStart(8, '0')
    return hi < 0x200000 ? String(hi * 4294967296 + lo) : ((BigInt(hi) << 32n) | BigInt(lo)).toString()
  }
}

/** The fallback rendering: `name=value` for each non-common field (hex for 8-byte fields). */
export function renderFields(ev: EventFormat, p: Payload, ctx: RenderContext): string {
  const out: string[] = []
  for (const f of ev.fields) {
    if (f.name.startsWith('common_')) continue
    if (f.string) out.push(`${f.name}=${fieldString(p, f, ctx.le)}`)
    else if (f.array) continue
    else {
      const v = fieldValue(p, f, ctx.le)
      out.push(`${f.name}=${f.size === 8 && !f.signed ? '0x' + v.toString(16) : v.toString()}`)
    }
  }
  return out.join(' ')
}

function stripCasts(s: string): string {
  let t = s.trim()
  for (;;) {
    const m = /^\(\s*(?:const\s+|unsigned\s+|signed\s+|struct\s+)*[A-Za-z_]\w*(?:\s+[A-Za-z_]\w*)*\s*\**\s*\)\s*/.exec(t)
    if (!m) return t
    t = t.slice(m[0].length)
  }
}

function compileArg(text: string, fields: Map<string, Field>): Arg | undefined {
  const t = stripCasts(text)
  let m = /^REC->([A-Za-z_]\w*)$/.exec(t)
  if (m) {
    const f = fields.get(m[1]!)
    if (!f) return undefined
    if (f.string) return (p, ctx) => fieldString(p, f, ctx.le)
    if (f.array) return undefined
    return (p, ctx) => fieldValue(p, f, ctx.le)
  }
  m = /^__get_(?:rel_)?str\(\s*([A-Za-z_]\w*)\s*\)$/.exec(t) ?? /^__get_dynamic_array\(\s*([A-Za-z_]\w*)\s*\)$/.exec(t)
  if (m) {
    const f = fields.get(m[1]!)
    if (!f) return undefined
    return (p, ctx) => fieldString(p, f, ctx.le)
  }
  m = /^__print_(flags|symbolic)\((.*)\)$/s.exec(t)
  if (m) return compileTable(m[1] as 'flags' | 'symbolic', m[2]!, fields)
  const k = evalConst(t)
  if (k !== undefined) return () => k
  return undefined
}

/** __print_flags(val, "delim", {flag, "name"}, …) / __print_symbolic(val, {value, "name"}, …): libtraceevent print_str_arg(). */
function compileTable(kind: 'flags' | 'symbolic', inner: string, fields: Map<string, Field>): Arg | undefined {
  const parts = splitTop(inner)
  if (parts.length < 1) return undefined
  const val = compileArg(parts[0]!, fields)
  if (!val) return undefined
  let delim = ''
  let k = 1
  if (kind === 'flags') {
    const d = /^"((?:[^"\\]|\\.)*)"$/.exec((parts[1] ?? '').trim())
    if (!d) return undefined
    delim = d[1]!
    k = 2
  }
  const table: {v: bigint; s: string}[] = []
  for (; k < parts.length; k++) {
    const e = /^\{\s*(.*?)\s*,\s*"((?:[^"\\]|\\.)*)"\s*\}$/s.exec(parts[k]!.trim())
    if (!e) return undefined
    const v = evalConst(e[1]!)
    if (v === undefined) return undefined
    table.push({v, s: e[2]!})
  }
  if (kind === 'symbolic') {
    return (p, ctx) => {
      const x = val(p, ctx)
      if (typeof x === 'string') return x
      for (const r of table) if (r.v === x) return r.s
      return x
    }
  }
  return (p, ctx) => {
    let x = val(p, ctx)
    if (typeof x === 'string') return x
    let out = ''
    let printed = false
    for (const r of table) {
      if (x === 0n && r.v === 0n) {
        out += r.s
        printed = true
        break
      }
      if (r.v !== 0n && (x & r.v) === r.v) {
        if (printed && delim) out += delim
        out += r.s
        printed = true
        x &= ~r.v
      }
    }
    if (x !== 0n) {
      if (printed && delim) out += delim
      out += '0x' + x.toString(16)
    }
    return out
  }
}

function splitTop(s: string): string[] {
  const out: string[] = []
  let depth = 0
  let quote = false
  let cur = ''
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (quote) {
      cur += c
      if (c === '\\' && i + 1 < s.length) cur += s[++i]!
      else if (c === '"') quote = false
      continue
    }
    if (c === '"') quote = true
    else if (c === '(' || c === '{') depth++
    else if (c === ')' || c === '}') depth--
    else if (c === ',' && depth === 0) {
      out.push(cur)
      cur = ''
      continue
    }
    cur += c
  }
  out.push(cur)
  return out
}

function bitsOf(length: string, longSize: number): number {
  switch (length) {
    case 'hh':
      return 8
    case 'h':
      return 16
    case 'l':
    case 'z':
    case 't':
      return longSize * 8
    case 'll':
    case 'L':
    case 'j':
    case 'q':
      return 64
    default:
      return 32
  }
}

function pad(s: string, spec: Spec, numeric: boolean): string {
  const w = spec.width
  if (w === undefined || s.length >= w) return s
  if (spec.flags.includes('-')) return s.padEnd(w)
  if (numeric && spec.flags.includes('0') && spec.prec === undefined) {
    const neg = s.startsWith('-') ? '-' : ''
    const pre = s.startsWith('0x', neg.length) || s.startsWith('0X', neg.length) ? s.slice(neg.length, neg.length + 2) : ''
    const body = s.slice(neg.length + pre.length)
    return neg + pre + body.padStart(w - neg.length - pre.length, '0')
  }
  return s.padStart(w)
}

function format(spec: Spec, v: Value, ctx: RenderContext): string {
  const conv = spec.conv
  if (conv === 's') {
    let s = typeof v === 'string' ? v : v.toString()
    if (spec.prec !== undefined) s = s.slice(0, spec.prec)
    return pad(s, spec, false)
  }
  if (typeof v === 'string') return pad(v, spec, false)
  if (conv === 'c') return pad(String.fromCharCode(Number(BigInt.asUintN(8, v))), spec, false)
  if (conv === 'p') {
    const a = BigInt.asUintN(ctx.longSize * 8, v)
    if (spec.ext === 's' || spec.ext === 'f' || spec.ext === 'S' || spec.ext === 'F') {
      const sym = ctx.symbol(a)
      if (sym) return pad(spec.ext === 's' || spec.ext === 'f' || sym.offset === 0n ? sym.name : `${sym.name}+0x${sym.offset.toString(16)}`, spec, false)
    }
    return pad(spec.ext === 's' || spec.ext === 'f' || spec.ext === 'S' || spec.ext === 'F' ? a.toString(16) : '0x' + a.toString(16), spec, true)
  }
  const bits = bitsOf(spec.length, ctx.longSize)
  let s: string
  if (conv === 'd' || conv === 'i') {
    const x = BigInt.asIntN(bits, v)
    s = x.toString()
    if (x >= 0n && spec.flags.includes('+')) s = '+' + s
    else if (x >= 0n && spec.flags.includes(' ')) s = ' ' + s
  } else {
    const x = BigInt.asUintN(bits, v)
    if (conv === 'u') s = x.toString()
    else if (conv === 'o') s = (spec.flags.includes('#') && x !== 0n ? '0' : '') + x.toString(8)
    else {
      s = x.toString(16)
      if (conv === 'X') s = s.toUpperCase()
      if (spec.prec !== undefined) s = s.padStart(spec.prec, '0')
      if (spec.flags.includes('#') && x !== 0n) s = (conv === 'X' ? '0X' : '0x') + s
    }
  }
  return pad(s, spec, true)
}
