/**
 * Character classes and small skips for the hand-written trace scanners (scan.ts, probe-args.ts
 * and the readers): one left-to-right pass with charCodeAt, no regexes on the hot path.
 */

export const SP = 32
export const TAB = 9
export const C0 = 48
export const C9 = 57

export function isDigit(c: number): boolean {
  return c >= C0 && c <= C9
}

export function isSpace(c: number): boolean {
  return c === SP || c === TAB
}

/** Characters of an event name as tracefs/trace-cmd print it ([A-Za-z0-9_.]). */
export function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= C0 && c <= C9) || c === 95 || c === 46
}

/** Characters allowed in a probe argument name (`$retval`, `arg1`, `ptr.x`). */
export function isArgNameChar(c: number): boolean {
  return isNameChar(c) || c === 36 /* $ */ || c === 45 /* - */
}

export function isHexDigit(c: number): boolean {
  return (c >= C0 && c <= C9) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)
}

export function skipSpaces(line: string, i: number): number {
  const n = line.length
  while (i < n && isSpace(line.charCodeAt(i))) i++
  return i
}

/**
 * Strip an e-mail quote prefix `> `, `>> `, `> > ` (docs/trace-text-quirks.md#text-hygiene). Returns the index where the line
 * proper starts. No tracefs/trace-cmd/perf line starts with '>', so this is safe.
 */
export function quotePrefixEnd(line: string): number {
  let i = 0
  while (i < line.length && line.charCodeAt(i) === 62 /* > */) {
    i++
    if (i < line.length && isSpace(line.charCodeAt(i))) i++
  }
  return i
}
