/**
 * The kernel's event format files as trace.dat stores them (events/<system>/<event>/format, written
 * by kernel/trace/trace_events.c f_show()): `name:`, `ID:`, `format:` with one
 * `field:TYPE NAME;\toffset:N;\tsize:N;\tsigned:N;` line per field, and `print fmt: "…", args`.
 * The file's own descriptions are the truth for the payload layout (offsets, sizes, signedness,
 * `__data_loc` / `__rel_loc` dynamic strings); nothing about an event's layout is assumed.
 */

export interface Field {
  name: string
  /** The C type as printed (`unsigned long`, `__data_loc char[]`, `char[16]`). */
  type: string
  offset: number
  size: number
  signed: boolean
  /** `__data_loc`: a u32 at `offset` holds (length << 16 | offset from the record start). */
  dataLoc: boolean
  /** `__rel_loc`: like dataLoc, the offset counted from the end of this field. */
  relLoc: boolean
  /** A fixed or open array (`char comm[16]`, `char buf[]`). */
  array: boolean
  /** A character array or dynamic string: printed with %s. */
  string: boolean
}

export interface EventFormat {
  system: string
  name: string
  id: number
  fields: Field[]
  /** The print format string, unescaped; undefined when the file has none. */
  printFmt?: string
  /** The argument expressions after the format string, as text. */
  printArgs: string[]
}

/** Parse one format file. Returns a reason string for text that is not a format file. */
export function parseEventFormat(text: string, system: string): EventFormat | string {
  let name: string | undefined
  let id: number | undefined
  const fields: Field[] = []
  let printFmt: string | undefined
  let printArgs: string[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    const t = line.trim()
    if (t.startsWith('name:')) name = t.slice(5).trim()
    else if (t.startsWith('ID:')) {
      const v = Number(t.slice(3).trim())
      if (Number.isInteger(v) && v >= 0) id = v
    } else if (t.startsWith('field:')) {
      const f = parseField(t)
      if (f === undefined) return `expected a field line \`field:TYPE NAME;\toffset:N;\tsize:N;\tsigned:N;\`, got '${t.slice(0, 80)}'`
      fields.push(f)
    } else if (t.startsWith('print fmt:')) {
      // the print fmt is the rest of the text (it may hold newlines in theory; in practice one line)
      const rest = lines.slice(i).join('\n').trim().slice('print fmt:'.length).trim()
      const p = parsePrintFmt(rest)
      if (p) {
        printFmt = p.fmt
        printArgs = p.args
      }
      break
    }
  }
  if (name === undefined) return "expected a 'name:' line"
  if (id === undefined) return `expected an 'ID:' line for event ${name}`
  return {system, name, id, fields, printFmt, printArgs}
}

function parseField(t: string): Field | undefined {
  // field:unsigned long __probe_ip;	offset:8;	size:8;	signed:0;
  const parts = t.split(';')
  const decl = parts[0]!.slice('field:'.length).trim()
  let offset: number | undefined
  let size: number | undefined
  let signed = false
  for (let k = 1; k < parts.length; k++) {
    const p = parts[k]!.trim()
    if (p.startsWith('offset:')) offset = Number(p.slice(7))
    else if (p.startsWith('size:')) size = Number(p.slice(5))
    else if (p.startsWith('signed:')) signed = p.slice(7).trim() === '1'
  }
  if (offset === undefined || size === undefined || !Number.isInteger(offset) || !Number.isInteger(size) || offset < 0 || size < 0) return undefined
  // `char comm[16]`, `char buf[]`: the array suffix follows the name; `__data_loc char[] name`: it is in the type
  let base = decl
  let suffix = ''
  const arr = /\[[^\]]*\]$/.exec(decl)
  if (arr) {
    base = decl.slice(0, arr.index).trim()
    suffix = arr[0]
  }
  const sp = base.search(/[\w$]+$/)
  if (sp <= 0) return undefined
  const name = base.slice(sp)
  const type = base.slice(0, sp).trim() + suffix
  const array = type.includes('[')
  const dataLoc = type.startsWith('__data_loc')
  const relLoc = type.startsWith('__rel_loc')
  const string = /\bchar\b/.test(type) && (array || dataLoc || relLoc || type.includes('['))
  return {name, type, offset, size, signed, dataLoc, relLoc, array, string}
}

/** `"fmt", arg1, arg2` → the unescaped format and the argument texts (split at top-level commas). */
export function parsePrintFmt(s: string): {fmt: string; args: string[]} | undefined {
  if (s.charCodeAt(0) !== 34) return undefined
  let fmt = ''
  let i = 1
  for (; i < s.length; i++) {
    const c = s[i]!
    if (c === '"') break
    if (c === '\\' && i + 1 < s.length) {
      const d = s[++i]!
      fmt += d === 'n' ? '\n' : d === 't' ? '\t' : d === 'r' ? '\r' : d === '0' ? '\0' : d
    } else fmt += c
  }
  if (i >= s.length) return undefined
  const args: string[] = []
  let rest = s.slice(i + 1).trim()
  if (rest.startsWith(',')) rest = rest.slice(1)
  let depth = 0
  let cur = ''
  let quote = false
  for (let k = 0; k < rest.length; k++) {
    const c = rest[k]!
    if (quote) {
      cur += c
      if (c === '\\' && k + 1 < rest.length) cur += rest[++k]!
      else if (c === '"') quote = false
      continue
    }
    if (c === '"') quote = true
    else if (c === '(' || c === '{' || c === '[') depth++
    else if (c === ')' || c === '}' || c === ']') depth--
    else if (c === ',' && depth === 0) {
      args.push(cur.trim())
      cur = ''
      continue
    }
    cur += c
  }
  if (cur.trim() !== '') args.push(cur.trim())
  return {fmt, args}
}

/** The page header (events/header_page): field offsets and sizes of the sub-buffer header. */
export interface PageHeader {
  timestampOffset: number
  commitOffset: number
  /** Size of `commit` (local_t): the kernel's long size. */
  commitSize: number
  /** Start of the events in a page. */
  dataOffset: number
  /** Bytes of event data a page can hold (the `data` field's size). */
  dataSize: number
}

/** Parse header_page; falls back to the 64-bit layout for fields it does not show. */
export function parseHeaderPage(text: string, longSize: number): PageHeader {
  const h: PageHeader = {timestampOffset: 0, commitOffset: 8, commitSize: longSize, dataOffset: 8 + longSize, dataSize: 0}
  for (const line of text.split('\n')) {
    const f = parseField(line.trim())
    if (!f) continue
    if (f.name === 'timestamp') h.timestampOffset = f.offset
    else if (f.name === 'commit') {
      h.commitOffset = f.offset
      h.commitSize = f.size
    } else if (f.name === 'data') {
      h.dataOffset = f.offset
      h.dataSize = f.size
    }
  }
  return h
}
