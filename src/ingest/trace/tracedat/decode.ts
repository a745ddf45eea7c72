/**
 * Payload → RawRecord: the event id from `common_type`, the task from `common_pid` and the saved
 * cmdlines (`<idle>` for pid 0 and `<...>` for a pid without one, as libtraceevent's
 * tep_data_comm_from_pid()), the payload rendered from the event's own print fmt (printfmt.ts) and
 * then read by the same body parser as a `trace-cmd report` line (scan.ts parseBody with
 * libtraceevent's `(func <- site)` order), so a trace.dat event and its report line become the
 * same RawRecord, hence the same normalized event: kprobe/kretprobe IPs and args, tracepoint
 * `name=value` args, `print` markers (`tracing_mark_write: …`), module names.
 */
import type {RawRecord, SourcePos} from '../../events.js'
import {type Context, parseBody} from '../scan.js'
import type {EventFormat, Field} from './format.js'
import type {TraceDatMeta} from './header.js'
import {compilePrintFmt, type Payload, type RenderContext, renderFields} from './printfmt.js'
import {Kallsyms} from './kallsyms.js'

interface Compiled {
  ev: EventFormat
  render: (p: Payload, ctx: RenderContext) => string
  /** `name: ` */
  prefix: string
  /** A kprobe (`(%lx) a=0x%Lx …`): read straight into a record (see kprobePlan). */
  kprobe?: KprobePlan
}

/**
 * The print fmt the kernel gives every kprobe event (kernel/trace/trace_probe.c __set_print_fmt():
 * `(%lx)` of __probe_ip, then ` name=0x%Lx` / `0x%x` per hex fetcharg): the record parseBody would
 * make of its rendering — probeIp `0x…` (libtraceevent prints the IP bare), args `name → 0x…` in
 * order — built directly, without the text. Anything else takes the rendering path.
 */
interface KprobePlan {
  ip: Field
  args: {name: string; field: Field}[]
}

function kprobePlan(ev: EventFormat): KprobePlan | undefined {
  const fmt = ev.printFmt
  if (fmt === undefined || !fmt.startsWith('(%lx)') || ev.printArgs[0] !== 'REC->__probe_ip') return undefined
  const ip = ev.fields.find((f) => f.name === '__probe_ip')
  if (!ip || ip.size !== 8) return undefined
  const rest = fmt.slice(5)
  const re = / ([A-Za-z_]\w*)=0x%(Lx|x)/y
  const args: KprobePlan['args'] = []
  let i = 0
  while (i < rest.length) {
    re.lastIndex = i
    const m = re.exec(rest)
    if (!m) return undefined
    const field = ev.fields.find((f) => f.name === m[1])
    const argText = ev.printArgs[args.length + 1]
    if (!field || argText !== `REC->${m[1]}` || field.array || field.string) return undefined
    if (!(m[2] === 'Lx' ? field.size === 8 : field.size === 4) || field.signed) return undefined
    args.push({name: m[1]!, field})
    i = re.lastIndex
  }
  if (ev.printArgs.length !== args.length + 1) return undefined
  return {ip, args}
}

function hexAt(view: DataView, at: number, size: number, le: boolean): string {
  if (size === 4) return view.getUint32(at, le).toString(16)
  const lo = view.getUint32(le ? at : at + 4, le)
  const hi = view.getUint32(le ? at + 4 : at, le)
  return hi === 0 ? lo.toString(16) : hi.toString(16) + lo.toString(16).padStart(8, '0')
}

export class EventDecoder {
  private readonly byId = new Map<number, Compiled | null>()
  private readonly typeField: Field
  private readonly pidField: Field | undefined
  readonly rctx: RenderContext
  private readonly ctx: Context = {comm: '', pid: 0, tgid: undefined, cpu: 0, flags: undefined, tsNs: 0n, isCount: false, body: 0}

  constructor(private readonly meta: TraceDatMeta) {
    const any = meta.events.values().next().value as EventFormat | undefined
    this.typeField = any?.fields.find((f) => f.name === 'common_type') ?? {name: 'common_type', type: 'unsigned short', offset: 0, size: 2, signed: false, dataLoc: false, relLoc: false, array: false, string: false}
    this.pidField = any?.fields.find((f) => f.name === 'common_pid')
    const syms = meta.kallsyms ? new Kallsyms(meta.kallsyms) : undefined
    this.rctx = {longSize: meta.header.commitSize, le: meta.le, symbol: (a) => syms?.lookup(a)}
  }

  /** The event id of a payload, or -1 when the payload is too short to hold one. */
  eventId(p: Payload): number {
    const f = this.typeField
    if (f.offset + f.size > p.len) return -1
    const at = p.start + f.offset
    return f.size === 2 ? p.view.getUint16(at, this.meta.le) : f.size === 4 ? p.view.getUint32(at, this.meta.le) : p.view.getUint8(at)
  }

  formatOf(id: number): EventFormat | undefined {
    return this.meta.events.get(id)
  }

  /** The record, or undefined when the id has no format in the file (the caller reports it). */
  decode(p: Payload, id: number, tsNs: bigint, cpu: number, src: SourcePos): RawRecord | undefined {
    let c = this.byId.get(id)
    if (c === undefined) {
      const ev = this.meta.events.get(id)
      if (ev) {
        const r = compilePrintFmt(ev)
        c = {ev, render: r ?? ((pp, ctx) => renderFields(ev, pp, ctx)), prefix: `${ev.name}: `, kprobe: kprobePlan(ev)}
      } else c = null
      this.byId.set(id, c)
    }
    if (c === null) return undefined
    const pf = this.pidField
    let pid = 0
    if (pf && pf.offset + 4 <= p.len) pid = p.view.getInt32(p.start + pf.offset, this.meta.le)
    const kp = c.kprobe
    if (kp !== undefined && kp.ip.offset + 8 <= p.len && kp.args.every((a) => a.field.offset + a.field.size <= p.len)) {
      const le = this.meta.le
      const ip = hexAt(p.view, p.start + kp.ip.offset, 8, le)
      // parseEntryWhere(): a bare hex IP of 8+ digits is an address, a shorter one a symbol
      const rec: RawRecord = {tsNs, cpu, pid, tgid: undefined, comm: this.comm(pid), event: c.ev.name, group: undefined, probeSymbol: undefined, returnFrom: undefined, args: {}, text: undefined, stack: undefined, src}
      if (ip.length >= 8) rec.probeIp = '0x' + ip
      else rec.probeSymbol = ip
      for (let i = 0; i < kp.args.length; i++) {
        const a = kp.args[i]!
        rec.args[a.name] = '0x' + hexAt(p.view, p.start + a.field.offset, a.field.size, le)
      }
      return rec
    }
    let payload = c.render(p, this.rctx)
    // one event, one line: libtraceevent's print of a `print` buffer drops its newline
    while (payload.endsWith('\n')) payload = payload.slice(0, -1)
    if (payload.includes('\n')) payload = payload.replace(/\n/g, ' ')
    const ctx = this.ctx
    ctx.comm = this.comm(pid)
    ctx.pid = pid
    ctx.cpu = cpu
    ctx.tsNs = tsNs
    const r = parseBody(c.prefix + payload, ctx, src, 'func-site')
    if ('t' in r) return undefined
    return r
  }

  comm(pid: number): string {
    const c = this.meta.cmdlines.get(pid)
    if (c !== undefined) return c
    return pid === 0 ? '<idle>' : '<...>'
  }
}
