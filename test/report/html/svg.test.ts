/**
 * The static charts' layout: value labels on bars and marker labels over a series never overlap
 * and stay inside the chart, whatever the number of policies or markers. Positions are read back
 * from the SVG attributes the renderer emits; text extents use the renderer's own (generous)
 * width estimate, and the e2e test measures the real ones in Chromium.
 */
import {describe, expect, it} from 'vitest'

import {barGroups, seriesPanel, textWidth} from '../../../src/report/html/svg.js'

interface Box {
  x0: number
  x1: number
  y0: number
  y1: number
  text: string
}

const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&')

function attrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const m of tag.matchAll(/([\w-]+)="([^"]*)"/g)) out[m[1]!] = m[2]!
  return out
}

/** Boxes of `<text class="CLS…">` elements; `rotate(-90 x y)` turns a label upright, reading upwards from (x, y). */
function textBoxes(svg: string, cls: string, px: number): Box[] {
  const re = new RegExp(`<text class="${cls}[^"]*"([^>]*)>(?:<title>[^<]*</title>)?([^<]*)</text>`, 'g')
  return [...svg.matchAll(re)].map((m) => {
    const a = attrs(m[1]!)
    const text = unescape(m[2]!)
    const w = textWidth(text, px)
    const x = Number(a.x)
    const y = Number(a.y)
    if (a.transform?.startsWith('rotate(-90')) return {x0: x - 0.8 * px, x1: x + 0.25 * px, y0: y - w, y1: y, text}
    const anchor = a['text-anchor'] ?? 'start'
    const x0 = anchor === 'middle' ? x - w / 2 : anchor === 'end' ? x - w : x
    return {x0, x1: x0 + w, y0: y - 0.8 * px, y1: y + 0.25 * px, text}
  })
}

function overlaps(boxes: Box[]): [string, string][] {
  const out: [string, string][] = []
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i]!
      const b = boxes[j]!
      if (a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1) out.push([a.text, b.text])
    }
  return out
}

function viewBox(svg: string): {w: number; h: number} {
  const m = /viewBox="0 0 ([\d.]+) ([\d.]+)"/.exec(svg)!
  return {w: Number(m[1]), h: Number(m[2])}
}

describe('bar groups', () => {
  const metrics = [{name: 'table bytes', format: 'bytes' as const}, {name: 'TLB entries'}, {name: 'splits'}, {name: 'collapses'}]
  // compare on samples/debian-6.1-qemu/max-2G-default (before + trace.txt), --policies
  // auto,pte-only,bbml2,collapse-both,x86-cpa: the figures the text table prints.
  const compare61 = [
    {label: 'auto (pte-only)', values: [4_257_792, 520_438, 0, 0]},
    {label: 'pte-only', values: [4_257_792, 520_438, 0, 0]},
    {label: 'bbml2', values: [155_648, 3_557, 88, 0]},
    {label: 'collapse-both', values: [155_648, 3_557, 88, 0]},
    {label: 'x86-cpa', values: [155_648, 7_232, 10, 0]},
  ]

  it('the five policies of the 6.1 compare: no value label touches another ("4.06 MiB520,438" before), all inside the chart', () => {
    const svg = barGroups(metrics, compare61)
    const boxes = textBoxes(svg, 'bar-value', 10.5)
    expect(boxes.map((b) => b.text)).toContain('4.06 MiB')
    expect(boxes.map((b) => b.text)).toContain('520,438')
    expect(boxes).toHaveLength(20)
    expect(overlaps(boxes)).toEqual([])
    const {w, h} = viewBox(svg)
    for (const b of boxes) {
      expect(b.x0).toBeGreaterThanOrEqual(0)
      expect(b.x1).toBeLessThanOrEqual(w)
      expect(b.y0).toBeGreaterThanOrEqual(0)
      expect(b.y1).toBeLessThanOrEqual(h)
    }
  })

  it('two policies with room: labels stay level and apart; twelve long-named policies: upright, apart, names cut to their group', () => {
    const two = barGroups(metrics, compare61.slice(1, 3))
    expect(two).not.toContain('rotate(')
    expect(overlaps(textBoxes(two, 'bar-value', 10.5))).toEqual([])
    const many = Array.from({length: 12}, (_, i) => ({label: `collapse-general-with-a-long-name-${i}`, values: [4_257_792 - i, 520_438 + i * 1000, 1_417 * i, i]}))
    const svg = barGroups(metrics, many)
    const values = textBoxes(svg, 'bar-value', 10.5)
    expect(values).toHaveLength(48)
    expect(overlaps(values)).toEqual([])
    const names = textBoxes(svg, 'group-label', 12)
    expect(overlaps(names)).toEqual([])
    expect(names[0]!.text).toMatch(/…$/)
    // The full name stays in the tooltip.
    expect(svg).toContain('<title>collapse-general-with-a-long-name-0</title>')
  })
})

