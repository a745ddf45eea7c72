import {describe, expect, it} from 'vitest'

import {bucketMax, renderAsciiSeries} from '../../../src/report/terminal/chart.js'

describe('ascii series chart', () => {
  it('keeps the peak of each bucket', () => {
    expect(bucketMax([1, 9, 2, 3, 4, 8], 3)).toEqual([9, 3, 8])
    expect(bucketMax([1, 2], 10)).toEqual([1, 2])
  })

  it('draws table bytes over a trace within the requested width, labels in bytes', () => {
    const values = Array.from({length: 100_000}, (_, i) => 4096 * (100 + Math.floor(i / 1000)))
    values[54_321] = 4096 * 1000 // a short peak
    const lines = renderAsciiSeries(values, {height: 6, width: 40, format: 'bytes', title: 'table bytes', xLabel: 'events'})
    expect(lines[0]).toBe('table bytes')
    // 7 plot rows (height + 1), the x axis line, the summary line.
    expect(lines).toHaveLength(1 + 7 + 2)
    const plot = lines.slice(1, 8)
    expect(plot[0]).toContain('3.91 MiB') // the peak, 1000 pages, is the top label
    for (const l of plot) expect(l.length).toBeLessThanOrEqual(12 + 40 + 2)
    expect(lines[9]).toContain('first 400 KiB, max 3.91 MiB, last 796 KiB')
  })

  it('a flat series and an empty one do not throw', () => {
    // three points of 5: one row labelled 5 carries the line across them, x axis 0 … 2
    const flat = renderAsciiSeries([5, 5, 5])
    expect(flat.find((l) => /^\s*5┼/.test(l))).toBe('  5┼── ')
    expect(flat.slice(-2)).toEqual(['    0 … 2', '    first 5, max 5, last 5'])
    expect(renderAsciiSeries([], {title: 't'})).toEqual(['t', '  (no data)'])
  })
})
