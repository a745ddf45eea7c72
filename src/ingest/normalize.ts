/**
 * RawRecord → TraceEvent: give a tokenized record its kernel meaning.
 *
 * Which kernel function a record is: the probed symbol in the IP field first
 * (`(set_memory_ro+0x0/0x30)` → set_memory_ro; for a return probe the function after `<-`), the
 * event name second (users name probes freely: `p_set_memory_ro_0`, `set_memory_ro_ret`,
 * `vfs_read__entry`, or short names `dm_invalid`, `cmc`, `urp`: docs/trace-text-quirks.md#event-names), and a user
 * map `--map NAME=KIND` (NAME an event or symbol; KIND a kernel function from FUNCTIONS or an
 * EventKind) overrides both. The table FUNCTIONS is data (normalize/functions.ts): one row per
 * kernel function, its kind/op and which arguments carry what (normalize/args.ts;
 * arch/arm64/mm/pageattr.c, mmu.c, mm/vmalloc.c, mm/execmem.c; 6.1–6.19).
 *
 * Argument values (normalize/values.ts, docs/trace-text-quirks.md#radix): look at the `0x` prefix,
 * never assume a radix from the name; `int` arguments fetched from a 64-bit register (`%x1`
 * without `:s32`) carry garbage in bits 63:32 (AAPCS64), so they are cut to 32 bits and
 * sign-extended. set_direct_map_*(struct page *) → linear-map VA: normalize/direct-map.ts; the
 * fused fast path's decode plan: normalize/fused.ts.
 */
import {STRUCT_PAGE_SIZE} from '../model/memory.js'
import {type Kva, kvaFromBigInt} from '../model/address.js'
import {hwMaskNames} from '../model/prot.js'
import {type EventKind, REPEATED_ARG, type RawRecord, type TraceEvent} from './events.js'
import {InputError} from './source.js'
import {ARG_CLEAR_MASK, ARG_SET_MASK, type DecodeContext, RET_ARGS, pick} from './normalize/args.js'
import {structPageToVirt, type VmemmapLayout} from './normalize/direct-map.js'
import {EVENT_KINDS, FUNCTIONS, type Resolved, baseSymbol, functionFromEventName, isReturnName} from './normalize/functions.js'
import {type FusedContext, type FusedPlan, decodeFused, makeFusedPlan} from './normalize/fused.js'
import {int32, parseAddr, u64} from './normalize/values.js'

export interface NormalizeOptions {
  /** `--map NAME=KIND`: NAME is an event name or probed symbol; KIND a function of FUNCTIONS or an EventKind. */
  map?: Record<string, string>
  /** PAGE_SIZE of the traced kernel (numpages → bytes). Default 4096. */
  pageSize?: number
  /** VMEMMAP_START of the traced kernel, for set_direct_map_*(struct page *) → linear-map VA. */
  vmemmapStart?: Kva
  /** PAGE_OFFSET (start of the linear map), with vmemmapStart. */
  pageOffset?: Kva
  /** sizeof(struct page). 64 on arm64 unless a debug option grows it. */
  structPageSize?: number
}

export interface NormalizeStats {
  /** set_direct_map_* events whose struct page could not be turned into a VA (no vmemmap base given, or out of range). */
  directMapPagesWithoutVmemmap: number
  /** Events whose address/size arguments did not decode (kept, fields left undefined). */
  badArgs: number
}

export class Normalizer implements DecodeContext, FusedContext {
  readonly pageSize: number
  readonly stats: NormalizeStats = {directMapPagesWithoutVmemmap: 0, badArgs: 0}
  /** Called for each decoding problem (the caller counts/caps them). */
  onDiagnostic: (d: {src: RawRecord['src']; code: string; message: string}) => void = () => {}
  private readonly map: Record<string, {fn?: string; kind?: EventKind}>
  private readonly cache = new Map<string, Resolved[]>()
  private readonly maskCache = new Map<string, {mask: bigint; names: string[]}>()
  private readonly vmemmap: VmemmapLayout

  constructor(opts: NormalizeOptions = {}) {
    this.pageSize = opts.pageSize ?? 4096
    if (!(this.pageSize > 0 && Number.isInteger(Math.log2(this.pageSize)))) {
      throw new InputError(`page size ${opts.pageSize}: expected a power of two (4096, 16384, 65536)`)
    }
    this.vmemmap = {vmemmapStart: opts.vmemmapStart, pageOffset: opts.pageOffset, pageSize: this.pageSize, structPageSize: opts.structPageSize ?? STRUCT_PAGE_SIZE}
    this.map = Object.create(null)
    for (const [name, target] of Object.entries(opts.map ?? {})) {
      if (FUNCTIONS[target]) this.map[name] = {fn: target}
      else if (EVENT_KINDS.has(target)) this.map[name] = {kind: target as EventKind}
      else {
        throw new InputError(
          `--map ${name}=${target}: expected a kernel function (${Object.keys(FUNCTIONS).slice(0, 6).join(', ')}, …) or an event kind (${[...EVENT_KINDS].join(', ')})`,
        )
      }
    }
  }

