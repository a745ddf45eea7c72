/**
 * Worker thread of the parallel reader (parallel.ts): reads the ranges it is sent, one at a time,
 * and answers each with its batches and events (parallel-chunk.ts), the event array transferred.
 */
import {parentPort, workerData} from 'node:worker_threads'

import type {NormalizeOptions} from '../normalize.js'
import {type ChunkTask, parseChunk} from './parallel-chunk.js'

const norm = (workerData ?? {}) as NormalizeOptions
let queue: Promise<void> = Promise.resolve()

parentPort!.on('message', (task: ChunkTask) => {
  queue = queue.then(() =>
    parseChunk(task, norm).then(
      (r) => parentPort!.postMessage(r, [r.events.buffer as ArrayBuffer, r.ends.buffer as ArrayBuffer]),
      (e: unknown) => parentPort!.postMessage({id: task.id, fail: e instanceof Error ? e.message : String(e)}),
    ),
  )
})
