/**
 * The kernel context a policy runs in, and with it the one choice of mechanism that is not
 * arm64's own: under the x86-cpa comparison policy (cfg.cpa 'x86') permission changes go through
 * x86's change_page_attr model (src/kernel/x86-cpa.ts) instead of update_range_prot() /
 * apply_to_page_range(). pageattr.c's mirror calls whatever mechanism the context carries and
 * never names another architecture.
 */
import type {PageTables} from '../model/pagetable.js'
import {type KernelConfig, type KernelContext, WarningLog, emptyCounters} from './context.js'
import {X86_CPA} from './x86-cpa.js'

export function makeContext(pt: PageTables, cfg: KernelConfig, extra: Partial<Pick<KernelContext, 'linear' | 'kfencePool'>> = {}): KernelContext {
  return {
    pt,
    geo: pt.geo,
    cfg,
    counters: emptyCounters(),
    errors: [],
    warnings: new WarningLog(),
    aliasUpdatesUnknown: 0,
    tablePagesAllocated: 0,
    tablePagesFreed: 0,
    ...(cfg.cpa === 'x86' ? {cpa: X86_CPA} : {}),
    ...extra,
  }
}
