import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import type {TraceEvent} from '../../src/ingest/events.js'
import {Normalizer} from '../../src/ingest/normalize.js'
import {parsePtdump} from '../../src/ingest/ptdump/index.js'
import {readTrace} from '../../src/ingest/trace/index.js'
import {renderMachine, synthMachine} from '../../src/synth/machine.js'
import {
  WORKLOAD_KINDS,
  type WorkloadOptions,
  type WorkloadTarget,
  hitToRecord,
  targetFromMachine,
  targetFromSnapshot,
  workloadHits,
  workloadLines,
} from '../../src/synth/workload.js'

const G = 2 ** 30
const dir = mkdtempSync(join(tmpdir(), 'ptreplay-synth-wl-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const machine = synthMachine({memoryBytes: 8 * G, policy: 'bbml2', knobs: {kfence: 'early'}})
const target = targetFromMachine(machine)

async function readBack(t: WorkloadTarget, opts: WorkloadOptions, name: string): Promise<{events: TraceEvent[]; diagnostics: number}> {
  const path = join(dir, name)
  writeFileSync(path, [...workloadLines(t, opts)].join('\n') + '\n')
  const read = readTrace([path], {pageSize: t.pageSize, vmemmapStart: t.vmemmapStart, pageOffset: t.pageOffset})
  const events: TraceEvent[] = []
  for await (const ev of read.events) events.push(ev)
  return {events, diagnostics: read.diagnostics.length}
}

/** The fields the replay uses. */
const key = (e: TraceEvent) => [e.kind, e.fn, e.tsNs, e.pid, e.comm, e.addr, e.size, e.pages, e.op, e.enable, e.setMask, e.clearMask, e.page, e.text]

function inRam(t: WorkloadTarget, a: number): boolean {
  return t.ram.some((r) => a >= r.start && a < r.end)
}

describe('synth workload', () => {
  for (const kind of WORKLOAD_KINDS) {
    it(`${kind}: exactly N events, read back by the tracefs reader equal to the in-memory records`, async () => {
      const opts: WorkloadOptions = {kind, events: 3000, seed: 7}
      const {events, diagnostics} = await readBack(target, opts, `${kind}.txt`)
      expect(diagnostics).toBe(0)
      expect(events.length).toBe(3000)
      const norm = new Normalizer({pageSize: target.pageSize, vmemmapStart: target.vmemmapStart, pageOffset: target.pageOffset})
      const direct = [...workloadHits(target, opts)].map((h, i) => norm.normalize(hitToRecord(h, i + 13)))
      expect(direct.map(key)).toEqual(events.map(key))
      expect(events.every((e) => e.kind !== 'other')).toBe(true)
    })
  }

  it('module-churn: rodata_full alias loop on RAM pages, vmalloc ranges in the module region, direct-map resets on free', async () => {
    const {events} = await readBack(target, {kind: 'module-churn', events: 20000, seed: 1}, 'mc.txt')
    const fns = new Set(events.map((e) => e.fn))
    for (const f of ['set_memory_ro', 'set_memory_x', 'set_memory_nx', 'change_memory_common', '__change_memory_common', 'update_range_prot', 'set_direct_map_invalid_noflush', 'set_direct_map_default_noflush', 'tracing_mark_write']) {
      expect(fns.has(f)).toBe(true)
    }
    for (const e of events) {
      if (e.fn === '__change_memory_common' && e.size === 4096 && e.addr! < machine.layout.pageEnd) expect(inRam(target, e.addr!)).toBe(true)
      if (e.kind === 'set_memory') expect(e.addr! >= target.modules.start && e.addr! < target.modules.end).toBe(true)
      // struct page → VA through the machine's vmemmap base lands in RAM (no unconverted pages).
      if (e.kind === 'set_direct_map') expect(inRam(target, e.addr!)).toBe(true)
    }
    // Every set_memory_ro is followed (same pid) by change_memory_common, one alias call per page, then the range.
    const i = events.findIndex((e) => e.fn === 'set_memory_ro')
    const n = events[i]!.pages!
    expect(events.slice(i + 1, i + 2 + 2 * n + 2).map((e) => e.fn)).toEqual([
      'change_memory_common',
      ...Array.from({length: n}, () => ['__change_memory_common', 'update_range_prot']).flat(),
      '__change_memory_common',
      'update_range_prot',
    ])
  })

  it('6.12 shape: no update_range_prot, no split probes', async () => {
    const {events} = await readBack(target, {kind: 'module-churn', events: 5000, seed: 2, kernel: [6, 12]}, 'mc612.txt')
    expect(events.some((e) => e.fn === 'update_range_prot' || e.kind === 'split_call')).toBe(false)
  })

  it('bpf-jit: packs are 512-page set_memory_ro + set_memory_x over one 2M-aligned block', async () => {
    const {events} = await readBack(target, {kind: 'bpf-jit', events: 20000, seed: 3}, 'bpf.txt')
    const ro = events.filter((e) => e.fn === 'set_memory_ro')
    expect(ro.length).toBeGreaterThan(0)
    expect(ro.every((e) => e.pages === 512)).toBe(true)
    const i = events.indexOf(ro[0]!)
    const alias = events.slice(i + 2, i + 2 + 1024).filter((e) => e.fn === '__change_memory_common').map((e) => e.addr!)
    expect(alias.length).toBe(512)
    expect((alias[0]! - machine.layout.pageOffset) % (2 * 2 ** 20)).toBe(0)
    expect(alias[511]! - alias[0]!).toBe(511 * 4096)
  })

  it('kfence: set_memory_valid only on object pages of the pool (last 2M of RAM)', async () => {
    const {events} = await readBack(target, {kind: 'kfence', events: 4000, seed: 4}, 'kf.txt')
    const pool = machine.kfencePool!
    expect(target.kfencePool).toEqual(pool)
    const smv = events.filter((e) => e.fn === 'set_memory_valid')
    expect(smv.length).toBeGreaterThan(1000)
    for (const e of smv) {
      expect(e.addr! >= pool.start && e.addr! < pool.end).toBe(true)
      expect((e.addr! - pool.start) / 4096 % 2).toBe(0) // object pages are even; guard pages stay protected
    }
    expect(smv.some((e) => e.enable) && smv.some((e) => !e.enable)).toBe(true)
  })

  it('--machine from a ptdump: the same target as from the machine itself', () => {
    const snap = parsePtdump([...renderMachine(machine)].join('\n'), 'm')
    const t = targetFromSnapshot(snap)
    expect(typeof t).toBe('object')
    const tt = t as WorkloadTarget
    expect(tt.vmemmapStart).toBe(target.vmemmapStart)
    expect(tt.pageOffset).toBe(target.pageOffset)
    expect(tt.kfencePool).toEqual(target.kfencePool)
    expect(tt.modules).toEqual(target.modules)
    // RAM from the dump = writable valid runs: the machine's RAM minus alias and pool, minus the
    // pool's guard pages (invalid) which the machine's own target already excludes with the pool.
    expect(tt.ram).toEqual(target.ram)
  })

  it('deterministic from the seed', () => {
    const a = [...workloadHits(target, {kind: 'bpf-jit', events: 2000, seed: 5})]
    const b = [...workloadHits(target, {kind: 'bpf-jit', events: 2000, seed: 5})]
    const c = [...workloadHits(target, {kind: 'bpf-jit', events: 2000, seed: 6})]
    expect(a).toEqual(b)
    expect(a).not.toEqual(c)
  })
})
