/**
 * verify's comparison, the round-trip property: a replay verified against its own output,
 * rendered as ptdump text and parsed back, is an exact match — and a one-run change to that
 * output is found, exactly there, with the right explanation.
 */
import {readFileSync} from 'node:fs'

import fc from 'fast-check'
import {describe, expect, it} from 'vitest'

import type {TraceEvent} from '../../src/ingest/events.js'
import {type PtdumpSnapshot, parsePtdump} from '../../src/ingest/ptdump/index.js'
import {formatKva} from '../../src/model/address.js'
import {HOLE} from '../../src/model/run.js'
import {HW, P_RDONLY, P_VALID} from '../../src/model/prot.js'
import {loadFacts} from '../../src/capture/facts.js'
import {choosePolicy, runReplayEvents} from '../../src/replay/run.js'
import {renderPtdump} from '../../src/report/ptdump-text.js'
import {renderVerifyText, verifyResult} from '../../src/report/verify.js'
import {compareReplay} from '../../src/replay/verify.js'
import {TouchRecorder} from '../../src/replay/verify-touches.js'

const K4 = 4096


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
