/**
 * --perfetto: the file decodes with the vendored Perfetto protos (protobufjs) to the same series
 * as --json, on the trace's own timestamps, with the trace's markers as instant events, and with
 * the sequence flags Perfetto's trace processor expects.
 */
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import Compare, {type CompareResult} from '../../src/commands/compare.js'
import Replay, {type ReplayResult} from '../../src/commands/replay.js'
import {PERFETTO_COUNTERS, perfettoRoot, policyTrackUuid} from '../../src/report/perfetto.js'
import type {Sample} from '../../src/replay/engine.js'
import {runCommand} from '../helpers/run-command.js'

const dir = mkdtempSync(join(tmpdir(), 'ptreplay-perfetto-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const B61 = 'samples/debian-6.1-qemu/max-2G-default'
const BEFORE = join(B61, 'kernel_page_tables.before')
const TRACE = join(B61, 'trace.txt')

interface Packet {
  timestamp?: string
  trusted_packet_sequence_id?: number
  sequence_flags?: number
  track_descriptor?: {uuid: string; parent_uuid?: string; name: string; counter?: {unit: string}}
  track_event?: {type: string; track_uuid: string; counter_value?: string; name?: string; categories?: string[]}
}

function decode(file: string): Packet[] {
  const Trace = perfettoRoot().lookupType('perfetto.protos.Trace')
  const obj = Trace.toObject(Trace.decode(readFileSync(file)), {longs: String, enums: String}) as {packet: Packet[]}
  return obj.packet
}

/** The counter values of policy i's tracks, as series rows. */
function seriesOf(packets: Packet[], i: number): Pick<Sample, 'tsNs' | 'tableBytes' | 'tlbEntries' | 'splits' | 'collapses'>[] {
  const parent = policyTrackUuid(i)
  const byTrack = PERFETTO_COUNTERS.map((_, j) => packets.filter((p) => p.track_event?.track_uuid === String(parent + j + 1)))
  return byTrack[0]!.map((p, k) => ({
    tsNs: p.timestamp!,
    tableBytes: Number(p.track_event!.counter_value),
    tlbEntries: Number(byTrack[1]![k]!.track_event!.counter_value),
    splits: Number(byTrack[2]![k]!.track_event!.counter_value),
    collapses: Number(byTrack[3]![k]!.track_event!.counter_value),
  }))
}

const strip = (s: readonly Sample[]) => s.map(({tsNs, tableBytes, tlbEntries, splits, collapses}) => ({tsNs, tableBytes, tlbEntries, splits, collapses}))

describe('replay --perfetto on the Debian 6.1 capture', () => {
  it('decodes to the --json series, with the 46 trace_marker writes as instant events', async () => {
    const file = join(dir, 'replay.pftrace')
    const r = await runCommand<ReplayResult>(Replay, [BEFORE, TRACE, '--policy', 'bbml2', '--perfetto', file, '--json'])
    expect(r.error).toBeUndefined()
    expect(r.result!.perfettoFile).toBe(file)
    const packets = decode(file)
    // One sequence; incremental state cleared on the first packet, needed by every event.
    expect(packets.every((p) => p.trusted_packet_sequence_id === 1)).toBe(true)
    expect(packets[0]!.sequence_flags).toBe(1)
    expect(packets.filter((p) => p.track_event).every((p) => p.sequence_flags === 2)).toBe(true)
    const descs = packets.filter((p) => p.track_descriptor).map((p) => p.track_descriptor!)
    expect(descs.find((d) => d.name === 'page-table bytes (bbml2)')!.counter!.unit).toBe('UNIT_SIZE_BYTES')
    expect(descs.find((d) => d.name === 'TLB entries (bbml2)')!.counter!.unit).toBe('UNIT_COUNT')
    expect(descs.find((d) => d.name === 'splits (bbml2)')!.parent_uuid).toBe(String(policyTrackUuid(0)))
    const series = r.result!.series
    expect(series.length).toBeGreaterThan(10)
    expect(seriesOf(packets, 0)).toEqual(strip(series))
    // The bbml2 rebase splits the block-mapped linear map as the workload goes: the counters move.
    expect(series.at(-1)!.splits).toBeGreaterThan(0)
    const instants = packets.filter((p) => p.track_event?.type === 'TYPE_INSTANT')
    expect(instants).toHaveLength(46) // grep -c tracing_mark_write trace.txt
    // "init-1 [001] ..... 39.762255: tracing_mark_write: capture: insmod phase begin"
    expect(instants[0]!.timestamp).toBe('39762255000')
    expect(instants[0]!.track_event!.name).toBe('capture: insmod phase begin')
    expect(instants[0]!.track_event!.categories).toEqual(['trace_marker'])
  })
})

describe('compare --perfetto', () => {
  it('one set of counter tracks per policy, each equal to that policy’s replay --json series', async () => {
    const file = join(dir, 'compare.pftrace')
    const c = await runCommand<CompareResult>(Compare, [BEFORE, TRACE, '--policies', 'pte-only,bbml2', '--perfetto', file, '--json'])
    expect(c.error).toBeUndefined()
    const packets = decode(file)
    const names = packets.filter((p) => p.track_descriptor).map((p) => p.track_descriptor!.name)
    expect(names).toContain('ptreplay: pte-only')
    expect(names).toContain('ptreplay: bbml2')
    for (const [i, policy] of ['pte-only', 'bbml2'].entries()) {
      const r = await runCommand<ReplayResult>(Replay, [BEFORE, TRACE, '--policy', policy, '--json'])
      expect(seriesOf(packets, i)).toEqual(strip(r.result!.series))
    }
    // Markers once, not once per policy.
    expect(packets.filter((p) => p.track_event?.type === 'TYPE_INSTANT')).toHaveLength(46)
  })
})
