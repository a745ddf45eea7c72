/** The options of readTrace() (index.ts), which the per-file reading (file-events.ts) takes too. */
import type {Kva} from '../../model/address.js'

export interface TraceReadOptions {
  /** Reader name (`tracefs`, `trace-cmd`, `perf`, …); default: detected per file from its first lines. */
  format?: string
  /** `--map NAME=KIND` (see normalize.ts). */
  map?: Record<string, string>
  /** PAGE_SIZE of the traced kernel. Default 4096. */
  pageSize?: number
  /** VMEMMAP_START and PAGE_OFFSET of the traced kernel: set_direct_map_*(struct page *) → VA. */
  vmemmapStart?: Kva
  pageOffset?: Kva
  /** sizeof(struct page), default 64. */
  structPageSize?: number
  /** Fail on the first malformed line instead of skipping it. */
  strict?: boolean
  /** Sorter window in events per file (default: the reader's sortWindow, else 8192). */
  window?: number
  /**
   * Bytes read so far (as stored: compressed bytes of a compressed file), of `total` on disk
   * (undefined with stdin), `expected`: the text the inputs decode to (expected-size.ts), and
   * `decoded`: the text decoded so far.
   */
  onProgress?: (bytesRead: number, total?: number, expected?: number, decoded?: number) => void
}
