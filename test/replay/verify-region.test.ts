/**
 * verify over one region: how a difference is classified (which call touched it, inside or
 * outside the window, between which markers) and when a region is not verifiable. The expected
 * verdicts follow from the rules in src/replay/verify.ts's header, worked by hand per case.
 */
import {describe, expect, it} from 'vitest'

import type {TraceEvent} from '../../src/ingest/events.js'
import {formatKva, pageOffsetKva} from '../../src/model/address.js'
import {makeGeometry} from '../../src/model/geometry.js'
import type {Region} from '../../src/model/layout.js'
import {PageTables} from '../../src/model/pagetable.js'
import {HOLE, type Run} from '../../src/model/run.js'
import {HW, P_AF, P_PXN, P_RDONLY, P_UXN, P_VALID, withMemType} from '../../src/model/prot.js'
import type {Intent} from '../../src/replay/intents.js'
import {verifyRegion} from '../../src/replay/verify-region.js'
import {TouchRecorder, describeCall} from '../../src/replay/verify-touches.js'

const geo = makeGeometry(4096, 48)
const G = 2 ** 30
const M2 = 2 ** 21
const K4 = 4096
const RW = withMemType(P_VALID | P_AF | P_PXN | P_UXN, 'MEM/NORMAL-TAGGED')
const RO = RW | P_RDONLY
const base = pageOffsetKva(48)
const linear: Region = {name: 'linear', start: base, end: base + 512 * G}
const vmalloc: Region = {name: 'vmalloc', start: base + 1024 * G, end: base + 2048 * G}

function run(start: number, end: number, lvl: number, prot = RW, cont = false): Run {
  return {start: base + start, end: base + end, lvl, cont, prot, flags: 0}
}

/** 2M of PTEs at the start of the linear map, `ro` pages made read-only. */
function model(ro: number[] = []): PageTables {
  const runs: Run[] = []
  let pos = 0
  for (const p of [...ro].sort((a, b) => a - b)) {
    if (p * K4 > pos) runs.push(run(pos, p * K4, 0))
    runs.push(run(p * K4, (p + 1) * K4, 0, RO))
    pos = (p + 1) * K4
  }
  runs.push(run(pos, M2, 0), run(M2, G, 1, HOLE), run(G, 512 * G, 2, HOLE))
  return PageTables.fromRuns(geo, runs)
}

let line = 0
function ev(kind: TraceEvent['kind'], fn: string, fields: Partial<TraceEvent> = {}): TraceEvent {
  line++
  return {kind, fn, probe: fn, tsNs: BigInt(line) * 1000n, cpu: 0, pid: 7, comm: 't', src: {file: 'trace.txt', line}, ...fields}
}
function setMemoryValid(page: number, enable: boolean): TraceEvent {
  return ev('set_memory_valid', 'set_memory_valid', {addr: base + page * K4, pages: 1, enable})
}
function marker(text: string): TraceEvent {
  return ev('marker', 'tracing_mark_write', {text})
}
function intent(e: TraceEvent): Intent {
  return {type: e.kind === 'marker' ? 'marker' : (e.kind as Intent['type']), ev: e, nested: []}
}

