import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {afterAll, describe, expect, it} from 'vitest'

import {runPool} from '../../src/fleet/pool.js'

const dir = mkdtempSync(join(tmpdir(), 'ptreplay-pool-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

// A worker speaking the pool's protocol: doubles numbers, throws on 13, dies on 99.
const worker = join(dir, 'w.mjs')
writeFileSync(
  worker,
  `import {parentPort, threadId} from 'node:worker_threads'
parentPort.on('message', ({id, input}) => {
  if (input === 99) process.exit(3)
  if (input === 13) return parentPort.postMessage({id, ok: false, error: 'unlucky ' + input})
  setTimeout(() => parentPort.postMessage({id, ok: true, value: {v: input * 2, thread: threadId}}), input % 3)
})
`,
)

describe('runPool with worker threads', () => {
  it('maps every task once, reports failures and a dead worker per task, and pulls inputs lazily', async () => {
    let pulled = 0
    let maxAhead = 0
    let yielded = 0
    function* inputs() {
      for (let i = 0; i < 40; i++) {
        pulled++
        maxAhead = Math.max(maxAhead, pulled - yielded)
        yield i === 20 ? 99 : i
      }
    }
    const seen = new Map<number, unknown>()
    const threads = new Set<number>()
    for await (const o of runPool<number, {v: number; thread: number}>(inputs(), {jobs: 3, workerUrl: pathToFileURL(worker), inline: async () => ({v: 0, thread: 0}), describe: String})) {
      yielded++
      seen.set(o.input, o.ok ? o.value.v : o.error)
      if (o.ok) threads.add(o.value.thread)
    }
    expect(seen.size).toBe(40)
    for (let i = 0; i < 40; i++) {
      if (i === 20) expect(seen.get(99)).toBe('worker died: exit code 3')
      else if (i === 13) expect(seen.get(13)).toBe('unlucky 13')
      else expect(seen.get(i)).toBe(i * 2)
    }
    // Bounded: at most `jobs` in flight plus at most `jobs` finished and not yet taken.
    expect(maxAhead).toBeLessThanOrEqual(2 * 3)
    expect(threads.size).toBeGreaterThan(1)
  })

  it('runs the same function in this thread when there is no worker script', async () => {
    const out: number[] = []
    for await (const o of runPool<number, number>([1, 2, 3], {jobs: 2, inline: async (x) => (x === 2 ? Promise.reject(new Error('two')) : x * 10), describe: (e) => (e as Error).message})) {
      out.push(o.ok ? o.value : -1)
      if (!o.ok) expect(o.error).toBe('two')
    }
    expect(out.sort()).toEqual([-1, 10, 30])
  })
})
