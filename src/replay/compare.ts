/**
 * `ptreplay compare`: one snapshot and its traces replayed once per policy, in the order given,
 * each over its own copy of the snapshot (runReplay), so the runs are side by side.
 */
import type {PtdumpSnapshot} from '../ingest/ptdump/index.js'
import type {PolicyFacts} from '../kernel/infer-policy.js'
import type {PolicyKnobs} from '../kernel/policy.js'
import {type ReplayRun, type RunReplayOptions, choosePolicy, runReplay} from './run.js'

export interface PolicyRun {
  /** The policy as given: a preset name or `auto`. */
  name: string
  /** As reports show it: `auto (bbml2)` for an inferred policy. */
  label: string
  run: ReplayRun
}

/**
 * Replay `traces` over `snapshot` under each policy of `names` (`auto` inferred from `facts`),
 * one pass over the traces each. `optionsFor(pass, name)` gives each pass its options (progress,
 * hooks); it is called after the pass's policy is chosen.
 */
export async function replayPolicies(
  snapshot: PtdumpSnapshot,
  traces: string[],
  names: readonly string[],
  knobs: PolicyKnobs,
  facts: PolicyFacts,
  optionsFor: (pass: number, name: string) => RunReplayOptions,
): Promise<PolicyRun[]> {
  const runs: PolicyRun[] = []
  for (const [pass, name] of names.entries()) {
    const choice = choosePolicy(name, knobs, snapshot, facts)
    const run = await runReplay(snapshot, traces, choice, optionsFor(pass, name))
    runs.push({name, label: name === 'auto' ? `auto (${choice.policy.name})` : name, run})
  }
  return runs
}
