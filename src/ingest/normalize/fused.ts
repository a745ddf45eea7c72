/**
 * The fused fast path's decode plan: how a reader that splits a line's argument values itself
 * (tracefs fastProbeEvent) turns the values of one probe into the TraceEvent fields normalize()
 * would set, without a RawRecord. A plan mirrors one decoder of args.ts, reads the arguments its
 * pick lists name (resolved once to positions), and leaves everything else to the RawRecord path.
 */
import type {DirectMapOp, EventKind, SetMemoryOp, TraceEvent} from '../events.js'
import type {Kva} from '../../model/address.js'
import {
  ARG_ADDR,
  ARG_CLEAR_MASK,
  ARG_NUMPAGES,
  ARG_PAGE,
  ARG_SET_MASK,
  ARG_SIZE,
  ARG_SPLIT_ADDR,
  ARG_SPLIT_END,
  ARG_SPLIT_START,
  RET_ARGS,
  decodeChangeMemoryCommon,
  decodeChangeRangeBytes,
  decodeSetMemory,
  decodeSplitAddr,
  decodeSplitRange,
} from './args.js'
import {decodeDirectMap} from './direct-map.js'
import type {Resolved} from './functions.js'
import {int32At, parseAddr, parseAddrAt, u64, uintAt} from './values.js'

/** What the fused decoders need of the Normalizer that made the plan. */
export interface FusedContext {
  readonly pageSize: number
  readonly stats: {directMapPagesWithoutVmemmap: number}
  pageToVirt(page: Kva): Kva | undefined
  mask(text: string): {mask: bigint; names: string[]} | undefined
}

/** Fused decoders (Normalizer.fusedPlan): which decoder a plan mirrors. */
const F_NONE = 0
const F_RET = 1
const F_SET_MEMORY = 2
const F_CHANGE_COMMON = 3
const F_CHANGE_BYTES = 4
const F_SPLIT_RANGE = 5
const F_SPLIT_ADDR = 6
const F_DIRECT_MAP = 7

/** How the lines of one probe become events on the fused fast path (Normalizer.fusedPlan). */
export interface FusedPlan {
  /** The normalizer the plan was made by (options and --map differ between readTrace calls). */
  owner: FusedContext
  kind: EventKind
  fn: string
  probe: string
  op: SetMemoryOp | DirectMapOp | undefined
  decode: number
  /** Argument positions (in the probe's argument names) of the decoder's values; -1 absent. */
  a: number
  b: number
  set: number
  clear: number
  retInt: boolean
  /** The last mask / return texts seen and what they decoded to (they rarely change). */
  setText: string
  setMask: {mask: bigint; names: string[]} | undefined
  clearText: string
  clearMask: {mask: bigint; names: string[]} | undefined
  retText: string
  ret: bigint | undefined
}

/**
 * The plan for the lines of probe `event`, resolved to `r` by its normalizer `owner`, whose
 * argument names are `argNames` in order (Normalizer.fusedPlan). Undefined when normalize() would do more
 * than the fused decoders do.
 */
export function makeFusedPlan(owner: FusedContext, event: string, r: Resolved, argNames: readonly string[]): FusedPlan | undefined {
  const at = (names: readonly string[]): number => {
    for (let i = 0; i < names.length; i++) {
      const k = argNames.indexOf(names[i]!)
      if (k >= 0) return k
    }
    return -1
  }
  const plan: FusedPlan = {owner, kind: r.kind, fn: r.fn, probe: event, op: r.spec?.op, decode: F_NONE, a: -1, b: -1, set: -1, clear: -1, retInt: false, setText: '', setMask: undefined, clearText: '', clearMask: undefined, retText: '', ret: undefined}
  if (r.isReturn) {
    if (r.spec?.retPtr) return undefined
    let k = at(RET_ARGS)
    if (k < 0 && argNames.length === 1) k = 0 // singleArg()
    if (k >= 0) {
      plan.decode = F_RET
      plan.a = k
      plan.retInt = r.spec?.retInt === true
    }
    return plan
  }
  const decode = r.spec?.decode
  if (decode === undefined) return plan
  if (decode === decodeSetMemory || decode === decodeChangeMemoryCommon) {
    plan.decode = decode === decodeSetMemory ? F_SET_MEMORY : F_CHANGE_COMMON
    plan.a = at(ARG_ADDR)
    plan.b = at(ARG_NUMPAGES)
  } else if (decode === decodeChangeRangeBytes) {
    plan.decode = F_CHANGE_BYTES
    plan.a = at(ARG_ADDR)
    plan.b = at(ARG_SIZE)
  } else if (decode === decodeSplitRange) {
    plan.decode = F_SPLIT_RANGE
    plan.a = at(ARG_SPLIT_START)
    plan.b = at(ARG_SPLIT_END)
    return plan.a < 0 ? undefined : plan
  } else if (decode === decodeSplitAddr) {
    plan.decode = F_SPLIT_ADDR
    plan.a = at(ARG_SPLIT_ADDR)
    return plan.a < 0 ? undefined : plan
  } else if (decode === decodeDirectMap && plan.op !== 'valid') {
    plan.decode = F_DIRECT_MAP
    plan.a = at(ARG_PAGE)
    return plan.a < 0 ? undefined : plan
  } else return undefined
  if (plan.a < 0 || plan.b < 0) return undefined
  if (plan.decode === F_CHANGE_COMMON || plan.decode === F_CHANGE_BYTES) {
    plan.set = at(ARG_SET_MASK)
    plan.clear = at(ARG_CLEAR_MASK)
    if (plan.set < 0 || plan.clear < 0) return undefined
  }
  return plan
}

