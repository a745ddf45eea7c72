/**
 * The payload of a probe or tracepoint line after its event name: the probe site
 * (`sym+0xOFF/0xSIZE [mod] <addr>`), `name=value` arguments as kprobe_events prints them, and
 * function-tracer bodies. Shared by the tracefs, trace-cmd and perf tokenizers.
 */
import {REPEATED_ARG} from '../events.js'
import type {RawRecord} from '../events.js'
import {isArgNameChar, isHexDigit, skipSpaces} from './chars.js'
import {NAMES, intern} from './intern.js'

/** Symbol of `sym+0xOFF/0xSIZE` (or `sym+0xOFF`, or `sym`). */
export function symbolOf(where: string): string {
  const plus = where.indexOf('+')
  return plus > 0 ? where.slice(0, plus) : where
}

function isBareHex(s: string): boolean {
  if (s.length === 0) return false
  for (let i = 0; i < s.length; i++) if (!isHexDigit(s.charCodeAt(i))) return false
  return true
}

/** Where-part of a probe line, e.g. `set_memory_ro+0x0/0x30 [mod] <ffff…>`, split up. */
export function parseEntryWhere(where: string, rec: RawRecord): void {
  let w = where
  // sym-addr option: ` <ffff…>` after the symbol
  const lt = w.indexOf(' <')
  if (lt > 0 && w.endsWith('>')) w = w.slice(0, lt)
  const sp = w.indexOf(' [')
  if (sp > 0 && w.endsWith(']')) {
    rec.probeModule = w.slice(sp + 2, -1)
    w = w.slice(0, sp)
  }
  if (w.startsWith('0x')) {
    rec.probeIp = w
    return
  }
  if (isBareHex(w) && w.length >= 8) {
    rec.probeIp = '0x' + w
    return
  }
  rec.probeSymbol = intern(symbolOf(w))
}

/**
 * Parse a kprobe/kretprobe/fprobe payload starting at `p` (the `(`):
 * `(sym+0x0/0x30 [mod]) a=1 b=0x2` or `(site <- func) ret=0x0`.
 * `returnOrder` is 'site-func' for the kernel's own text (tracefs) and 'func-site' for
 * libtraceevent renderings (trace-cmd, perf), which print `(%lx <- %lx)` with
 * `__probe_func, __probe_ret_ip` (kernel/trace/trace_probe.c __set_print_fmt(); docs/trace-text-quirks.md#kretprobe-ip-order).
 * Returns false when the payload is not a probe payload.
 */
export function parseProbePayload(
  line: string,
  p: number,
  rec: RawRecord,
  returnOrder: 'site-func' | 'func-site',
): boolean {
  const close = line.indexOf(')', p + 1)
  if (close < 0) return false
  // fast path: `(sym+0xOFF/0xSIZE)` — no module, no return arrow, no sym-addr
  const sp = line.indexOf(' ', p + 1)
  if (sp < 0 || sp > close) {
    const plus = line.indexOf('+', p + 1)
    if (plus > p + 1 && plus < close && line.charCodeAt(p + 1) !== 48 /* 0 */) {
      rec.probeSymbol = NAMES.get(line, p + 1, plus)
      const rest = parseArgs(line, close + 1, rec.args)
      if (rest < line.length) rec.text = line.slice(rest).trim() || undefined
      return true
    }
  }
  const where = line.slice(p + 1, close)
  const arrow = where.indexOf(' <- ')
  if (arrow >= 0) {
    const a = where.slice(0, arrow)
    const b = where.slice(arrow + 4)
    const func = returnOrder === 'site-func' ? b : a
    if (isBareHex(func) || func.startsWith('0x')) {
      // unsymbolized: the function's address stands in for its name (still a return probe)
      rec.probeIp = func.startsWith('0x') ? func : '0x' + func
      rec.returnFrom = rec.probeIp
    } else rec.returnFrom = intern(symbolOf(func.split(' ')[0]!))
  } else {
    parseEntryWhere(where, rec)
  }
  const rest = parseArgs(line, close + 1, rec.args)
  if (rest < line.length) rec.text = line.slice(rest).trim() || undefined
  return true
}

/**
 * ` name=value` pairs (kprobe fetchargs, kernel/trace/trace_probe.c): values are `0x…`, decimal, signed,
 * `"string"` (with escapes), `{array}`, `'c'`, `(fault)` or `sym+0x…/0x…`. With options/fields a
 * ` (decimal)` follows each value; it is skipped. Returns the index where parsing stopped (the
 * line length when every token was a pair). `end` bounds the line inside a larger string.
 */
export function parseArgs(line: string, i: number, args: Record<string, string>, end = line.length): number {
  const n = end
  for (;;) {
    i = skipSpaces(line, i)
    if (i >= n) return n
    const ns = i
    while (i < n && isArgNameChar(line.charCodeAt(i))) i++
    if (i === ns || i >= n || line.charCodeAt(i) !== 61 /* = */) return ns
    const name = NAMES.get(line, ns, i)
    const vs = i + 1
    i = argValueEnd(line, vs, n)
    // A name given twice keeps its first value; the normalizer reports it (REPEATED_ARG).
    if (Object.hasOwn(args, name)) (args as Record<string | symbol, string>)[REPEATED_ARG] ??= name
    else args[name] = line.slice(vs, i)
    i = skipFieldsDecimal(line, i, n)
  }
}

