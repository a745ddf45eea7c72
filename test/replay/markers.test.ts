/**
 * Issue 12 item 5: a --from-marker/--until-marker that matches nothing is a bad-input error
 * (exit 2, code marker-not-found) listing the trace's markers, closest first — `compare` used to
 * exit 0 with a normal-looking table and `replay` with "(marker NOT FOUND: nothing replayed)".
 * `events` lists the markers it saw. Expected markers are read from the capture with a regex here,
 * not from the program.
 */
import {readFileSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import Compare from '../../src/commands/compare.js'
import Events, {type EventsResult} from '../../src/commands/events.js'
import Replay from '../../src/commands/replay.js'
import {closestMarkers, substringDistance} from '../../src/replay/markers.js'
import {runCommand} from '../helpers/run-command.js'

const S61 = 'samples/debian-6.1-qemu/max-2G-default'
const SNAP = `${S61}/kernel_page_tables.before`
const TRACE = `${S61}/trace.txt`
const MARKERS = [...readFileSync(TRACE, 'utf8').matchAll(/tracing_mark_write: (.*)$/gm)].map((m) => m[1]!.trim())

describe('closest markers', () => {
  it('edit distance to the closest substring', () => {
    expect(substringDistance('bpf phase', 'capture: bpf phase begin')).toBe(0)
    expect(substringDistance('bpf phse', 'capture: bpf phase begin')).toBe(1)
    expect(substringDistance('BPF', 'capture: bpf phase begin')).toBe(0)
    expect(closestMarkers('capture: bpf phase begn', MARKERS)[0]).toBe('capture: bpf phase begin (test_bpf)')
    expect(closestMarkers('insmod ext5', MARKERS)[0]).toBe('capture: insmod ext4')
  })
})

describe('a marker that matches nothing', () => {
  for (const [name, cmd, extra] of [
    ['replay', Replay, []],
    ['compare', Compare, ['--policies', 'pte-only,bbml2']],
  ] as const) {
    it(`${name} --from-marker typo: exit 2, the markers closest first`, async () => {
      const o = await runCommand(cmd, [SNAP, TRACE, ...extra, '--from-marker', 'capture: bpf phase begn', '--json'])
      expect(o.exit).toBe(2)
      const e = (JSON.parse(o.stdout) as {error: {code: string; message: string}}).error
      expect(e.code).toBe('marker-not-found')
      expect(e.message).toMatch(/^--from-marker "capture: bpf phase begn": no trace_marker write contains it; markers in .*trace\.txt, closest first: "capture: bpf phase begin \(test_bpf\)", /)
      expect(e.message).toContain(`… ${new Set(MARKERS).size - 8} more`)
    })
  }
  it('replay --until-marker typo after a found from-marker', async () => {
    const o = await runCommand(Replay, [SNAP, TRACE, '--from-marker', 'insmod phase begin', '--until-marker', 'insmod phase ends'])
    expect(o.exit).toBe(2)
    expect(o.stderr).toMatch(/^Error: --until-marker "insmod phase ends": no trace_marker write contains it after the from-marker; .*closest first: "capture: insmod phase end"/)
    expect(o.stdout).toBe('')
  })
})

describe('a window whose markers are found', () => {
  it('replay names the window, with no "not found" wording (that path is an error now)', async () => {
    const o = await runCommand(Replay, [SNAP, TRACE, '--from-marker', 'insmod phase begin', '--until-marker', 'insmod phase end', '--no-chart'])
    expect(o.exit).toBe(0)
    expect(o.stdout).toContain('Window: from "insmod phase begin" until "insmod phase end"')
    expect(o.stdout).not.toMatch(/not found/i)
  })
})

describe('events lists the markers', () => {
  it('every distinct marker of the 6.1 capture, in trace order, in JSON and text', async () => {
    const o = await runCommand<EventsResult>(Events, [TRACE, '--json'])
    const r = JSON.parse(o.stdout) as EventsResult
    expect(r.markers!.map((m) => m.text)).toEqual([...new Set(MARKERS)])
    expect(r.markers!.reduce((s, m) => s + m.count, 0)).toBe(MARKERS.length)
    const t = await runCommand(Events, [TRACE])
    expect(t.stdout).toContain('capture: bpf phase begin (test_bpf)')
  })
})
