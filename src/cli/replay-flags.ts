/**
 * Flags of the commands that replay a trace (replay, compare, verify), defined once.
 */
import {Args, Flags, type Interfaces} from '@oclif/core'

import {InputError} from '../ingest/source.js'
import {parseMapFlag} from './flags.js'
import type {TraceReadOptions} from '../ingest/trace/index.js'
import type {CollapseMode} from '../kernel/context.js'
import {POLICIES, type PolicyKnobs} from '../kernel/policy.js'
import {parseKernelVersion} from '../kernel/version.js'
import type {RunReplayOptions} from '../replay/run.js'

const POLICY_HELP = Object.values(POLICIES)
  .map((p) => `  ${p.name}: ${p.description}`)
  .join('\n')

/** A snapshot then one or more traces (the commands set `strict = false` to take several). */
export const snapshotTraceArgs = {
  ptdump: Args.string({description: 'ptdump snapshot the trace starts from (.gz ok)', required: true}),
  trace: Args.string({description: 'trace file(s): tracefs, trace-cmd report, perf script, bpftrace, CSV (.gz/.zst/.xz ok)', required: true}),
}

export const policyFlag = Flags.string({
  description: `Kernel behaviour to replay under: a preset, or "auto" to infer it from the capture (kernel version, cmdline, config, CPU MIDR, the snapshot's linear map) and print the reasoning.\n${POLICY_HELP}`,
  default: 'auto',
  helpGroup: 'POLICY',
})

export const knobFlags = {
  bbml2: Flags.boolean({description: 'Override: the system has BBML2_NOABORT (split on demand instead of PTE-only).', allowNo: true, helpGroup: 'POLICY'}),
  rodata: Flags.string({description: 'Override: rodata= as the kernel parses it (≤6.12: full|on|off; 6.19: on|noalias|off).', options: ['full', 'on', 'noalias', 'off'], helpGroup: 'POLICY'}),
  kfence: Flags.string({description: 'Override KFENCE: off (not built), early (sample_interval≠0 at boot), late (sample_interval=0).', options: ['off', 'early', 'late'], helpGroup: 'POLICY'}),
  collapse: Flags.string({description: 'Override the proposed collapse: none, rfc, both, order-aware, general.', options: ['none', 'rfc', 'both', 'order-aware', 'general'], helpGroup: 'POLICY'}),
  kernel: Flags.string({description: 'Override the kernel version modelled, e.g. 6.12 or 6.19.', helpGroup: 'POLICY'}),
}

export const traceFlags = {
  format: Flags.string({description: 'Trace format (default: detected per file): tracefs, trace-cmd, perf, bpftrace, bpftrace-json, csv.', helpGroup: 'TRACE'}),
  map: Flags.string({description: 'Map a probe/event NAME to a kernel function or kind, e.g. --map myprobe=set_memory_ro (repeatable).', multiple: true, helpGroup: 'TRACE'}),
  'from-marker': Flags.string({description: 'Start replaying after the first trace_marker write containing this text (e.g. "capture: bpf phase begin").', helpGroup: 'TRACE'}),
  'until-marker': Flags.string({description: 'Stop after the first trace_marker write containing this text.', helpGroup: 'TRACE'}),
}

/** `--policies a,b,…` (compare): the names in order, each a preset or `auto`; the first is the baseline. */
export function parsePolicyList(text: string): string[] {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean)
  if (!names.length) throw new InputError('--policies: give at least one policy')
  for (const n of names) if (n !== 'auto' && !(n in POLICIES)) throw new InputError(`--policies: unknown policy "${n}" (known: ${Object.keys(POLICIES).join(', ')}, auto)`)
  return names
}

/** The values of knobFlags, as oclif parses them. */
export type KnobFlagValues = Interfaces.InferredFlags<typeof knobFlags>

export function knobsFrom(flags: KnobFlagValues): PolicyKnobs {
  const version = flags.kernel ? parseKernelVersion(flags.kernel) : undefined
  if (flags.kernel && !version) throw new InputError(`--kernel ${flags.kernel}: expected a version like 6.12`)
  return {
    bbml2: flags.bbml2,
    rodata: flags.rodata as PolicyKnobs['rodata'],
    kfence: flags.kfence as PolicyKnobs['kfence'],
    collapse: flags.collapse as CollapseMode | undefined,
    version,
  }
}

/** The values of traceFlags, as oclif parses them. */
export type TraceFlagValues = Interfaces.InferredFlags<typeof traceFlags>

export function replayOptionsFrom(flags: TraceFlagValues, strict = false): RunReplayOptions {
  const trace: TraceReadOptions = {format: flags.format, map: parseMapFlag(flags.map), strict}
  return {fromMarker: flags['from-marker'], untilMarker: flags['until-marker'], trace}
}