  /** The linear-map VA of a struct page pointer (arm64 page_to_virt(): structPageToVirt). */
  pageToVirt(page: Kva): Kva | undefined {
    return structPageToVirt(this.vmemmap, page)
  }

  bad(rec: RawRecord, what: string, text: string | undefined): void {
    this.stats.badArgs++
    this.onDiagnostic({
      src: rec.src,
      code: 'bad-arg',
      message: `${rec.src.file}:${rec.src.line}: ${rec.event}: expected ${what} ${text === undefined ? 'argument' : 'value'}, got ${text === undefined ? 'none' : `'${text}'`}`,
    })
  }

  decodeAddr(rec: RawRecord, ev: TraceEvent, text: string | undefined): void {
    ev.addrText = text
    const a = text === undefined ? undefined : parseAddr(text)
    if (a === undefined) this.bad(rec, 'a kernel address', text)
    else ev.addr = a
  }

  decodePages(rec: RawRecord, ev: TraceEvent, text: string | undefined): void {
    const p = text === undefined ? undefined : int32(text)
    if (p === undefined) {
      this.bad(rec, 'numpages', text)
      return
    }
    ev.pages = p
    if (p >= 0) ev.size = p * this.pageSize
  }

  decodeMasks(rec: RawRecord, ev: TraceEvent): void {
    const s = pick(rec.args, ARG_SET_MASK)
    const c = pick(rec.args, ARG_CLEAR_MASK)
    const sm = s === undefined ? undefined : this.mask(s)
    const cm = c === undefined ? undefined : this.mask(c)
    if (sm) {
      ev.setMask = sm.mask
      ev.setNames = sm.names
    } else this.bad(rec, 'set_mask', s)
    if (cm) {
      ev.clearMask = cm.mask
      ev.clearNames = cm.names
    } else this.bad(rec, 'clear_mask', c)
  }

  /** A set/clear mask text → its value and hardware bit names, memoised (the texts rarely change). */
  mask(text: string): {mask: bigint; names: string[]} | undefined {
    let m = this.maskCache.get(text)
    if (!m) {
      const v = u64(text)
      if (v === undefined) return undefined
      m = {mask: v, names: hwMaskNames(v)}
      if (this.maskCache.size < 4096) this.maskCache.set(text, m)
    }
    return m
  }

  private resolve(rec: RawRecord): Resolved {
    const event = rec.event
    let list = this.cache.get(event)
    if (list) {
      for (let i = 0; i < list.length; i++) {
        const r = list[i]!
        if (r.sym === rec.probeSymbol && r.ret === rec.returnFrom) return r
      }
    } else {
      // bounded: a file of garbage event names must not grow the cache without limit
      if (this.cache.size >= 4096) this.cache.clear()
      list = []
      this.cache.set(event, list)
    }
    const r = this.resolveSlow(rec)
    if (list.length < 16) list.push(r)
    return r
  }

  private resolveSlow(rec: RawRecord): Resolved {
    const event = rec.event
    const sym = rec.probeSymbol === undefined ? undefined : baseSymbol(rec.probeSymbol)
    const retSym = rec.returnFrom !== undefined && !rec.returnFrom.startsWith('0x') ? baseSymbol(rec.returnFrom) : undefined
    const byName = functionFromEventName(event)
    let isReturn = rec.returnFrom !== undefined || (byName?.ret ?? false) || (sym === undefined && isReturnName(event))
    const base = {sym, ret: rec.returnFrom}
    const isMarker =
      event === 'tracing_mark_write' ||
      ((event === 'print' || rec.group === 'ftrace') && (rec.text ?? '').startsWith('tracing_mark_write: '))
    // 1. the user's map, by event name then by symbol
    const m = this.map[event] ?? (retSym ? this.map[retSym] : undefined) ?? (sym ? this.map[sym] : undefined)
    if (m) {
      if (m.fn) {
        const spec = FUNCTIONS[m.fn]!
        return {...base, fn: m.fn, kind: isReturn ? 'return' : spec.kind, spec, isReturn, isMarker: spec.kind === 'marker'}
      }
      const kind = m.kind!
      if (kind === 'return') isReturn = true
      const fn = retSym ?? sym ?? byName?.fn ?? event
      return {...base, fn, kind, spec: FUNCTIONS[fn], isReturn, isMarker: kind === 'marker'}
    }
    if (isMarker) return {...base, fn: 'tracing_mark_write', kind: 'marker', spec: FUNCTIONS.tracing_mark_write, isReturn: false, isMarker}
    // 2. the probed symbol
    const s = isReturn ? retSym : sym
    if (s !== undefined && FUNCTIONS[s]) {
      const spec = FUNCTIONS[s]
      return {...base, fn: s, kind: isReturn ? 'return' : spec.kind, spec, isReturn, isMarker: false}
    }
    // 3. the event name
    if (byName && (s === undefined || rec.probeIp !== undefined)) {
      const spec = FUNCTIONS[byName.fn]!
      return {...base, fn: byName.fn, kind: isReturn ? 'return' : spec.kind, spec, isReturn, isMarker: false}
    }
    if (byName && s !== undefined) {
      // the IP names an unrelated function but the name is a known one: trust the IP (users name freely)
      return {...base, fn: s, kind: isReturn ? 'return' : 'other', spec: undefined, isReturn, isMarker: false}
    }
    return {...base, fn: s ?? retSym ?? event, kind: isReturn ? 'return' : 'other', spec: undefined, isReturn, isMarker: false}
  }

