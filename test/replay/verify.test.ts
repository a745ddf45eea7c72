/**
 * verify's comparison: how a difference is classified (which call touched it, inside or outside
 * the window, between which markers), when a region is not verifiable, and the round-trip
 * property: a replay verified against its own output, rendered as ptdump text and parsed back,
 * is an exact match — and a one-run change to that output is found, exactly there, with the
 * right explanation.
 */
import {readFileSync} from 'node:fs'

import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import type {TraceEvent} from '../../src/ingest/events.js'
import {type PtdumpSnapshot, parsePtdump} from '../../src/ingest/ptdump/index.js'
import {formatKva, pageOffsetKva} from '../../src/model/address.js'
import {makeGeometry} from '../../src/model/geometry.js'
import type {Region} from '../../src/model/layout.js'
import {PageTables} from '../../src/model/pagetable.js'
import {HOLE, type Run} from '../../src/model/run.js'
import {HW, P_AF, P_PXN, P_RDONLY, P_UXN, P_VALID, withMemType} from '../../src/model/prot.js'
import type {Intent} from '../../src/replay/intents.js'
import {loadFacts} from '../../src/capture/facts.js'
import {choosePolicy, runReplayEvents} from '../../src/replay/run.js'
import {renderPtdump} from '../../src/report/ptdump-text.js'
import {renderVerifyText, verifyResult} from '../../src/report/verify.js'
import {compareReplay, verifyRegion} from '../../src/replay/verify.js'
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

// ---------------------------------------------------------------------------------------------
// Property: verify(replay, render(replay)) is an exact match.

function snapshotOf(path: string): PtdumpSnapshot {
  return parsePtdump(readFileSync(path, 'utf8'), path)
}

const CAPTURES = [
  // Block-mapped, split on demand (bbml2): splits happen.
  {path: 'samples/linux-6.19-bbml2-qemu/max-2G-default/kernel_page_tables.loaded', fn: 'update_range_prot'},
  // PTE-only (pte-only): permission changes only.
  {path: 'samples/debian-6.1-qemu/max-2G-default/kernel_page_tables.before', fn: '__change_memory_common'},
]

/** Pages of the linear map that are mapped (valid) in the snapshot, as [start, end) spans. */
function mappedLinear(s: PtdumpSnapshot): {start: number; end: number}[] {
  const lin = s.regions.find((r) => r.name === 'linear')!
  return [...s.pt.runs(lin.start, lin.end)].filter((r) => r.prot !== HOLE && (r.prot & P_VALID) !== 0).map((r) => ({start: r.start, end: r.end}))
}

const MASKS: [bigint, bigint][] = [
  [HW.PTE_RDONLY, HW.PTE_WRITE], // set_memory_ro
  [HW.PTE_WRITE, HW.PTE_RDONLY], // set_memory_rw
  [HW.PTE_PXN, 0n], // set_memory_nx
  [0n, HW.PTE_PXN], // set_memory_x
]

describe('property: verify of a replay against its own rendered output', () => {
  for (const cap of CAPTURES) {
    const snap = snapshotOf(cap.path)
    const choice = choosePolicy('auto', {}, snap, loadFacts(cap.path).facts)
    const spans = mappedLinear(snap)
    const era = snap.era === 'unknown' ? '6.9+' : snap.era
    const call = fc.record({span: fc.integer({min: 0, max: spans.length - 1}), at: fc.double({min: 0, max: 1, noNaN: true}), pages: fc.integer({min: 1, max: 40}), mask: fc.integer({min: 0, max: MASKS.length - 1})})

    it(`${cap.path.split('/')[1]} (${choice.policy.name}): exact match; a changed run is found there and explained iff a call touched it`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(call, {minLength: 1, maxLength: 12}), fc.integer({min: 0, max: 10_000}), fc.boolean(), async (calls, pick, onCall) => {
          const events: TraceEvent[] = calls.map((c, i) => {
            const s = spans[c.span]!
            const pagesIn = (s.end - s.start) / K4
            const first = Math.min(Math.floor(c.at * pagesIn), pagesIn - 1)
            const addr = s.start + first * K4
            const size = Math.min(c.pages, pagesIn - first) * K4
            const [set, clear] = MASKS[c.mask]!
            return {kind: 'change_range', fn: cap.fn, probe: cap.fn, tsNs: BigInt(i + 1), cpu: 0, pid: 100 + i, comm: 'prop', addr, size, setMask: set, clearMask: clear, src: {file: 'gen', line: i + 1}}
          })
          const rec = new TouchRecorder(snap.regions, K4)
          const done = await runReplayEvents(snap, events, choice, rec.options())
          const text = [...renderPtdump(done.pt, snap.regions, {era})].join('\n') + '\n'
          const after = parsePtdump(text, 'rendered')
          const v = compareReplay({before: snap, after, traces: ['gen'], run: done, rec})
          expect(v.regions.map((r) => [r.name, r.status])).toEqual(snap.regions.map((r) => [r.name, 'match']))
          expect(v.exitCode).toBe(0)

          // Now change one linear-map run of the "real" side (flip read-only over the whole run:
          // runs sit on entry boundaries, so the model stays well-formed) and verify again.
          const lin = snap.regions.find((r) => r.name === 'linear')!
          const runs = [...after.pt.runs(lin.start, lin.end)].filter((r) => r.prot !== HOLE)
          // Either any run, or the run holding the first call's first page (so both verdicts occur).
          const target = onCall ? runs.find((x) => x.start <= events[0]!.addr! && events[0]!.addr! < x.end)! : runs[pick % runs.length]!
          if (target.prot & P_RDONLY) after.pt.setProt(target.start, target.end, 0, P_RDONLY)
          else after.pt.setProt(target.start, target.end, P_RDONLY, 0)
          const w = compareReplay({before: snap, after, traces: ['gen'], run: done, rec, maxDiffs: 5})
          const r = w.regions.find((x) => x.name === 'linear')!
          expect(r.status).toBe('differs')
          expect(r.differingRanges).toBe(1)
          expect(r.differingBytes).toBe(target.end - target.start)
          const d = r.differences[0]!
          expect([d.start, d.end]).toEqual([formatKva(target.start), formatKva(target.end)])
          const touched = events.some((e) => e.addr! < target.end && e.addr! + e.size! > target.start)
          expect(d.explainedByTrace).toBe(touched)
          expect(d.cause).toBe(touched ? 'replay' : 'untraced')
          expect(w.exitCode).toBe(1)
          expect(renderVerifyText(verifyResult(w)).at(-1)).toMatch(/^DIFFERS: 1 differing range/)
          if (onCall) expect(d.lastTouch?.fn).toBe(cap.fn)
        }),
        {numRuns: 40},
      )
    })
  }
})
