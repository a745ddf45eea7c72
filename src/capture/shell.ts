/** Shell quoting for the generated capture script. */

/** Single-quote a string for sh. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}
