/**
 * A pool of worker threads that maps a lazily produced stream of tasks to results, at most
 * `jobs` in flight, results yielded as they complete (not in input order). Inputs are pulled only
 * when a worker is free, so neither the task list nor the results are ever held whole: memory is
 * bounded by `jobs` whatever the number of tasks.
 *
 * The worker script answers `{id, input}` messages with `{id, ok, value | error}`. A task whose
 * worker dies is reported as that task's error and the worker is replaced. Without a worker
 * script (running from TypeScript sources, where no compiled worker exists) the same function runs
 * in this thread, `jobs` tasks interleaved at their awaits.
 */
import {Worker} from 'node:worker_threads'

export type PoolOutcome<I, O> = {input: I; ok: true; value: O} | {input: I; ok: false; error: string}

export interface PoolOptions<I, O> {
  jobs: number
  /** Worker script (compiled JS); undefined → run `inline` in this thread. */
  workerUrl?: URL
  /** Passed to every worker as workerData. */
  workerData?: unknown
  /** The task function, for the in-thread mode (the worker runs the same one). */
  inline: (input: I) => Promise<O>
  /** Turns a thrown error into its one-line report. */
  describe: (e: unknown) => string
}

interface Slot<I> {
  worker?: Worker
  task?: {id: number; input: I}
}

export async function* runPool<I, O>(inputs: AsyncIterable<I> | Iterable<I>, opts: PoolOptions<I, O>): AsyncGenerator<PoolOutcome<I, O>> {
  const jobs = Math.max(1, Math.floor(opts.jobs))
  const it = Symbol.asyncIterator in inputs ? (inputs as AsyncIterable<I>)[Symbol.asyncIterator]() : (inputs as Iterable<I>)[Symbol.iterator]()
  const done: PoolOutcome<I, O>[] = []
  let wake: (() => void) | undefined
  const notify = () => {
    const w = wake
    wake = undefined
    w?.()
  }
  let exhausted = false
  let inFlight = 0
  let nextId = 0
  let pulling = false
  const slots: Slot<I>[] = Array.from({length: jobs}, () => ({}))

  const finish = (slot: Slot<I>, outcome: PoolOutcome<I, O>) => {
    slot.task = undefined
    inFlight--
    done.push(outcome)
    notify()
  }

  const spawn = (slot: Slot<I>): Worker => {
    const w = new Worker(opts.workerUrl!, {workerData: opts.workerData})
    w.on('message', (m: {id: number; ok: boolean; value?: O; error?: string}) => {
      const t = slot.task
      if (!t || t.id !== m.id) return
      finish(slot, m.ok ? {input: t.input, ok: true, value: m.value as O} : {input: t.input, ok: false, error: m.error ?? 'failed'})
    })
    const died = (why: string) => {
      if (slot.worker !== w) return
      slot.worker = undefined
      const t = slot.task
      if (t) finish(slot, {input: t.input, ok: false, error: `worker died: ${why}`})
    }
    w.on('error', (e) => died(e.message))
    w.on('exit', (code) => died(`exit code ${code}`))
    slot.worker = w
    return w
  }

  const start = (slot: Slot<I>, input: I) => {
    const task = {id: nextId++, input}
    slot.task = task
    inFlight++
    if (!opts.workerUrl) {
      opts.inline(input).then(
        (value) => finish(slot, {input, ok: true, value}),
        (e: unknown) => finish(slot, {input, ok: false, error: opts.describe(e)}),
      )
      return
    }
    ;(slot.worker ?? spawn(slot)).postMessage(task)
  }

  /** Fill free slots from the input (one pull at a time). */
  const fill = async () => {
    if (pulling) return
    pulling = true
    try {
      for (const slot of slots) {
        if (exhausted) break
        if (slot.task) continue
        const r = await it.next()
        if (r.done) {
          exhausted = true
          break
        }
        start(slot, r.value)
      }
    } finally {
      pulling = false
    }
  }

  try {
    for (;;) {
      await fill()
      while (done.length) yield done.shift()!
      if (exhausted && inFlight === 0) break
      if (inFlight === 0) continue
      await new Promise<void>((resolve) => {
        wake = resolve
        if (done.length) notify()
      })
    }
  } finally {
    for (const s of slots) {
      const w = s.worker
      s.worker = undefined
      if (w) await w.terminate()
    }
  }
}
