/**
 * The textfiles parse with parse-prometheus-text-format (a port of the Prometheus client's own
 * parser, prom2json-compatible), carry the audit's numbers on a real capture, keep each family
 * once with HELP and TYPE, and are written atomically.
 */
import {mkdtempSync, readFileSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import parseProm, {type ParsedFamily} from 'parse-prometheus-text-format'
import {afterAll, describe, expect, it} from 'vitest'

import Audit, {type AuditResult} from '../../src/commands/audit.js'
import Fleet from '../../src/commands/fleet.js'
import {PROM_FAMILIES, escapeLabelValue, renderProm} from '../../src/report/prom.js'
import {runCommand} from '../helpers/run-command.js'

const dir = mkdtempSync(join(tmpdir(), 'ptreplay-prom-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

function value(fams: ParsedFamily[], name: string, labels: Record<string, string>): number | undefined {
  const f = fams.find((x) => x.name === name)
  const m = f?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v) && Object.keys(s.labels ?? {}).length === Object.keys(labels).length)
  return m ? Number(m.value) : undefined
}

/** Every family appears in one block: one HELP, one TYPE, its samples contiguous. */
function checkGrouping(text: string): void {
  const names = text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l)![0])
  const blocks = names.filter((n, i) => i === 0 || names[i - 1] !== n)
  expect(new Set(blocks).size).toBe(blocks.length)
  for (const n of new Set(names)) {
    expect(text.split('\n').filter((l) => l.startsWith(`# HELP ${n} `))).toHaveLength(1)
    expect(text.split('\n').filter((l) => l.startsWith(`# TYPE ${n} `))).toHaveLength(1)
  }
}

describe('audit --prom on a real capture (Debian 6.12, rodata=full, PTE-only linear map)', () => {
  it('parses, and carries the audit --json figures under node_exporter-style names', async () => {
    const dump = 'samples/debian-6.12-qemu/max-2G-default/kernel_page_tables.after'
    const file = join(dir, 'audit.prom')
    const r = await runCommand<AuditResult>(Audit, [dump, '--prom', file, '--json'])
    expect(r.error).toBeUndefined()
    expect(r.result!.promFile).toBe(file)
    const text = readFileSync(file, 'utf8')
    checkGrouping(text)
    const fams = parseProm(text)
    const lin = r.result!.regions.find((x) => x.name === 'linear')!
    expect(fams.find((f) => f.name === 'ptreplay_directmap_bytes')!.type).toBe('GAUGE')
    expect(value(fams, 'ptreplay_directmap_bytes', {leaf: '4k', region: 'linear'})).toBe(lin.mappedBytes.PTE)
    expect(value(fams, 'ptreplay_directmap_bytes', {leaf: '64k', region: 'linear'})).toBe(lin.mappedBytes.CONT_PTE)
    expect(value(fams, 'ptreplay_directmap_bytes', {leaf: '2M', region: 'linear'})).toBe(lin.mappedBytes.PMD)
    expect(value(fams, 'ptreplay_page_table_bytes', {region: 'linear'})).toBe(lin.tableBytes)
    expect(value(fams, 'ptreplay_page_table_bytes', {region: 'all'})).toBe(r.result!.total.tableBytes)
    expect(value(fams, 'ptreplay_tlb_entries', {region: 'linear'})).toBe(lin.tlbEntries)
    expect(value(fams, 'ptreplay_page_table_pte_only_bytes', {region: 'linear'})).toBe(lin.pteOnly.tableBytes)
    expect(value(fams, 'ptreplay_info', {kernel: '6.12.117+deb12-arm64', cpu: '0x000f0510', geometry: r.result!.geometry.label})).toBe(1)
    expect(value(fams, 'ptreplay_block_mapping_eligible', {})).toBe(0)
    expect(value(fams, 'ptreplay_forecast_page_table_saved_bytes', {})).toBe(r.result!.eligibility.forecast!.savedTableBytes)
    expect(readdirSync(dir).filter((f) => f.includes('tmp'))).toEqual([])
  })
})

describe('fleet --prom', () => {
  it('one file, every series labelled by host, split counters as counters, fleet totals', async () => {
    const file = join(dir, 'fleet.prom')
    const nd = join(dir, 'fleet.ndjson')
    const r = await runCommand(Fleet, ['samples/debian-6.1-qemu/*/', 'samples/linux-6.19-bbml2-qemu/max-2G-default', '--prom', file, '--ndjson', nd, '--jobs', '2'])
    expect(r.exit).toBe(0)
    const text = readFileSync(file, 'utf8')
    checkGrouping(text)
    const fams = parseProm(text)
    const recs = readFileSync(nd, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    expect(recs).toHaveLength(3)
    for (const rec of recs) {
      expect(value(fams, 'ptreplay_page_table_bytes', {host: rec.host, region: 'all'})).toBe(rec.tableBytes)
      expect(value(fams, 'ptreplay_directmap_bytes', {host: rec.host, leaf: '1G', region: 'linear'})).toBe(rec.directMap['1G'])
    }
    const b619 = 'samples/linux-6.19-bbml2-qemu/max-2G-default'
    expect(fams.find((f) => f.name === 'ptreplay_split_total')!.type).toBe('COUNTER')
    expect(value(fams, 'ptreplay_split_total', {host: b619, fn: 'split_contpte'})).toBe(recs.find((x) => x.host === b619).splits.counters.split_contpte)
    expect(value(fams, 'ptreplay_block_mapping_eligible', {host: b619})).toBe(1)
    expect(value(fams, 'ptreplay_block_mapping_eligible', {host: 'samples/debian-6.1-qemu/max-2G-default'})).toBe(0)
    const b61 = recs.find((x) => x.host === 'samples/debian-6.1-qemu/max-2G-default')
    expect(value(fams, 'ptreplay_forecast_page_table_saved_bytes', {host: b61.host})).toBe(b61.eligibility.forecast.savedTableBytes)
    expect(value(fams, 'ptreplay_fleet_hosts', {})).toBe(3)
    expect(value(fams, 'ptreplay_fleet_host_errors', {})).toBe(0)
    expect(readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([])
  })
})

describe('exposition details', () => {
  it('escapes label values and renders families in a fixed order', () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd')
    const text = renderProm([
      {family: 'tlb', labels: {region: 'x"y'}, value: 3},
      {family: 'tables', labels: {region: 'x"y'}, value: 4096},
    ])
    const fams = parseProm(text)
    expect(fams.map((f) => f.name)).toEqual([PROM_FAMILIES.tables.name, PROM_FAMILIES.tlb.name])
    expect(fams[0]!.metrics[0]!.labels).toEqual({region: 'x"y'})
  })
})
