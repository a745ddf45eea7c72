/**
 * The machine facts a capture bundle keeps beside its snapshots (the samples/ layout; see
 * `ptreplay capture-script`): version.txt, cmdline, cpuinfo, dmesg, ID_AA64MMFR2_EL1 and the
 * kernel config, read for the policy inference (kernel/infer-policy.ts), the eligibility
 * forecast and the reports' kernel line.
 */
import {existsSync, readFileSync, readdirSync} from 'node:fs'
import {dirname, join} from 'node:path'

import {isDirectory} from '../ingest/input.js'
import type {PolicyFacts} from '../kernel/infer-policy.js'

/** Facts files of a capture bundle (the samples/ layout; see `ptreplay capture-script`). The config is found by configFile(). */
const FACT_FILES: Record<keyof Omit<PolicyFacts, 'linearMapPteOnly' | 'config'>, string[]> = {
  version: ['version.txt', 'uname.txt'],
  cmdline: ['cmdline'],
  cpuinfo: ['cpuinfo'],
  dmesg: ['dmesg.boot.txt', 'dmesg.txt'],
  idAa64mmfr2: ['id_aa64mmfr2_el1'],
}

/**
 * The kernel config of a bundle: `config`, `config-<release>` (as /boot names it), `config.excerpt`
 * or `.config`, a full one before an excerpt, in the snapshot's folder and then one folder up.
 */
function configFile(dir: string): string | undefined {
  for (const d of [dir, dirname(dir)]) {
    let names: string[]
    try {
      names = readdirSync(d)
    } catch {
      continue
    }
    const full = ['config', ...names.filter((f) => /^config-\S+$/.test(f) && f !== 'config.excerpt').sort(), '.config'].find((f) => names.includes(f))
    if (full) return join(d, full)
    if (names.includes('config.excerpt')) return join(d, 'config.excerpt')
  }
  return undefined
}

/**
 * Read the machine facts that sit beside a snapshot in a capture bundle (its folder, and the
 * config one folder up as the older samples have it). Missing files are simply absent facts.
 */
export function loadFacts(ptdumpPath: string): {facts: PolicyFacts; files: string[]} {
  const facts: PolicyFacts = {}
  const files: string[] = []
  if (ptdumpPath === '-' || ptdumpPath === '<stdin>') return {facts, files}
  // A bundle directory, or a snapshot inside one (snapshot.source names the file taken).
  const dir = isDirectory(ptdumpPath) ? ptdumpPath : dirname(ptdumpPath)
  for (const [key, names] of Object.entries(FACT_FILES) as [keyof typeof FACT_FILES, string[]][]) {
    for (const n of names) {
      const p = join(dir, n)
      if (existsSync(p)) {
        facts[key] = readFileSync(p, 'utf8')
        files.push(p)
        break
      }
    }
  }
  const cfg = configFile(dir)
  if (cfg) {
    facts.config = readFileSync(cfg, 'utf8')
    files.push(cfg)
  }
  return {facts, files}
}

/** The kernel a bundle names (version.txt's first line), for the reports' headers. */
export function kernelLine(facts: PolicyFacts): string | undefined {
  return facts.version?.trim().split('\n')[0]
}
