/**
 * verify's renderer: a difference's runs shown as the kernel's ptdump prints them, the words for
 * a region that is not verifiable, and the one-line summary of the verdict. The comparison
 * itself is tested in test/replay/verify.test.ts.
 */
import {describe, expect, it} from 'vitest'

import {summarizeDiagnostics} from '../../src/ingest/diagnostics.js'
import {formatKva, pageOffsetKva} from '../../src/model/address.js'
import {makeGeometry} from '../../src/model/geometry.js'
import type {Region} from '../../src/model/layout.js'
import {PageTables} from '../../src/model/pagetable.js'
import {HOLE, type Run} from '../../src/model/run.js'
import {P_AF, P_PXN, P_RDONLY, P_UXN, P_VALID, withMemType} from '../../src/model/prot.js'
import type {Verification} from '../../src/replay/verify-result.js'
import {verifyRegion} from '../../src/replay/verify-region.js'
import {TouchRecorder} from '../../src/replay/verify-touches.js'
import {reasonText, regionVerifyView, renderVerifyText, verifyResult} from '../../src/report/verify.js'

const geo = makeGeometry(4096, 48)
const G = 2 ** 30
const M2 = 2 ** 21
const K4 = 4096
const RW = withMemType(P_VALID | P_AF | P_PXN | P_UXN, 'MEM/NORMAL-TAGGED')
const RO = RW | P_RDONLY
const base = pageOffsetKva(48)
const linear: Region = {name: 'linear', start: base, end: base + 512 * G}
const vmalloc: Region = {name: 'vmalloc', start: base + 1024 * G, end: base + 2048 * G}

function run(start: number, end: number, lvl: number, prot = RW): Run {
  return {start: base + start, end: base + end, lvl, cont: false, prot, flags: 0}
}

/** 2M of PTEs at the start of the linear map, page 5 read-only if `ro`; 4 pages of vmalloc mapped if `vm`. */
function model(ro: boolean, vm: boolean): PageTables {
  const runs = ro ? [run(0, 5 * K4, 0), run(5 * K4, 6 * K4, 0, RO), run(6 * K4, M2, 0)] : [run(0, M2, 0)]
  runs.push(run(M2, G, 1, HOLE), run(G, 1024 * G, 2, HOLE))
  runs.push({start: vmalloc.start, end: vmalloc.start + 4 * K4, lvl: 0, cont: false, prot: vm ? RW : HOLE, flags: 0})
  runs.push({start: vmalloc.start + 4 * K4, end: vmalloc.start + M2, lvl: 0, cont: false, prot: HOLE, flags: 0})
  runs.push({start: vmalloc.start + M2, end: vmalloc.start + G, lvl: 1, cont: false, prot: HOLE, flags: 0})
  return PageTables.fromRuns(geo, runs)
}

function verification(regions: Verification['regions']): Verification {
  return {
    before: 'a',
    after: 'b',
    traces: ['t'],
    geometry: geo.label,
    policy: 'pte-only',
    policyReasons: [],
    window: {fromFound: false, untilFound: false, eventsSeen: 0, eventsInWindow: 0, callsApplied: 0},
    replay: {errorCounts: {}, callsOnUnknownMemory: 0, unknownAliasPages: 0, vmEvents: 0, lostEvents: 0, overwritten: 0, unrecognizedLines: 0},
    groundTruth: [],
    regions,
    regionNotes: [],
    diagnostics: summarizeDiagnostics([]),
    verdict: 'differs',
    exitCode: 1,
    geo,
  }
}

describe('verify renderer', () => {
  const rec = new TouchRecorder([linear, vmalloc], K4)
  const lin = verifyRegion(model(false, false), model(true, false), linear, rec)
  const vm = verifyRegion(model(false, false), model(false, true), vmalloc, rec)

  it("shows a difference's runs with ptdump's attributes and line", () => {
    const d = regionVerifyView(lin, {geo}).differences[0]!
    expect(d.predicted.map((p) => [p.start, p.end, p.level, p.attributes])).toEqual([[formatKva(base + 5 * K4), formatKva(base + 6 * K4), 'PTE', 'RW NX AF UXN MEM/NORMAL-TAGGED']])
    expect(d.actual[0]!.attributes).toBe('ro NX AF UXN MEM/NORMAL-TAGGED')
    expect(d.actual[0]!.line).toMatch(/^0x[0-9a-f]{16}-0x[0-9a-f]{16} +4K PTE +ro NX/)
  })

  it('words the reasons a region is not verifiable', () => {
    expect(vm.reasons.map(reasonText)).toEqual([
      'mappings created or removed by calls the trace does not carry (vmalloc/vmap/module areas): 1 range (16 KiB) mapped in the snapshot but not in the replay; the trace carries no vmalloc/execmem/module alloc or free events with addresses',
    ])
    const presence = {appearedBytes: 0, appearedRanges: 0, disappearedBytes: 8192, disappearedRanges: 2, tableOnlyRanges: 3}
    expect(reasonText({kind: 'untraced-mappings', presence, vmEvents: 7})).toBe(
      'mappings created or removed by calls the trace does not carry (vmalloc/vmap/module areas): 2 ranges (8 KiB) mapped in the replay but gone from the snapshot; 3 ranges of empty entries whose table pages differ; the trace has 7 vmalloc/execmem alloc/free event(s), but the replay does not map or unmap vm areas',
    )
    expect(reasonText({kind: 'unknown-memory', count: 4})).toBe('4 traced call(s) acted on memory the starting snapshot does not map here')
  })

  it('sums the verdict up in one line, from the regions', () => {
    expect(verifyResult(verification([lin, vm])).summary).toBe('1 differing range in linear; 1 not explained by the trace')
    const ok = verifyRegion(model(false, false), model(false, false), linear, rec)
    const v = verifyResult({...verification([ok, vm]), verdict: 'match', exitCode: 0})
    expect(v.summary).toBe('every verifiable region matches exactly (not verifiable: vmalloc)')
    expect(renderVerifyText(v).at(-1)).toBe('MATCH: every verifiable region matches exactly (not verifiable: vmalloc)')
    const linVm = verifyRegion(model(false, false), model(false, true), {...vmalloc, name: 'linear'}, rec)
    expect(verifyResult(verification([linVm])).summary).toBe(`the linear map is not verifiable: ${reasonText(linVm.reasons[0]!)}`)
    expect(verifyResult(verification([vm])).summary).toBe('the snapshot has no linear map region: nothing that must verify')
  })
})
