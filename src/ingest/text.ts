/**
 * Input text quoted back to a person: clipped (a message never carries a whole 1 MB line, and
 * oclif's wrapper is quadratic in a message's length) and with control characters escaped (a
 * traced process picks its own comm; a marker is free text: ESC sequences must not reach a
 * terminal).
 */

/** Characters of quoted input kept in a message. */
export const QUOTE_MAX = 120

/**
 * Escape C0 controls (but tab), DEL and C1 controls as `\xNN` (and a backslash before them stays
 * as is): what a terminal would act on is shown, not acted on. Linear; returns `s` itself when
 * there is nothing to escape.
 */
export function escapeControl(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/.test(s)) return s
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g, (c) => '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'))
}

/** At most `max` characters of `s`, control characters escaped, with the full length when clipped. */
export function clipText(s: string, max = QUOTE_MAX): string {
  if (s.length <= max) return escapeControl(s)
  return `${escapeControl(s.slice(0, max))}… (${s.length.toLocaleString('en-US')} characters)`
}

/** clipText() in double quotes, for `got "…"`. */
export function quoteInput(s: string, max = QUOTE_MAX): string {
  if (s.length <= max) return escapeControl(JSON.stringify(s))
  return `${escapeControl(JSON.stringify(s.slice(0, max)))}… (${s.length.toLocaleString('en-US')} characters)`
}
