/** What the ptdump reader returns (PtdumpSnapshot), its options, and its fatal error. */
import type {Readable} from 'node:stream'

import type {Geometry, PageSize} from '../../model/geometry.js'
import type {Region} from '../../model/layout.js'
import type {PageTables} from '../../model/pagetable.js'
import type {Diagnostic} from '../events.js'
import {InputError} from '../source.js'
import type {PtdumpEra} from './tables.js'

export interface PtdumpSnapshot {
  /** File name as given, or `<stdin>`. */
  source: string
  geometry: Geometry
  /** One line: how the geometry was decided. */
  geometryReason: string
  /** Marker layout / version family recognised, or 'unknown' (too few markers to tell). */
  era: PtdumpEra | 'unknown'
  /** One line: why this era. */
  eraReason: string
  /**
   * Which BLK meaning the dump showed, when an invalid block was printed: 'bit1' (≤ v6.12, BLK
   * = bit 1 clear, shown on invalid blocks too) or 'sect' (v6.13+, valid blocks only).
   */
  blkScheme?: 'bit1' | 'sect'
  /** From the markers, by address, sorted by start. */
  regions: Region[]
  pt: PageTables
  /** Text lines read. */
  lineCount: number
  /** Range lines read (after rejoining wrapped lines), including dropped ones. */
  rangeLines: number
  /** Range lines without attributes (empty entries, v5.6+). */
  holeLines: number
  /** At most maxDiagnostics of them, in input order. */
  diagnostics: Diagnostic[]
  /** Every diagnostic counted by code, including those beyond maxDiagnostics. */
  diagnosticCounts: Record<string, number>
  /** The bundle directory the snapshot was taken from, when a directory was given. */
  bundle?: string
}

export interface PtdumpOptions {
  pageSize?: PageSize
  vaBits?: number
  /** Stop at the first diagnostic with a PtdumpError. */
  strict?: boolean
  /** Diagnostics kept in the snapshot (all are counted); default 1000. */
  maxDiagnostics?: number
  /** Stream read for path `-` (default process.stdin). */
  stdin?: Readable
  /** For a bundle directory: which `kernel_page_tables.<NAME>` (default `before`). */
  snapshot?: string
}

/** A fatal reader error (strict mode, undecidable geometry): one line `file:line: message`. */
export class PtdumpError extends InputError {
  constructor(
    message: string,
    readonly code: string,
    file?: string,
    line?: number,
  ) {
    super(line !== undefined ? `${file}:${line}: ${message}` : file !== undefined ? `${file}: ${message}` : message, file, line)
    this.name = 'PtdumpError'
  }
}
