import {mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {afterAll, describe, expect, it} from 'vitest'

import Audit, {type AuditResult} from '../../src/commands/audit.js'
import Fleet, {type FleetResult} from '../../src/commands/fleet.js'
import {auditHost, midrHex} from '../../src/fleet/host.js'
import {expandGlob, fleetInputs} from '../../src/fleet/inputs.js'
import {percentile} from '../../src/fleet/summary.js'
import {renderMachine, synthMachine} from '../../src/synth/machine.js'
import {runCommand} from '../helpers/run-command.js'

const dir = mkdtempSync(join(tmpdir(), 'ptreplay-fleet-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

/** Every capture bundle in samples/ (new captures keep arriving): directories holding a kernel_page_tables.* file. */
const BUNDLES = readdirSync('samples')
  .sort()
  .flatMap((k) => (statSync(join('samples', k)).isDirectory() ? readdirSync(join('samples', k)).sort().map((b) => join('samples', k, b)) : []))
  .filter((d) => statSync(d).isDirectory() && readdirSync(d).some((f) => f.startsWith('kernel_page_tables')))

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

describe('fleet inputs', () => {
  it('a glob with a trailing slash names the bundle directories; each is one host on its .after snapshot', async () => {
    expect([...expandGlob('samples/*/*/')]).toEqual(BUNDLES)
    const hosts = await collect(fleetInputs(['samples/*/*/']))
    expect(hosts.map((h) => h.bundle)).toEqual(BUNDLES)
    // .after where the bundle has one (every bundle written by capture-script), else the newest other snapshot.
    for (const h of hosts) {
      if (readdirSync(h.bundle!).includes('kernel_page_tables.after')) expect(h.dump).toBe(join(h.bundle!, 'kernel_page_tables.after'))
      else expect(h.dump.startsWith(join(h.bundle!, 'kernel_page_tables'))).toBe(true)
    }
  })

  it('- reads paths and globs from stdin; a directory of bundles is walked one level', async () => {
    const stdin = Readable.from(['# comment\n', 'samples/debian-6.1-qemu/max-2G-default/kernel_page_tables.before\n', '\n', 'samples/debian-6.1*/max-2G-rodata-on\n'])
    const hosts = await collect(fleetInputs(['-', 'samples/debian-6.12-qemu'], stdin))
    expect(hosts.map((h) => h.dump)).toEqual([
      'samples/debian-6.1-qemu/max-2G-default/kernel_page_tables.before',
      'samples/debian-6.1-qemu/max-2G-rodata-on/kernel_page_tables.after',
      // the 6.12 folder: its config and package list are files (hosts that will fail), then the bundles
      'samples/debian-6.12-qemu/config-6.12.117+deb12-arm64',
      'samples/debian-6.12-qemu/debian-packages.txt',
      'samples/debian-6.12-qemu/max-2G-default/kernel_page_tables.after',
      'samples/debian-6.12-qemu/max-2G-kfence/kernel_page_tables.after',
    ])
  })
})

describe('auditHost on the real captures', () => {
  it('carries the same figures as `audit --json` and the identity of the bundle', async () => {
    const b = 'samples/debian-6.12-qemu/max-2G-kfence'
    const rec = await auditHost({arg: b, dump: join(b, 'kernel_page_tables.after'), bundle: b}, {replay: false})
    const a = await runCommand<AuditResult>(Audit, [join(b, 'kernel_page_tables.after'), '--json'])
    const lin = a.result!.regions.find((r) => r.name === 'linear')!
    expect(rec.tableBytes).toBe(a.result!.total.tableBytes)
    expect(rec.tlbEntries).toBe(a.result!.total.tlbEntries)
    expect(rec.regions.linear!.tableBytes).toBe(lin.tableBytes)
    expect(rec.regions.linear!.leafBytes).toEqual({'4k': lin.mappedBytes.PTE, '64k': lin.mappedBytes.CONT_PTE, '2M': lin.mappedBytes.PMD, '32M': lin.mappedBytes.CONT_PMD, '1G': lin.mappedBytes.PUD})
    expect(rec.regions.linear!.leafBytes).toEqual(rec.directMap)
    // DirectMap per 4K-granule leaf size, from the linear map.
    expect(Object.keys(rec.directMap)).toEqual(['4k', '64k', '2M', '32M', '1G'])
    expect(rec.directMap['4k']).toBe(lin.mappedBytes.PTE)
    expect(rec.directMap['2M']).toBe(lin.mappedBytes.PMD)
    expect(rec.identity.kernel).toBe('6.12.117+deb12-arm64')
    expect(rec.identity.cmdline).toContain('kfence.sample_interval')
    // QEMU "max" CPU: cpuinfo implementer 0x00, variant 0, part 0x051, revision 0 → MIDR 0x000f0510.
    expect(rec.identity.midrs).toEqual([{midr: '0x000f0510', cpus: 2}])
    expect(rec.host).toBe(b) // hostname "(none)" → the bundle path
    expect(rec.splits).toBeUndefined()
  })

  it('replays the 6.19 trace from .before for the split counters, beside the probed ground truth', async () => {
    const b = 'samples/linux-6.19-bbml2-qemu/max-2G-default'
    const rec = await auditHost({arg: b, dump: join(b, 'kernel_page_tables.after'), bundle: b})
    expect(rec.splits!.policy).toBe('bbml2')
    expect(rec.splits!.from).toBe(join(b, 'kernel_page_tables.before'))
    // kprobe hits of the kernel's own split helpers over the whole trace (the capture's kprobe_profile says the same).
    expect(rec.splits!.truth).toMatchObject({split_pmd: 56, split_contpmd: 6, split_contpte: 1488})
    expect(rec.splits!.counters.split_contpte).toBe(1488)
  })

  it('names DirectMap by the granule: 64K pages map 64k / 2M (cont-PTE) / 512M / 16G (cont-PMD)', async () => {
    const m = synthMachine({memoryBytes: 8 * 2 ** 30, pageSize: 65536, vaBits: 48, policy: 'bbml2'})
    const file = join(dir, 'm64k.txt')
    writeFileSync(file, [...renderMachine(m)].join('\n') + '\n')
    const rec = await auditHost({arg: file, dump: file})
    expect(Object.keys(rec.directMap)).toEqual(['64k', '2M', '512M', '16G'])
    expect(rec.pageSize).toBe(65536)
  })

  it('MIDR_EL1 layout: Neoverse N1 r3p1 is 0x413fd0c1', () => {
    expect(midrHex({implementer: 0x41, variant: 3, part: 0xd0c, revision: 1})).toBe('0x413fd0c1')
  })
})

describe('fleet command', () => {
  it('audits bundles and a bad dump: records as NDJSON, the error reported on stderr and counted, exit 1', async () => {
    const bad = join(dir, 'bad.txt')
    writeFileSync(bad, '---[ Linear Mapping start ]---\nthis is not a range line\n')
    const nd = join(dir, 'fleet.ndjson')
    const r = await runCommand<FleetResult>(Fleet, ['samples/*/*/', bad, '--ndjson', nd, '--jobs', '2', '--no-replay'])
    expect(r.exit).toBe(1)
    expect(r.stderr).toContain(`host failed: ${bad}`)
    expect(r.stderr).toMatch(/bad\.txt:2: expected a range line/)
    const lines = readFileSync(nd, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l))
    expect(lines).toHaveLength(BUNDLES.length + 1)
    const ok = lines.filter((l) => !l.error)
    expect(ok.map((l) => l.bundle).sort()).toEqual(BUNDLES)
    expect(lines.find((l) => l.error).dump).toBe(bad)
    // Eligibility per host from its bundle (src/report/eligibility.ts; test/report/eligibility.test.ts).
    const status = Object.fromEntries(ok.map((l) => [l.bundle, l.eligibility.status]))
    expect(status).toMatchObject({
      'samples/debian-6.1-qemu/max-2G-default': 'blocked:kernel',
      'samples/debian-6.1-qemu/max-2G-rodata-on': 'eligible',
      'samples/debian-6.12-qemu/max-2G-default': 'blocked:kernel',
      'samples/debian-6.12-qemu/max-2G-kfence': 'blocked:kernel',
      'samples/linux-6.19-bbml2-qemu/max-2G-default': 'eligible',
      'samples/linux-7.3-debian-qemu/ampere1a-2G-default': 'eligible',
      'samples/linux-7.3-debian-qemu/max-2G-default': 'blocked:cpu',
    })
    expect(ok.every((l) => l.eligibility.reasons === undefined && typeof l.eligibility.reason === 'string')).toBe(true)
    expect(ok.find((l) => l.bundle.endsWith('7.3-debian-qemu/max-2G-default')).eligibility.forecast.savedLinearTableBytes).toBeGreaterThan(4e6)
    // The summary is computed from the same records.
    expect(r.stdout).toContain(`${BUNDLES.length} hosts audited, 1 failed`)
    const sum = ok.reduce((a, l) => a + l.tableBytes, 0)
    expect(r.stdout).toMatch(/worst hosts/)
    const sorted = ok.map((l) => l.tableBytes).sort((a, b) => a - b)
    const j = await runCommand<FleetResult>(Fleet, ['samples/*/*/', '--json', '--no-replay', '--jobs', '3'])
    expect(j.exit).toBe(0)
    expect(j.result!.hosts).toBe(BUNDLES.length)
    expect(j.result!.tableBytes).toEqual({sum, p50: percentile(sorted, 50), p90: percentile(sorted, 90), max: sorted.at(-1)})
    expect(j.result!.worst[0]!.tableBytes).toBe(sorted.at(-1))
    expect(Object.values(j.result!.byEligibility).reduce((a, b) => a + b, 0)).toBe(BUNDLES.length)
    expect(j.result!.byEligibility['blocked:kernel']).toBeGreaterThanOrEqual(3)
    expect(j.result!.forecastSavedTableBytes).toBe(ok.reduce((a, l) => a + l.eligibility.forecast.savedTableBytes, 0))
    expect(j.stdout.trim().startsWith('{')).toBe(true) // --json: only the summary object on stdout
  })

  it('writes records to stdout and the summary to stderr without --ndjson', async () => {
    const r = await runCommand<FleetResult>(Fleet, ['samples/debian-6.1-qemu/max-2G-rodata-on', '--no-replay'])
    expect(r.exit).toBe(0)
    const rec = JSON.parse(r.stdout)
    expect(rec.identity.cmdline).toContain('rodata=on')
    expect(r.stderr).toContain('1 hosts audited, 0 failed')
  })

  it('percentile is nearest-rank', () => {
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5)
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9)
    expect(percentile([7], 90)).toBe(7)
  })
})
