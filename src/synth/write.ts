/**
 * Stream generated lines to a file (through a temp file renamed into place, removed on failure)
 * or to stdout, in 1 MiB chunks with backpressure, so a 10 M-event workload never sits in memory.
 */
import {openOutput} from '../report/atomic-file.js'

const CHUNK = 1 << 20

export interface WriteStats {
  lines: number
  bytes: number
}

/** Write `lines` (no newlines) to `path`, or to stdout when path is undefined or '-'. */
export async function writeLines(lines: Iterable<string>, path?: string): Promise<WriteStats> {
  const w = openOutput(path ?? '-')
  const put = (t: string) => w.write(t)
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
    await w.commit()
  } catch (e) {
    w.abort()
    throw e
  }
  return stats
}
