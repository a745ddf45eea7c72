/**
 * A failure inside compressed data, at a byte offset of the compressed input. source.ts turns it
 * into `InputError("<file>:<offset>: <message>")` (file:offset, as the trace.dat reader does: the
 * decoded line number says nothing about where in the compressed file the damage is).
 */
export class CompressedDataError extends Error {
  constructor(
    message: string,
    /** Byte offset in the compressed input. */
    readonly offset: number,
  ) {
    super(message)
  }
}