/** Normalizer.decodeFused: the fields `plan`'s decoder sets from `line[vs[k], ve[k])`, or false. */
export function decodeFused(n: FusedContext, plan: FusedPlan, line: string, vs: Int32Array, ve: Int32Array, ev: TraceEvent): boolean {
  switch (plan.decode) {
    case F_NONE:
      return true
    case F_RET: {
      const s = vs[plan.a]!
      const e = ve[plan.a]!
      if (plan.ret !== undefined && e - s === plan.retText.length && line.startsWith(plan.retText, s)) {
        ev.ret = plan.ret
        return true
      }
      const text = line.slice(s, e)
      const x = u64(text)
      if (x === undefined) return false
      ev.ret = plan.retInt ? BigInt.asIntN(32, x) : x
      plan.retText = text
      plan.ret = ev.ret
      return true
    }
    case F_SPLIT_ADDR:
      return fusedAddr(line, vs[plan.a]!, ve[plan.a]!, ev)
    case F_SPLIT_RANGE: {
      if (!fusedAddr(line, vs[plan.a]!, ve[plan.a]!, ev)) return false
      if (plan.b < 0) return true
      const end = parseAddrAt(line, vs[plan.b]!, ve[plan.b]!)
      if (end === undefined) return false
      ev.end = end
      if (ev.addr !== undefined && end >= ev.addr) ev.size = end - ev.addr
      return true
    }
    case F_DIRECT_MAP: {
      const text = line.slice(vs[plan.a]!, ve[plan.a]!)
      const page = parseAddr(text)
      if (page === undefined) return false
      ev.addrText = text
      ev.page = page
      ev.pages = 1
      ev.size = n.pageSize
      ev.addr = n.pageToVirt(page)
      if (ev.addr === undefined) n.stats.directMapPagesWithoutVmemmap++
      return true
    }
    case F_SET_MEMORY:
    case F_CHANGE_COMMON: {
      if (!fusedAddr(line, vs[plan.a]!, ve[plan.a]!, ev)) return false
      const p = int32At(line, vs[plan.b]!, ve[plan.b]!)
      if (p === undefined) return false
      ev.pages = p
      if (p >= 0) ev.size = p * n.pageSize
      return plan.decode === F_SET_MEMORY || fusedMasks(n, plan, line, vs, ve, ev)
    }
    case F_CHANGE_BYTES: {
      if (!fusedAddr(line, vs[plan.a]!, ve[plan.a]!, ev)) return false
      const v = uintAt(line, vs[plan.b]!, ve[plan.b]!)
      if (v === undefined) return false
      ev.size = v
      if (v % n.pageSize === 0) ev.pages = v / n.pageSize
      return fusedMasks(n, plan, line, vs, ve, ev)
    }
  }
  return false
}

function fusedAddr(line: string, s: number, e: number, ev: TraceEvent): boolean {
  const a = parseAddrAt(line, s, e)
  if (a === undefined) return false
  ev.addrText = line.slice(s, e)
  ev.addr = a
  return true
}

function fusedMasks(n: FusedContext, plan: FusedPlan, line: string, vs: Int32Array, ve: Int32Array, ev: TraceEvent): boolean {
  let s = vs[plan.set]!
  let e = ve[plan.set]!
  if (plan.setMask === undefined || e - s !== plan.setText.length || !line.startsWith(plan.setText, s)) {
    const text = line.slice(s, e)
    const m = n.mask(text)
    if (m === undefined) return false
    plan.setText = text
    plan.setMask = m
  }
  s = vs[plan.clear]!
  e = ve[plan.clear]!
  if (plan.clearMask === undefined || e - s !== plan.clearText.length || !line.startsWith(plan.clearText, s)) {
    const text = line.slice(s, e)
    const m = n.mask(text)
    if (m === undefined) return false
    plan.clearText = text
    plan.clearMask = m
  }
  ev.setMask = plan.setMask.mask
  ev.setNames = plan.setMask.names
  ev.clearMask = plan.clearMask.mask
  ev.clearNames = plan.clearMask.names
  return true
}
