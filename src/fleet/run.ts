/**
 * `ptreplay fleet`: every host of the arguments audited in a pool of worker threads
 * (./pool.ts), each record handed to the caller as it completes (NDJSON, Prometheus) and folded
 * into the summary (./summary.ts). Per-host failures are reported through `onError` and counted;
 * the run goes on.
 */
import {existsSync} from 'node:fs'
import {availableParallelism} from 'node:os'
import type {Readable} from 'node:stream'
import {fileURLToPath} from 'node:url'

import {FLEET_SCHEMA, type HostAuditOptions, type HostError, type HostRecord, auditHost, describeHostError} from './host.js'
import {type HostInput, fleetInputs} from './inputs.js'
import {runPool} from './pool.js'
import {FleetAccumulator, type FleetSummary} from './summary.js'

/** The compiled worker beside this module; undefined when running from the TypeScript sources. */
export function fleetWorkerUrl(): URL | undefined {
  if (!import.meta.url.endsWith('.js')) return undefined
  const u = new URL('./worker.js', import.meta.url)
  return existsSync(fileURLToPath(u)) ? u : undefined
}

/** Default pool size: the cores this process may use. */
export function defaultJobs(): number {
  return availableParallelism()
}

export interface FleetOptions extends HostAuditOptions {
  jobs?: number
  stdin?: Readable
  /** Force the in-thread mode (tests, --jobs 0 is not offered). */
  inline?: boolean
  /** Each host's record, as it completes. */
  onRecord?: (r: HostRecord) => void | Promise<void>
  /** Each failed host, as it fails. */
  onError?: (e: HostError) => void | Promise<void>
  /** After every host: hosts done, errors so far. */
  onProgress?: (done: number, errors: number) => void
}

export interface FleetRun {
  summary: FleetSummary
  jobs: number
  /** 'threads' or 'inline' (no compiled worker: TypeScript sources). */
  mode: 'threads' | 'inline'
}

export async function runFleet(args: readonly string[], opts: FleetOptions = {}): Promise<FleetRun> {
  const jobs = Math.max(1, opts.jobs ?? defaultJobs())
  const hostOpts: HostAuditOptions = {pageSize: opts.pageSize, vaBits: opts.vaBits, strict: opts.strict, replay: opts.replay}
  const workerUrl = opts.inline ? undefined : fleetWorkerUrl()
  const acc = new FleetAccumulator()
  const outcomes = runPool<HostInput, HostRecord>(fleetInputs(args, opts.stdin), {
    jobs,
    workerUrl,
    workerData: hostOpts,
    inline: (input) => auditHost(input, hostOpts),
    describe: describeHostError,
  })
  for await (const o of outcomes) {
    if (o.ok) {
      acc.add(o.value)
      await opts.onRecord?.(o.value)
    } else {
      acc.addError()
      const err: HostError = {schema: FLEET_SCHEMA, host: o.input.bundle ?? o.input.dump, dump: o.input.dump, ...(o.input.bundle ? {bundle: o.input.bundle} : {}), error: o.error}
      await opts.onError?.(err)
    }
    opts.onProgress?.(acc.hosts + acc.errorCount, acc.errorCount)
  }
  return {summary: acc.summary(), jobs, mode: workerUrl ? 'threads' : 'inline'}
}
