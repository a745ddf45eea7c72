/**
 * Real-data check: replay the update_range_prot() calls that the 6.19 BBML2 qemu kernel made from
 * the `capture: bpf phase begin` marker to the end of trace.txt.gz, starting from the
 * kernel_page_tables.loaded snapshot (taken just before that marker, samples/README), through
 * updateRangeProt() (split_kernel_leaf_mapping + the pageattr walk), and compare the split
 * primitives with the kernel's own probes over the same window (captures/README: split_pmd 45,
 * split_contpmd 3, split_contpte 1,417; split_pud 0). The split probes themselves are not input.
 */
import {readFileSync} from 'node:fs'
import {gunzipSync} from 'node:zlib'

import {describe, expect, it} from 'vitest'

import {parseKva} from '../../src/model/address.js'
import {parsePtdump} from '../../src/ingest/ptdump/index.js'
import {makeContext} from '../../src/kernel/dispatch.js'
import {updateRangeProt} from '../../src/kernel/pageattr.js'
import {makePolicy} from '../../src/kernel/policy.js'

const DIR = 'samples/linux-6.19-bbml2-qemu/max-2G-default'
const UPDATE = /update_range_prot: \(update_range_prot\+0x0\/0x[0-9a-f]+\) start=(0x[0-9a-f]+) size=(0x[0-9a-f]+) set_mask=(0x[0-9a-f]+) clear_mask=(0x[0-9a-f]+)/
const PROBE = /: (split_pud|split_pmd|split_contpmd|split_contpte|split_kernel_leaf_mapping_locked): \(/

describe('replay of the 6.19 BBML2 capture (bpf phase → end)', () => {
  it('predicts the kernel-recorded split counts from kernel_page_tables.loaded', () => {
    const snap = parsePtdump(readFileSync(`${DIR}/kernel_page_tables.loaded`, 'utf8'), 'kernel_page_tables.loaded')
    const linear = snap.regions.find((r) => r.name === 'linear')!
    const ctx = makeContext(snap.pt, makePolicy('bbml2').cfg, {linear: {start: linear.start, end: linear.end}})
    const lines = gunzipSync(readFileSync(`${DIR}/trace.txt.gz`)).toString('utf8').split('\n')
    const begin = lines.findIndex((l) => l.includes('tracing_mark_write: capture: bpf phase begin'))
    expect(begin).toBeGreaterThan(0)
    const recorded: Record<string, number> = {}
    let events = 0
    let errors = 0
    for (let i = begin + 1; i < lines.length; i++) {
      const l = lines[i]!
      const p = PROBE.exec(l)
      if (p) {
        recorded[p[1]!] = (recorded[p[1]!] ?? 0) + 1
        continue
      }
      const m = UPDATE.exec(l)
      if (!m) continue
      events++
      ctx.event = i + 1
      if (updateRangeProt(ctx, parseKva(m[1]!)!, Number(m[2]!), BigInt(m[3]!), BigInt(m[4]!)) !== 0) errors++
    }
    // What the kernel's own probes recorded in the window (the README's figures).
    expect(recorded).toMatchObject({split_pmd: 45, split_contpmd: 3, split_contpte: 1417})
    expect(recorded.split_pud ?? 0).toBe(0)
    // What the model predicts.
    const c = ctx.counters
    expect(events).toBeGreaterThan(0)
    expect(errors).toBe(0)
    expect(c.split_kernel_leaf_mapping_locked).toBe(recorded.split_kernel_leaf_mapping_locked)
    expect({split_pmd: c.split_pmd, split_contpmd: c.split_contpmd, split_contpte: c.split_contpte, split_pud: c.split_pud}).toEqual({
      split_pmd: 45,
      split_contpmd: 3,
      split_contpte: 1417,
      split_pud: 0,
    })
    expect(snap.pt.recountTables()).toEqual(snap.pt.tables)
    expect(snap.pt.check()).toEqual([])
    // The linear map is touched only through these calls (vmalloc mappings also change through
    // vmap/vunmap, which the trace does not carry): after the replay it must equal the `after`
    // dump's linear map run for run.
    const after = parsePtdump(readFileSync(`${DIR}/kernel_page_tables.after`, 'utf8'), 'kernel_page_tables.after')
    const lin = (pt: typeof snap.pt) => [...pt.runs(linear.start, linear.end)]
    expect(lin(snap.pt)).toEqual(lin(after.pt))
  })
})
