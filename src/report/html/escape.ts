/**
 * Escaping for everything that reaches the page. Strings from a capture (comm, symbols, module
 * names, file names) are untrusted: a comm of `<script>` must show as text.
 */

const HTML: Record<string, string> = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}

/** Text or attribute value → HTML-safe text. */
export function escapeHtml(s: string): string {
  return String(s).replace(/[&<>"']/g, (c) => HTML[c]!)
}

/**
 * JSON for a `<script type="application/json">` block: `<` is written as \u003c so no value can
 * close the script element or open a comment; U+2028/2029 are escaped for old parsers.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')
}