  /**
   * What a fused reader fast path (tracefs fastProbeEvent) does with the lines of one probe:
   * event name, probed symbol, return-from and the argument names in order, as the line shows
   * them. Undefined when normalize() would do more than the fused decoders do (markers, free
   * text, vm_alloc/vfree/module/set_memory_valid/set_direct_map_valid decoders, user maps to a
   * kind without a function, a required argument missing): those lines take the RawRecord path.
   * The plan reads the arguments normalize() would pick (the same pick lists, resolved once to
   * positions in `argNames`).
   */
  fusedPlan(event: string, probeSymbol: string | undefined, returnFrom: string | undefined, argNames: readonly string[]): FusedPlan | undefined {
    // resolveSlow, not resolve: the memo keyed by (event, symbol, return-from) is left to
    // normalize(), filled in the same order as without the fused path. `print` is excluded: only
    // it resolves differently with a text (ftrace print of a marker), and fused lines have none.
    if (event === 'print') return undefined
    const r = this.resolveSlow({event, probeSymbol, returnFrom, args: {}} as unknown as RawRecord)
    if (r.isMarker) return undefined
    return makeFusedPlan(this, event, r, argNames)
  }

  /**
   * Decode the arguments of a fused event: value k of the line is the bytes `buf[vs[k], ve[k])`,
   * the characters `text[vs[k] + off, ve[k] + off)`. Sets the
   * fields normalize() sets for the plan's decoder and returns true; returns false, changing no
   * state but `ev`, when a value is not one the decoder accepts (the caller then discards `ev`
   * and the RawRecord path reports it).
   */
  decodeFused(plan: FusedPlan, buf: Uint8Array, text: string, off: number, vs: Int32Array, ve: Int32Array, ev: TraceEvent): boolean {
    return decodeFused(this, plan, buf, text, off, vs, ve, ev)
  }

  normalize(rec: RawRecord): TraceEvent {
    const repeated = (rec.args as Record<string | symbol, string>)[REPEATED_ARG]
    if (repeated !== undefined) {
      this.onDiagnostic({src: rec.src, code: 'repeated-arg', message: `${rec.src.file}:${rec.src.line}: ${rec.event}: argument ${repeated} given twice; the first value is kept`})
    }
    const r = this.resolve(rec)
    const ev: TraceEvent = {
      kind: r.kind,
      fn: r.fn,
      probe: rec.event,
      tsNs: rec.tsNs,
      cpu: rec.cpu,
      pid: rec.pid,
      comm: rec.comm,
      addr: undefined,
      addrText: undefined,
      end: undefined,
      size: undefined,
      pages: undefined,
      op: r.spec?.op,
      enable: undefined,
      setMask: undefined,
      clearMask: undefined,
      setNames: undefined,
      clearNames: undefined,
      page: undefined,
      ret: undefined,
      text: undefined,
      stack: rec.stack,
      args: rec.args,
      src: rec.src,
    }
    if (r.isMarker) {
      const arg = rec.args.text
      if (arg !== undefined) {
        // a kprobe on tracing_mark_write with `text=+0(%x1):ustring` (capture-script --tool perf/bpftrace)
        ev.text = arg.length >= 2 && arg.startsWith('"') && arg.endsWith('"') ? arg.slice(1, -1) : arg
      } else {
        const t = rec.text ?? ''
        ev.text = rec.event === 'tracing_mark_write' ? t : t.slice('tracing_mark_write: '.length)
      }
      return ev
    }
    if (r.isReturn) {
      const v = pick(rec.args, RET_ARGS) ?? singleArg(rec.args)
      if (v !== undefined) {
        const x = u64(v)
        if (x === undefined) this.bad(rec, 'return value', v)
        else if (r.spec?.retInt) ev.ret = BigInt.asIntN(32, x)
        else {
          ev.ret = x
          if (r.spec?.retPtr) {
            ev.addrText = v
            ev.addr = kvaFromBigInt(x)
          }
        }
      }
      return ev
    }
    if (r.spec?.decode) r.spec.decode(this, rec, ev)
    else if (ev.kind === 'other' && rec.text !== undefined) ev.text = rec.text
    return ev
  }
}

function singleArg(args: Record<string, string>): string | undefined {
  let v: string | undefined
  let n = 0
  for (const k in args) {
    v = args[k]
    if (++n > 1) return undefined
  }
  return v
}