/**
 * parseArgs() for a line whose argument names are expected to be `names`, in order (the names of
 * the previous line of the same probe): each name is compared in place instead of being scanned
 * and interned. At the first pair that differs it hands the rest of the line to parseArgs(), so
 * the result is parseArgs()'s whatever the line holds.
 */
export function parseArgsAs(line: string, i: number, args: Record<string, string>, end: number, names: readonly string[]): number {
  const n = end
  for (let k = 0; k < names.length; k++) {
    i = skipSpaces(line, i)
    if (i >= n) return n
    const name = names[k]!
    const len = name.length
    const eq = i + len
    if (eq >= n || line.charCodeAt(eq) !== 61 /* = */) return parseArgs(line, i, args, n)
    if (!line.startsWith(name, i)) return parseArgs(line, i, args, n)
    const vs = eq + 1
    i = argValueEnd(line, vs, n)
    args[name] = line.slice(vs, i)
    i = skipFieldsDecimal(line, i, n)
  }
  return parseArgs(line, i, args, n)
}

/** End of a fetcharg value starting at `i`: `"string"`, `{array}`, `'c'`, `(fault)`, else up to the next space. */
export function argValueEnd(line: string, i: number, n: number): number {
  const c = i < n ? line.charCodeAt(i) : 0
  if (c === 34 /* " */) {
    i++
    while (i < n) {
      const d = line.charCodeAt(i)
      if (d === 92 /* \ */) i += 2
      else if (d === 34) {
        i++
        break
      } else i++
    }
    return i > n ? n : i
  }
  if (c === 123 /* { */) {
    const e = line.indexOf('}', i)
    return e < 0 || e >= n ? n : e + 1
  }
  if (c === 39 /* ' */ && i + 2 < n && line.charCodeAt(i + 2) === 39) return i + 3
  if (c === 40 /* ( */) {
    const e = line.indexOf(')', i)
    return e < 0 || e >= n ? n : e + 1
  }
  const sp = line.indexOf(' ', i)
  return sp < 0 || sp > n ? n : sp
}

/** options/fields: `addr=0xffffc90006084000 (-60473038323712)` — skip the ` (decimal)` after a value. */
export function skipFieldsDecimal(line: string, i: number, n: number): number {
  const k = skipSpaces(line, i)
  if (k < n && line.charCodeAt(k) === 40 && k > i) {
    const e = line.indexOf(')', k)
    if (e > 0 && e < n && /^\(-?\d+\)$/.test(line.slice(k, e + 1))) return e + 1
  }
  return i
}

/**
 * Lenient `name=value` / `name: value` pairs of a tracepoint payload (`va_start: 1844… size=20480
 * …`, `module_put: hello call_site=do_init_module refcnt=1`). Tokens that are neither stay in the
 * record's text, which always holds the whole payload.
 */
export function parseTracepointArgs(payload: string, args: Record<string, string>): void {
  const toks = payload.split(/\s+/)
  for (let t = 0; t < toks.length; t++) {
    const tok = toks[t]!
    const eq = tok.indexOf('=')
    if (eq > 0) {
      args[tok.slice(0, eq)] = tok.slice(eq + 1)
    } else if (tok.length > 1 && tok.endsWith(':') && t + 1 < toks.length && /^[A-Za-z_]\w*:$/.test(tok)) {
      args[tok.slice(0, -1)] = toks[++t]!
    }
  }
}

/**
 * Function tracer body: `func <-parent`, `func+0x6/0xa0 <-parent`, or with func-args
 * `func(a=0x1, b=2) <-parent` / early `func(a = 0x1, b = 2) <-parent` (kernel/trace/trace_output.c
 * print_function_args(), CONFIG_FUNCTION_TRACE_ARGS).
 */
export function parseFunctionBody(body: string, rec: RawRecord): boolean {
  let head = body
  const arrow = body.lastIndexOf(' <-')
  if (arrow >= 0) {
    rec.caller = symbolOf(body.slice(arrow + 3).trim())
    head = body.slice(0, arrow)
  }
  const paren = head.indexOf('(')
  let fn = head
  if (paren > 0 && head.endsWith(')')) {
    fn = head.slice(0, paren)
    const inner = head.slice(paren + 1, -1)
    if (inner.trim()) {
      for (const part of inner.split(',')) {
        const eq = part.indexOf('=')
        if (eq < 0) continue
        rec.args[part.slice(0, eq).trim()] = part.slice(eq + 1).trim()
      }
    }
  }
  fn = fn.trim()
  if (!/^[A-Za-z_.$][\w.$]*(?:\+0x[0-9a-f]+(?:\/0x[0-9a-f]+)?)?$/.test(fn)) return false
  rec.probeSymbol = symbolOf(fn)
  return true
}
