/** Time ordering (src/ingest/sorter.ts): stable, bounded, per-CPU order kept, problems surfaced. */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import type {Diagnostic} from '../../src/ingest/events.js'
import {mergeSorted, WindowSorter} from '../../src/ingest/sorter.js'

interface Ev {
  tsNs: bigint
  cpu: number
  src: {file: string; line: number}
  id: string
}

function ev(ts: number, cpu: number, id: string, file = 'f'): Ev {
  return {tsNs: BigInt(ts), cpu, id, src: {file, line: 1}}
}

function sortAll(evs: Ev[], window = 8) {
  const stats = {clockBackwards: 0, lateEvents: 0}
  const diags: Diagnostic[] = []
  const s = new WindowSorter<Ev>(stats, (d) => diags.push(d), window)
  const out: Ev[] = []
  for (const e of evs) s.push(e, out)
  s.flush(out)
  return {ids: out.map((e) => e.id), stats, diags}
}

async function* batches(evs: Ev[], size = 2): AsyncGenerator<Ev[]> {
  for (let i = 0; i < evs.length; i += size) yield evs.slice(i, i + size)
}

async function collect(it: AsyncIterable<Ev[]>): Promise<string[]> {
  const ids: string[] = []
  for await (const b of it) for (const e of b) ids.push(e.id)
  return ids
}

describe('WindowSorter', () => {
  it('reorders a trace_pipe-like interleaving of two CPUs within the window', () => {
    // CPU1's event at 5 was committed late and printed after CPU0's 6 and 7
    const r = sortAll([ev(1, 0, 'a'), ev(6, 0, 'b'), ev(7, 0, 'c'), ev(5, 1, 'd'), ev(8, 1, 'e')])
    expect(r.ids).toEqual(['a', 'd', 'b', 'c', 'e'])
    expect(r.diags).toEqual([])
  })

  it('is stable: equal timestamps keep input order', () => {
    const r = sortAll([ev(5, 0, 'a'), ev(5, 1, 'b'), ev(5, 0, 'c'), ev(4, 2, 'd'), ev(5, 1, 'e')])
    expect(r.ids).toEqual(['d', 'a', 'b', 'c', 'e'])
  })

  it('never reorders one CPU: a backwards timestamp is a clock problem, reported and kept in place', () => {
    const r = sortAll([ev(10, 0, 'a'), ev(12, 0, 'b'), ev(11, 0, 'c'), ev(11, 1, 'x')])
    expect(r.ids).toEqual(['a', 'x', 'b', 'c'])
    expect(r.stats.clockBackwards).toBe(1)
    expect(r.diags[0]!.code).toBe('clock')
    expect(r.diags[0]!.message).toMatch(/^f:1: timestamp 0\.000000011 on CPU 0 is earlier/)
  })

  it('disorder beyond the window: emitted at once and reported as late, never hidden', () => {
    const evs = [ev(10, 0, 'a'), ev(11, 0, 'b'), ev(12, 0, 'c'), ev(13, 0, 'd'), ev(1, 1, 'late')]
    const r = sortAll(evs, 2)
    expect(r.ids).toEqual(['a', 'b', 'late', 'c', 'd'])
    expect(r.stats.lateEvents).toBe(1)
    expect(r.diags.map((d) => d.code)).toEqual(['late'])
  })

  it('property: output is a permutation, sorted when the disorder fits the window, per-CPU order kept', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ts: fc.integer({min: 0, max: 50}), cpu: fc.integer({min: 0, max: 3})}), {maxLength: 60}), (xs) => {
        // per-CPU monotonic input (as the kernel records it), arbitrary interleaving across CPUs
        const last = new Map<number, number>()
        const evs = xs.map((x, i) => {
          const ts = Math.max(x.ts, last.get(x.cpu) ?? 0)
          last.set(x.cpu, ts)
          return ev(ts, x.cpu, String(i))
        })
        const r = sortAll(evs, 64)
        expect([...r.ids].sort()).toEqual(evs.map((e) => e.id).sort())
        const byId = new Map(evs.map((e) => [e.id, e]))
        const out = r.ids.map((id) => byId.get(id)!)
        for (let i = 1; i < out.length; i++) expect(out[i]!.tsNs >= out[i - 1]!.tsNs).toBe(true)
        for (const cpu of [0, 1, 2, 3]) {
          const ids = out.filter((e) => e.cpu === cpu).map((e) => Number(e.id))
          expect(ids).toEqual([...ids].sort((a, b) => a - b))
        }
        expect(r.diags).toEqual([])
      }),
    )
  })
})

describe('mergeSorted', () => {
  it('merges per-file streams by time; ties go to the earlier file', async () => {
    const f1 = [ev(1, 0, 'a1'), ev(3, 0, 'a3'), ev(5, 0, 'a5')]
    const f2 = [ev(2, 1, 'b2'), ev(3, 1, 'b3'), ev(6, 1, 'b6')]
    expect(await collect(mergeSorted([batches(f1), batches(f2)]))).toEqual(['a1', 'b2', 'a3', 'b3', 'a5', 'b6'])
  })

  it('a failing source: everything read is delivered first, then its error', async () => {
    async function* failing(): AsyncGenerator<Ev[]> {
      yield [ev(2, 1, 'b2')]
      throw new Error('truncated')
    }
    const got: string[] = []
    await expect(
      (async () => {
        for await (const b of mergeSorted([batches([ev(1, 0, 'a1'), ev(3, 0, 'a3')]), failing()])) for (const e of b) got.push(e.id)
      })(),
    ).rejects.toThrow('truncated')
    expect(got).toEqual(['a1', 'b2', 'a3'])
  })
})
