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
import {int32Bytes, parseAddr, parseAddrBytes, u64, uintBytes} from './values.js'

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

/**
 * Normalizer.decodeFused: the fields `plan`'s decoder sets from the bytes `buf[vs[k], ve[k])` of
 * a line whose characters are `text[vs[k] + off, ve[k] + off)` (strings are cut from the text
 * only for what the event keeps or a decoder reads as text), or false.
 */
export function decodeFused(n: FusedContext, plan: FusedPlan, buf: Uint8Array, text: string, off: number, vs: Int32Array, ve: Int32Array, ev: TraceEvent): boolean {
  switch (plan.decode) {
    case F_NONE:
      return true
    case F_RET: {
      const s = vs[plan.a]!
      const e = ve[plan.a]!
      if (plan.ret !== undefined && sameText(buf, s, e, plan.retText)) {
        ev.ret = plan.ret
        return true
      }
      const t = text.slice(s + off, e + off)
      const x = u64(t)
      if (x === undefined) return false
      ev.ret = plan.retInt ? BigInt.asIntN(32, x) : x
      plan.retText = t
      plan.ret = ev.ret
      return true
    }
    case F_SPLIT_ADDR:
      return fusedAddr(buf, vs[plan.a]!, ve[plan.a]!, text, off, ev)
    case F_SPLIT_RANGE: {
      if (!fusedAddr(buf, vs[plan.a]!, ve[plan.a]!, text, off, ev)) return false
      if (plan.b < 0) return true
      const end = parseAddrBytes(buf, vs[plan.b]!, ve[plan.b]!, text, off)
      if (end === undefined) return false
      ev.end = end
      if (ev.addr !== undefined && end >= ev.addr) ev.size = end - ev.addr
      return true
    }
    case F_DIRECT_MAP: {
      const t = text.slice(vs[plan.a]! + off, ve[plan.a]! + off)
      const page = parseAddr(t)
      if (page === undefined) return false
      ev.addrText = t
      ev.page = page
      ev.pages = 1
      ev.size = n.pageSize
      ev.addr = n.pageToVirt(page)
      if (ev.addr === undefined) n.stats.directMapPagesWithoutVmemmap++
      return true
    }
    case F_SET_MEMORY:
    case F_CHANGE_COMMON: {
      if (!fusedAddr(buf, vs[plan.a]!, ve[plan.a]!, text, off, ev)) return false
      const p = int32Bytes(buf, vs[plan.b]!, ve[plan.b]!, text, off)
      if (p === undefined) return false
      ev.pages = p
      if (p >= 0) ev.size = p * n.pageSize
      return plan.decode === F_SET_MEMORY || fusedMasks(n, plan, buf, text, off, vs, ve, ev)
    }
    case F_CHANGE_BYTES: {
      if (!fusedAddr(buf, vs[plan.a]!, ve[plan.a]!, text, off, ev)) return false
      const v = uintBytes(buf, vs[plan.b]!, ve[plan.b]!, text, off)
      if (v === undefined) return false
      ev.size = v
      if (v % n.pageSize === 0) ev.pages = v / n.pageSize
      return fusedMasks(n, plan, buf, text, off, vs, ve, ev)
    }
  }
  return false
}

/** `buf[s, e)` holds the characters of `t` (an ASCII argument value seen before). */
function sameText(buf: Uint8Array, s: number, e: number, t: string): boolean {
  if (e - s !== t.length) return false
  for (let k = 0; k < t.length; k++) if (buf[s + k] !== t.charCodeAt(k)) return false
  return true
}

function fusedAddr(buf: Uint8Array, s: number, e: number, text: string, off: number, ev: TraceEvent): boolean {
  const a = parseAddrBytes(buf, s, e, text, off)
  if (a === undefined) return false
  ev.addrText = text.slice(s + off, e + off)
  ev.addr = a
  return true
}

function fusedMasks(n: FusedContext, plan: FusedPlan, buf: Uint8Array, text: string, off: number, vs: Int32Array, ve: Int32Array, ev: TraceEvent): boolean {
  let s = vs[plan.set]!
  let e = ve[plan.set]!
  if (plan.setMask === undefined || !sameText(buf, s, e, plan.setText)) {
    const t = text.slice(s + off, e + off)
    const m = n.mask(t)
    if (m === undefined) return false
    plan.setText = t
    plan.setMask = m
  }
  s = vs[plan.clear]!
  e = ve[plan.clear]!
  if (plan.clearMask === undefined || !sameText(buf, s, e, plan.clearText)) {
    const t = text.slice(s + off, e + off)
    const m = n.mask(t)
    if (m === undefined) return false
    plan.clearText = t
    plan.clearMask = m
  }
  ev.setMask = plan.setMask.mask
  ev.setNames = plan.setMask.names
  ev.clearMask = plan.clearMask.mask
  ev.clearNames = plan.clearMask.names
  return true
}
