/**
 * `ptreplay synth fleet`: N host bundles written into a directory, each as `capture-script` lays
 * one out (facts files and kernel_page_tables.after), every file through the atomic writer.
 */
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'

import {WriteError, writeFileAtomic} from '../report/atomic-file.js'
import {BootMachineCache, fleetHostDump, fleetHostFacts, fleetHostSpec} from './fleet.js'

export interface SynthFleetSummary {
  dir: string
  hosts: number
  bytes: number
  byPolicy: Record<string, number>
  byCpu: Record<string, number>
  byKernel: Record<string, number>
  fragmented: number
}

/** Write hosts 1..`hosts` of the fleet `seed` under `dir` (created); `onHost` after each one. */
export async function writeSynthFleet(dir: string, hosts: number, seed: number, onHost?: (done: number) => void): Promise<SynthFleetSummary> {
  const result: SynthFleetSummary = {dir, hosts: 0, bytes: 0, byPolicy: {}, byCpu: {}, byKernel: {}, fragmented: 0}
  // The output directory first, so a path that cannot be one is a bad-input error (exit 2)
  // before any work, like every other output, not an internal one.
  try {
    mkdirSync(dir, {recursive: true})
  } catch (e) {
    throw new WriteError(dir, (e as NodeJS.ErrnoException).code ?? String(e))
  }
  const cache = new BootMachineCache()
  for (let i = 1; i <= hosts; i++) {
    // let the event loop run between hosts: Ctrl-C (the SIGINT handler) stops the run here,
    // after the last whole bundle, instead of after the whole fleet
    if (i > 1) await new Promise<void>((resolve) => setImmediate(resolve))
    const spec = fleetHostSpec(seed, i)
    const host = join(dir, spec.hostname)
    mkdirSync(host, {recursive: true})
    // every file through the atomic writer: a symlink planted in an existing host directory is refused, not followed
    for (const [name, text] of Object.entries(fleetHostFacts(spec))) writeFileAtomic(join(host, name), text)
    const text = [...fleetHostDump(spec, cache, seed)].join('\n') + '\n'
    writeFileAtomic(join(host, 'kernel_page_tables.after'), text)
    result.hosts++
    result.bytes += text.length
    result.byPolicy[spec.policy] = (result.byPolicy[spec.policy] ?? 0) + 1
    result.byCpu[spec.cpu.name] = (result.byCpu[spec.cpu.name] ?? 0) + 1
    result.byKernel[spec.kernel] = (result.byKernel[spec.kernel] ?? 0) + 1
    if (spec.fragments) result.fragmented++
    onHost?.(i)
  }
  return result
}
