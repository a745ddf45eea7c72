/**
 * Progress on stderr for long work: an ora spinner with bytes read / total and a rate, only on a
 * TTY, only without --json, only for inputs big enough to wait for. stdout stays the result.
 */
import ora, {type Ora} from 'ora'

import {fmtBytes} from '../report/table.js'

/** Inputs above this size get a spinner. */
export const PROGRESS_MIN_BYTES = 4 << 20

export class Progress {
  private spinner?: Ora
  private lastDraw = 0
  private readonly started = Date.now()
  items = 0

  constructor(
    private readonly enabled: boolean,
    private readonly what = 'events',
  ) {}

  /** Bytes read so far of total (undefined for stdin). */
  bytes = (done: number, total?: number): void => {
    if (!this.enabled) return
    const now = Date.now()
    if (now - this.lastDraw < 150) return
    this.lastDraw = now
    if (!this.spinner) {
      // A TTY that reports no width (serial consoles, some CI ptys) sends ora's line clearing
      // into an endless loop: no spinner there.
      if (!process.stderr.isTTY || !(process.stderr.columns > 0) || (total !== undefined && total < PROGRESS_MIN_BYTES)) return
      this.spinner = ora({stream: process.stderr, text: 'reading'}).start()
    }
    const s = Math.max((now - this.started) / 1000, 0.001)
    this.spinner.text = `${this.label ? this.label + ': ' : ''}read ${fmtBytes(done)}${total ? ' / ' + fmtBytes(total) : ''}, ${Math.round(this.items / s).toLocaleString('en-US')} ${this.what}/s`
  }

  label = ''

  stop(): void {
    this.spinner?.stop()
    this.spinner = undefined
  }
}