describe('series panel: axis and markers', () => {
  const n = 200
  const values = Array.from({length: n}, (_, i) => 4096 * (30 + i))
  const x = Array.from({length: n}, (_, i) => 8.270383 + i * 0.0467)

  it('x is trace time: ticks in seconds with their decimals, in order, inside the plot; the axis is named', () => {
    const p = seriesPanel([{name: 'table bytes', values, format: 'bytes'}], {xLabel: 'trace time (s)', x, xFormat: 'seconds'})
    const ticks = [...p.svg.matchAll(/<text class="tick x-tick" x="([\d.]+)"[^>]*>([^<]*)<\/text>/g)].map((m) => ({x: Number(m[1]), v: Number(m[2]!.replace(/,/g, ''))}))
    expect(ticks.length).toBeGreaterThanOrEqual(3)
    for (let i = 1; i < ticks.length; i++) {
      expect(ticks[i]!.x).toBeGreaterThan(ticks[i - 1]!.x)
      expect(ticks[i]!.v).toBeGreaterThan(ticks[i - 1]!.v)
    }
    expect(ticks[0]!.v).toBeGreaterThanOrEqual(8.270383)
    expect(ticks.at(-1)!.v).toBeLessThanOrEqual(x.at(-1)!)
    // A tick sits where its value falls: linear between the first and last point (L = 78, R = 12).
    const pos = (v: number) => 78 + ((v - x[0]!) / (x.at(-1)! - x[0]!)) * (880 - 78 - 12)
    for (const t of ticks) expect(Math.abs(t.x - pos(t.v))).toBeLessThan(0.1)
    expect(p.svg).toContain('<text class="axis-label" x="868" y="')
    expect(p.svg).toContain('>trace time (s)</text>')
    expect(overlaps(textBoxes(p.svg, 'tick x-tick', 11))).toEqual([])
  })

  it('markers: a dashed line each with its text (escaped, cut to the chart), labels never overlap; a burst shares one line', () => {
    const evil = '<script>alert(1)</script> capture: insmod phase end'
    const long = `capture: ${'x'.repeat(300)}`
    const markers = [
      {x: x[0]!, label: 'capture: bpf phase begin (test_bpf)'},
      {x: x[5]!, label: evil},
      {x: x[12]!, label: 'capture: test_bpf insmod returned 0'},
      ...Array.from({length: 40}, (_, i) => ({x: x[100]! + i * 0.0001, label: `capture: rmmod m${i}`})),
      {x: x[150]!, label: long},
      {x: x.at(-1)! + 5, label: 'after the chart: not drawn'},
    ]
    const p = seriesPanel([{name: 'table bytes', values, format: 'bytes'}], {xLabel: 'trace time (s)', x, xFormat: 'seconds', markers, markerLabels: true, id: 't'})
    expect(p.svg).not.toContain('<script>')
    expect(p.svg).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
    expect(p.svg).not.toContain('after the chart')
    const lines = [...p.svg.matchAll(/<line class="marker" x1="([\d.]+)"[^>]*><title>([^<]*)<\/title><\/line>/g)]
    // 4 single markers and one line for the 40 within a few pixels of each other.
    expect(lines).toHaveLength(5)
    expect(lines.find((l) => l[2]!.includes('rmmod m0'))![2]).toContain('… 32 more')
    const labels = textBoxes(p.svg, 'marker-label', 10)
    expect(labels.map((l) => l.text)).toContain('capture: bpf phase begin (test_bpf)')
    expect(labels.map((l) => l.text)).toContain('capture: rmmod m0 (+39)')
    expect(overlaps(labels)).toEqual([])
    for (const l of labels) {
      expect(l.x0).toBeGreaterThanOrEqual(78)
      expect(l.x1).toBeLessThanOrEqual(880 - 12)
    }
    const cut = labels.find((l) => l.text.startsWith('capture: xxx'))!
    expect(cut.text).toMatch(/x…$/)
    expect(p.markerLabelsShown + p.markerLabelsHidden).toBe(markers.length - 1)
    // The labels sit in their own lanes above the plot: the first grid line is below them.
    const top = Math.min(...[...p.svg.matchAll(/<line class="grid" x1="\d+" x2="\d+" y1="([\d.]+)"/g)].map((m) => Number(m[1])))
    for (const l of labels) expect(l.y1).toBeLessThanOrEqual(top)
  })

  it('hover: one read-out per bucket, at the bucket\'s x, described by the caller', () => {
    const p = seriesPanel([{name: 'table bytes', values, format: 'bytes'}], {xLabel: 'trace time (s)', x, xFormat: 'seconds', describe: (a, b) => `from ${a} to ${b}`})
    expect(p.hover.buckets[0]).toEqual([0, 0, 4096 * 30])
    expect(p.hover.xText[0]).toBe('from 0 to 0')
    expect(p.hover.px[0]).toBe(78)
    expect(p.hover.px.at(-1)).toBe(868)
  })
})
