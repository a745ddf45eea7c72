/**
 * Stream generated lines to a file (through a temp file renamed into place, removed on failure)
 * or to stdout, in 1 MiB chunks with backpressure, so a 10 M-event workload never sits in memory.
 */
import {AtomicWriter} from '../report/events-export.js'

const CHUNK = 1 << 20

export interface WriteStats {
  lines: number
  bytes: number
}

async function writeStdout(text: string): Promise<void> {
  if (!process.stdout.write(text)) await new Promise<void>((resolve) => process.stdout.once('drain', () => resolve()))
}

/** Write `lines` (no newlines) to `path`, or to stdout when path is undefined or '-'. */
export async function writeLines(lines: Iterable<string>, path?: string): Promise<WriteStats> {
  const toFile = path !== undefined && path !== '-'
  const w = toFile ? new AtomicWriter(path) : undefined
  const put = (t: string) => (w ? w.write(t) : writeStdout(t))
  let buf: string[] = []
  let size = 0
  const stats: WriteStats = {lines: 0, bytes: 0}
  try {
    for (const l of lines) {
      buf.push(l)
      size += l.length + 1
      stats.lines++
      if (size >= CHUNK) {
        const t = buf.join('\n') + '\n'
        stats.bytes += Buffer.byteLength(t)
        await put(t)
        buf = []
        size = 0
      }
    }
    if (buf.length) {
      const t = buf.join('\n') + '\n'
      stats.bytes += Buffer.byteLength(t)
      await put(t)
    }
    if (w) await w.commit()
  } catch (e) {
    w?.abort()
    throw e
  }
  return stats
}
