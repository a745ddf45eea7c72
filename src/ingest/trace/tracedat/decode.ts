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
        c = {ev, render: r ?? ((pp, ctx) => renderFields(ev, pp, ctx)), prefix: `${ev.name}: `}
      } else c = null
      this.byId.set(id, c)
    }
    if (c === null) return undefined
    const pf = this.pidField
    let pid = 0
    if (pf && pf.offset + 4 <= p.len) pid = p.view.getInt32(p.start + pf.offset, this.meta.le)
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
