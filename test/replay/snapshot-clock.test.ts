/**
 * Placing the snapshots' dumps in trace time from a bundle's steps.log. The expected placements are
 * worked out by hand below: a mark's offset is its trace time minus its steps.log uptime, and a dump
 * is placed at its step's uptime plus the offset of the latest mark seen.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import type {TraceEvent} from '../../src/ingest/events.js'
import {parseStepsLog, secondsToNs, snapshotName, snapshotStep} from '../../src/ingest/steps-log.js'
import {SnapshotClock, type SnapshotWindowPlan, describePlacement, dumpTiming, planSnapshotWindow} from '../../src/replay/snapshot-clock.js'

const S = 1_000_000_000n

function ev(kind: TraceEvent['kind'], tsNs: bigint, text?: string): TraceEvent {
  return {kind, fn: kind === 'marker' ? 'tracing_mark_write' : 'x', probe: 'p', tsNs, cpu: 0, pid: 1, comm: 'init', text, src: {file: 't', line: Number(tsNs / 1_000_000n)}}
}

function plan(steps: string): SnapshotWindowPlan {
  const log = parseStepsLog(steps, 'steps.log')
  return {
    steps: log,
    from: {name: 'a', step: snapshotStep(log, 'a')!, marker: 'ptreplay: kernel_page_tables.a dumped'},
    until: {name: 'b', step: snapshotStep(log, 'b')!, marker: 'ptreplay: kernel_page_tables.b dumped'},
  }
}

async function collect(it: AsyncIterable<TraceEvent[]>): Promise<TraceEvent[]> {
  const out: TraceEvent[] = []
  for await (const b of it) out.push(...b)
  return out
}

const names = (evs: TraceEvent[]): string[] => evs.map((e) => (e.synthetic ? e.text!.replace('ptreplay: kernel_page_tables.', 'dump ').replace(' dumped', '') : `${e.kind}@${e.tsNs}`))

describe('steps.log', () => {
  it('reads `<uptime> <step>` lines exactly and skips the rest', () => {
    const log = parseStepsLog('12.15 init start\nnot a step\n495.13 kernel_page_tables.loaded: 527 lines\n109.19 snap probed: 259 lines\n', 'x')
    expect(log.entries.map((e) => [e.line, e.uptimeNs])).toEqual([
      [1, 12_150_000_000n],
      [3, 495_130_000_000n],
      [4, 109_190_000_000n],
    ])
    expect(snapshotStep(log, 'loaded')?.line).toBe(3)
    expect(snapshotStep(log, 'probed')?.line).toBe(4)
    expect(secondsToNs('0', '000000001')).toBe(1n)
    expect(snapshotName('/x/kernel_page_tables.after.gz')).toBe('after')
    expect(snapshotName('/x/dump.txt')).toBeUndefined()
  })

  it('plans a window only for two dumps of one bundle, logged in order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ptreplay-clock-'))
    try {
      writeFileSync(join(dir, 'steps.log'), '1.00 kernel_page_tables.before: 3 lines\n2.00 capture: x\n3.00 kernel_page_tables.after: 3 lines\n')
      expect(planSnapshotWindow(join(dir, 'kernel_page_tables.before'), join(dir, 'kernel_page_tables.after'))?.until.step.line).toBe(3)
      expect(planSnapshotWindow(join(dir, 'kernel_page_tables.after'), join(dir, 'kernel_page_tables.before'))).toBeUndefined()
      expect(planSnapshotWindow(join(dir, 'kernel_page_tables.before'), join(dir, 'kernel_page_tables.bpf'))).toBeUndefined()
      expect(planSnapshotWindow('/elsewhere/kernel_page_tables.before', join(dir, 'kernel_page_tables.after'))).toBeUndefined()
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

describe('SnapshotClock', () => {
  it('holds events until a mark ties the clocks, then inserts each dump where it belongs', async () => {
    // Mark m1: trace 11.6 s, uptime 11.00 s → offset 0.6 s. Dump a: uptime 10.00 → trace 10.6 s
    // (after e@10.2); dump b: uptime 15.50 → 16.1 s with the offset of m2 (17.0 − 16.40 = 0.6 s
    // too, but m2 comes after b, so m1's offset places b): between e@16.05 and e@16.2.
    const p = plan('10.00 kernel_page_tables.a: 5 lines\n11.00 capture: m1\n15.50 kernel_page_tables.b: 7 lines\n16.40 capture: m2\n')
    const clock = new SnapshotClock(p)
    const evs = [ev('vmap', 10_200_000_000n), ev('marker', 11_600_000_000n, 'capture: m1 '), ev('vunmap', 12n * S), ev('vmap', 16_050_000_000n), ev('vmap', 16_200_000_000n), ev('marker', 17n * S, 'capture: m2')]
    const out = await collect(clock.wrap([evs.slice(0, 2), evs.slice(2)] as unknown as AsyncIterable<TraceEvent[]>))
    expect(names(out)).toEqual(['vmap@10200000000', 'dump a', 'marker@11600000000', 'vunmap@12000000000', 'vmap@16050000000', 'dump b', 'vmap@16200000000', 'marker@17000000000'])
    expect(out.find((e) => e.text === 'ptreplay: kernel_page_tables.b dumped')?.tsNs).toBe(16_100_000_000n)
    const d = describePlacement(clock)
    expect(d).toMatchObject({placed: true, marksAligned: 2, offsetSeconds: ['0.6', '0.6']})
    expect(d.cuts.map((c) => c.traceSeconds)).toEqual(['10.6', '16.1'])
    // The offsets agree, so the tolerance is the 10 ms floor (steps.log's centiseconds).
    expect(dumpTiming(clock, 16384)?.toleranceNs).toBe(10_000_000n)
  })

  it('a dump after the last event is placed after it; a gap over the tolerance means the trace had ended', async () => {
    const clock = new SnapshotClock(plan('1.00 capture: go\n1.50 kernel_page_tables.a: 1 lines\n9.00 kernel_page_tables.b: 1 lines\n'))
    // offset: 2.0 − 1.00 = 1 s; a at 2.5 s, b at 10 s, last event 3 s.
    const out = await collect(clock.wrap([ev('marker', 2n * S, 'capture: go'), ev('vmap', 3n * S)]))
    expect(names(out)).toEqual(['marker@2000000000', 'dump a', 'vmap@3000000000', 'dump b'])
    expect(describePlacement(clock).cuts.map((c) => c.edge)).toEqual([undefined, 'after-trace'])
    expect(dumpTiming(clock, 16384)?.afterTrace).toEqual({lastEventSeconds: '3'})
  })

  it('a dump the capture marked in the trace itself (ptreplay capture-script) is cut at that marker exactly', async () => {
    // steps.log alone would place b at 5.00 + (2.0 − 1.00) = 6.0 s; the capture's own marker
    // "ptreplay: kernel_page_tables.b dumped" at 5.5 s wins, and the engine cuts there.
    const clock = new SnapshotClock(plan('1.00 capture: go\n1.50 kernel_page_tables.a: 1 lines\n5.00 kernel_page_tables.b: 1 lines\n'))
    const out = await collect(clock.wrap([ev('marker', 2n * S, 'capture: go'), ev('vmap', 3n * S), ev('marker', 5_500_000_000n, 'ptreplay: kernel_page_tables.b dumped'), ev('vmap', 5_700_000_000n)]))
    expect(names(out)).toEqual(['marker@2000000000', 'dump a', 'vmap@3000000000', 'marker@5500000000', 'vmap@5700000000'])
    expect(describePlacement(clock).cuts.map((c) => [c.traceSeconds, c.edge])).toEqual([
      ['2.5', undefined],
      ['5.5', 'marker'],
    ])
  })

  it('without a mark in both files it gives up and says why: the whole trace', async () => {
    const clock = new SnapshotClock(plan('1.00 kernel_page_tables.a: 1 lines\n2.00 kernel_page_tables.b: 1 lines\n'))
    const out = await collect(clock.wrap([ev('marker', 5n * S, 'capture: other'), ev('vmap', 6n * S)]))
    expect(names(out)).toEqual(['dump a', 'marker@5000000000', 'vmap@6000000000', 'dump b'])
    const d = describePlacement(clock)
    expect(d.placed).toBe(false)
    expect(d.why).toMatch(/no trace_marker text/)
    expect(dumpTiming(clock, 16384)).toBeUndefined()
  })
})
