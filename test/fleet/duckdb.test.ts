/**
 * The README's DuckDB query over a generated fleet's NDJSON (@duckdb/node-api, in memory): its
 * sums equal the fleet summary ptreplay computed, overall and per (CPU, kernel) group.
 */
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {DuckDBInstance} from '@duckdb/node-api'
import {afterAll, describe, expect, it} from 'vitest'

import Fleet, {type FleetResult} from '../../src/commands/fleet.js'
import SynthFleet, {type SynthFleetResult} from '../../src/commands/synth/fleet.js'
import {runCommand} from '../helpers/run-command.js'

const dir = mkdtempSync(join(tmpdir(), 'ptreplay-duckdb-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

/** The first ```sql block of README "Fleets and Perfetto". */
function readmeQuery(): string {
  const readme = readFileSync('README.md', 'utf8')
  const section = readme.slice(readme.indexOf('## Fleets and Perfetto'))
  return /```sql\n([\s\S]*?)```/.exec(section)![1]!
}

describe('DuckDB over fleet NDJSON', () => {
  it("the README query's table bytes equal ptreplay's sum, per group and in total", async () => {
    const fleetDir = join(dir, 'fleet')
    const s = await runCommand<SynthFleetResult>(SynthFleet, ['--hosts', '24', '--output-dir', fleetDir, '--seed', '3', '--json'])
    expect(s.error).toBeUndefined()
    const nd = join(dir, 'fleet.ndjson')
    const f = await runCommand<FleetResult>(Fleet, [fleetDir, '--ndjson', nd, '--json'])
    expect(f.exit).toBe(0)
    expect(f.result!.hosts).toBe(24)

    const sql = readmeQuery().replace("'fleet.ndjson'", `'${nd}'`)
    const db = await DuckDBInstance.create(':memory:')
    const conn = await db.connect()
    const rows = (await conn.runAndReadAll(sql)).getRowObjectsJson() as {cpu: string; kernel: string; hosts: string; table_bytes: string; linear_table_bytes: string}[]
    conn.closeSync()

    const total = rows.reduce((a, r) => a + BigInt(r.table_bytes), 0n)
    expect(total).toBe(BigInt(f.result!.tableBytes.sum))
    expect(rows.reduce((a, r) => a + Number(r.hosts), 0)).toBe(24)
    expect(rows.reduce((a, r) => a + BigInt(r.linear_table_bytes), 0n)).toBe(BigInt(f.result!.linearTableBytes))
    // Per group, against the records themselves.
    const recs = readFileSync(nd, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    for (const r of rows) {
      const mine = recs.filter((x) => x.identity.cpu === r.cpu && x.identity.kernel === r.kernel)
      expect(BigInt(r.table_bytes)).toBe(BigInt(mine.reduce((a, x) => a + x.tableBytes, 0)))
    }
    // Worst first.
    expect(rows.map((r) => BigInt(r.table_bytes))).toEqual(rows.map((r) => BigInt(r.table_bytes)).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)))
  })
})
