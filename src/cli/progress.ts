/**
 * Progress on stderr for long work: an ora spinner whose text is a bar with the percentage done,
 * the pass (compare: one per policy), the rate and an ETA (progress-estimate.ts does the
 * arithmetic). Only on a terminal stderr that reports its width, never under --json, never in CI
 * (`CI` set) or on TERM=dumb, ASCII and uncoloured with NO_COLOR; stdout stays the result. A run
 * is "long" by its expected work — the text the inputs decode to (a .gz's own size field) times
 * the passes — not by the bytes on disk: a 2.4 MB .gz holding 57 MB of trace replayed under five
 * policies gets a bar. From stdin (no size) a spinner with bytes read and the rate.
 *
 * ora (and what it pulls in: chalk, cli-cursor, string-width, …) is imported once a bar is wanted,
 * not with the command: most runs draw none (--json, piped, short input), and the import costs
 * about half of `node -e 0`'s start-up. The bar appears from the first report after it loaded.
 */
import type {Ora} from 'ora'

import {fmtBytes} from '../report/table.js'
import {PROGRESS_MIN_WORK, expectedWork, fractionDone, passFraction, progressLine} from './progress-estimate.js'

/** Where progress may be drawn: a terminal with a width, not CI, not a dumb terminal. */
export function progressAllowed(stream: {isTTY?: boolean; columns?: number}, env: NodeJS.ProcessEnv = process.env): boolean {
  // A TTY that reports no width (serial consoles, some CI ptys) sends ora's line clearing into an
  // endless loop; CI logs keep every redraw.
  return stream.isTTY === true && (stream.columns ?? 0) > 0 && env.CI === undefined && env.TERM !== 'dumb'
}

export class Progress {
  private spinner?: Ora
  /** ora's default export, once imported (the import starts when a bar is first wanted). */
  private ora?: typeof import('ora').default
  private stopped = false
  private lastDraw = 0
  private readonly started = Date.now()
  private passStarted = Date.now()
  private currentPass = 0
  /** Decided on the first report: false once the run is known to be short (or progress is not allowed). */
  private wanted?: boolean
  items = 0
  label = ''

  constructor(
    private readonly enabled: boolean,
    private readonly what = 'events',
    /** Passes over the inputs (compare: the policies). */
    private readonly passes = 1,
  ) {}

  /** The pass now starting (0-based); resets the per-pass rate. */
  set pass(i: number) {
    this.currentPass = i
    this.passStarted = Date.now()
    this.items = 0
  }

  get pass(): number {
    return this.currentPass
  }

  /** Bytes read so far of total on disk (undefined: stdin), and the text expected from the inputs. */
  bytes = (done: number, total?: number, expected?: number, decoded?: number): void => {
    if (!this.enabled || this.wanted === false) return
    const now = Date.now()
    if (now - this.lastDraw < 150) return
    this.lastDraw = now
    if (this.wanted === undefined) {
      const work = expectedWork(total === undefined ? undefined : (expected ?? total), this.passes)
      this.wanted = progressAllowed(process.stderr) && (work === undefined || work >= PROGRESS_MIN_WORK)
      if (!this.wanted) return
      import('ora').then(
        (m) => (this.ora = m.default),
        () => (this.wanted = false),
      )
    }
    if (!this.ora || this.stopped) return
    const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== ''
    if (!this.spinner) {
      this.spinner = this.ora({stream: process.stderr, text: 'reading', color: noColor ? false : 'cyan', spinner: noColor ? 'line' : 'dots', discardStdin: false}).start()
    }
    const s = Math.max((now - this.passStarted) / 1000, 0.001)
    const rate = `${Math.round(this.items / s).toLocaleString('en-US')} ${this.what}/s`
    if (total === undefined) {
      this.spinner.text = `${this.label ? this.label + ': ' : ''}read ${fmtBytes(done)}, ${rate}`
      return
    }
    this.spinner.text = progressLine({
      label: this.label || undefined,
      fraction: fractionDone(this.currentPass, this.passes, passFraction(done, total, decoded, expected)),
      pass: this.currentPass,
      passes: this.passes,
      elapsedMs: now - this.started,
      rate,
      ascii: noColor,
      columns: process.stderr.columns ?? 80,
    })
  }

  stop(): void {
    this.stopped = true
    this.spinner?.stop()
    this.spinner = undefined
  }
}
