/**
 * Registry of trace readers by format name (`--format NAME`). Built-in line readers register
 * themselves in index.ts; other modules (bpftrace, CSV) call registerReader() at load time.
 */
import type {TraceReader} from './types.js'

export const READERS: Record<string, TraceReader> = Object.create(null)

export function registerReader(reader: TraceReader): void {
  READERS[reader.name] = reader
}

export function readerNames(): string[] {
  return Object.keys(READERS)
}