describe('verifyRegion: classification of a difference', () => {
  const predicted = model()
  const actual = model([5])

  it('no call touched the page: not explained (untraced), with the nearest calls below and above', () => {
    const rec = new TouchRecorder([linear], K4)
    rec.onIntent(intent(setMemoryValid(2, false)), {})
    rec.onIntent(intent(setMemoryValid(9, false)), {})
    const r = verifyRegion(predicted, actual, linear, rec)
    expect(r.status).toBe('differs')
    expect(r.differingRanges).toBe(1)
    const d = r.differences[0]!
    expect([d.start, d.end]).toEqual([formatKva(base + 5 * K4), formatKva(base + 6 * K4)])
    expect(d.cause).toBe('untraced')
    expect(d.explainedByTrace).toBe(false)
    expect(d.predicted).toEqual([run(5 * K4, 6 * K4, 0, RW)])
    expect(d.actual).toEqual([run(5 * K4, 6 * K4, 0, RO)])
    expect(d.nearest.below?.call).toBe(`set_memory_valid(${formatKva(base + 2 * K4)}, 1, enable=0)`)
    expect(d.nearest.above?.at).toMatch(/^trace\.txt:\d+$/)
    expect(r.notExplained).toBe(1)
  })

  it('no placed call touched it but the replay left alias updates unplaced: the replay\'s gap, never "no traced call"', () => {
    const rec = new TouchRecorder([linear], K4)
    rec.onIntent(intent(setMemoryValid(2, false)), {})
    const r = verifyRegion(predicted, actual, linear, rec, {unplacedAliasPages: 3})
    const d = r.differences[0]!
    expect(d.cause).toBe('replay')
    expect(d.note).toMatch(/could not place 3 linear-alias page update/)
    expect(d.note).not.toMatch(/no traced call/)
  })

  it('a call in the window touched it: the replay disagrees with the kernel (explained by the trace)', () => {
    const rec = new TouchRecorder([linear], K4)
    const e = setMemoryValid(5, true)
    rec.onIntent(intent(e), {})
    const r = verifyRegion(predicted, actual, linear, rec)
    const d = r.differences[0]!
    expect(d.cause).toBe('replay')
    expect(d.explainedByTrace).toBe(true)
    expect(d.lastTouch?.at).toBe(`trace.txt:${e.src.line}`)
    expect(r.notExplained).toBe(0)
  })

  it('the last call on it falls between the last marker and the until-marker: timing, not explained', () => {
    const rec = new TouchRecorder([linear], K4)
    rec.onIntent(intent(setMemoryValid(5, true)), {})
    rec.onIntent(intent(marker('capture: insmod phase end')), undefined)
    rec.onIntent(intent(setMemoryValid(5, true)), {})
    rec.onIntent(intent(marker('capture: bpf phase begin')), undefined)
    const r = verifyRegion(predicted, actual, linear, rec, {untilMarker: 'capture: bpf phase begin', untilFound: true})
    const d = r.differences[0]!
    expect(d.cause).toBe('timing')
    expect(d.note).toContain('"capture: insmod phase end"')
    // Before that marker, the same call would have been the replay's fault.
    const rec2 = new TouchRecorder([linear], K4)
    rec2.onIntent(intent(setMemoryValid(5, true)), {})
    rec2.onIntent(intent(marker('capture: insmod phase end')), undefined)
    rec2.onIntent(intent(marker('capture: bpf phase begin')), undefined)
    expect(verifyRegion(predicted, actual, linear, rec2, {untilMarker: 'capture: bpf phase begin', untilFound: true}).differences[0]!.cause).toBe('replay')
  })

  it('only a call just before the from-marker touched it: timing; an older one: untraced', () => {
    const rec = new TouchRecorder([linear], K4, 'capture: bpf phase begin')
    rec.onOutsideWindow(setMemoryValid(9, false), 'before')
    rec.onOutsideWindow(marker('capture: insmod phase end'), 'before')
    rec.onOutsideWindow(setMemoryValid(5, false), 'before')
    rec.onOutsideWindow(ev('change_range', '__change_memory_common', {addr: base + 5 * K4, size: K4, setMask: 0n, clearMask: HW.PTE_VALID}), 'before')
    rec.onOutsideWindow(marker('capture: bpf phase begin'), 'before')
    const both = model([5, 9])
    const r = verifyRegion(predicted, both, linear, rec, {fromMarker: 'capture: bpf phase begin'})
    expect(r.differences.map((d) => d.cause)).toEqual(['timing', 'untraced'])
    // The inner __change_memory_common hit is named by its caller.
    expect(r.differences[0]!.nearest.beforeWindow?.fn).toBe('set_memory_valid')
    expect(r.differences[1]!.nearest.beforeWindow?.call).toContain('set_memory_valid')
  })

  it('the first call after the window on the range is shown', () => {
    const rec = new TouchRecorder([linear], K4)
    rec.onOutsideWindow(setMemoryValid(5, false), 'after')
    rec.onOutsideWindow(setMemoryValid(5, true), 'after')
    const d = verifyRegion(predicted, actual, linear, rec).differences[0]!
    expect(d.nearest.afterWindow?.call).toContain('enable=0')
  })
})

describe('verifyRegion: not verifiable', () => {
  const vm = (mapped: boolean): PageTables =>
    PageTables.fromRuns(geo, [
      run(0, M2, 0),
      run(M2, G, 1, HOLE),
      run(G, 1024 * G, 2, HOLE),
      {start: vmalloc.start, end: vmalloc.start + 4 * K4, lvl: 0, cont: false, prot: mapped ? RW : HOLE, flags: 0},
      {start: vmalloc.start + 4 * K4, end: vmalloc.start + M2, lvl: 0, cont: false, prot: HOLE, flags: 0},
      {start: vmalloc.start + M2, end: vmalloc.start + G, lvl: 1, cont: false, prot: HOLE, flags: 0},
    ])

  it('a vm area appearing without alloc events makes the region not verifiable, with the reason', () => {
    const rec = new TouchRecorder([linear, vmalloc], K4)
    const r = verifyRegion(vm(false), vm(true), vmalloc, rec)
    expect(r.status).toBe('not-verifiable')
    expect(r.presence).toMatchObject({appearedBytes: 4 * K4, appearedRanges: 1, disappearedBytes: 0})
    expect(r.reasons).toEqual([{kind: 'untraced-mappings', presence: r.presence, vmEvents: 0}])
    expect(verifyRegion(vm(false), vm(true), linear, rec).status).toBe('match')
  })

  it('traced calls on memory the starting snapshot does not map make their region not verifiable', () => {
    const rec = new TouchRecorder([linear, vmalloc], K4)
    const e = ev('set_memory', 'set_memory_ro', {addr: vmalloc.start + 8 * K4, pages: 2, op: 'ro'})
    rec.onIntent(intent(e), {unknownMemory: true})
    const r = verifyRegion(vm(true), vm(true), vmalloc, rec)
    expect(r.status).toBe('not-verifiable')
    expect(r.callsOnUnknownMemory).toBe(1)
    expect(r.reasons).toMatchObject([{kind: 'unknown-memory', count: 1, first: {call: describeCall(e), at: `trace.txt:${e.src.line}`}}])
  })
})
