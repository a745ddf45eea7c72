/**
 * A TraceEvent built straight from a kprobe line by a reader's fused fast path (tracefs
 * fastProbeEvent), with no RawRecord and no eager argument object: `args` is read from the line
 * the first time something asks for it (the CSV/JSON export), with the same parser and the same
 * argument names the RawRecord path uses, so it holds the same names and values.
 *
 * Own fields are those of Normalizer.normalize()'s event, in the same order, except `args`, which
 * is an accessor on the prototype (JSON.stringify / Object.keys of the event do not show it; read
 * `ev.args`, as events-export does). The line is held as the batch text plus a range: the
 * argument value strings of the RawRecord path are slices of that same text, so no more is kept
 * alive than before.
 */
import type {Kva} from '../../model/address.js'
import type {DirectMapOp, EventKind, SetMemoryOp, SourcePos, TraceEvent} from '../events.js'
import {parseArgsAs} from './probe-args.js'

export class ProbeEvent implements TraceEvent {
  kind: EventKind
  fn: string
  probe: string
  tsNs: bigint
  cpu: number
  pid: number
  comm: string
  addr: Kva | undefined = undefined
  addrText: string | undefined = undefined
  end: Kva | undefined = undefined
  size: number | undefined = undefined
  pages: number | undefined = undefined
  op: SetMemoryOp | DirectMapOp | undefined
  enable: boolean | undefined = undefined
  setMask: bigint | undefined = undefined
  clearMask: bigint | undefined = undefined
  setNames: string[] | undefined = undefined
  clearNames: string[] | undefined = undefined
  page: Kva | undefined = undefined
  ret: bigint | undefined = undefined
  text: string | undefined = undefined
  stack: string[] | undefined = undefined
  src: SourcePos
  #line: string
  #from: number
  #to: number
  #names: readonly string[]
  #args: Record<string, string> | undefined = undefined
  /** A `<user stack trace>` the assembler attached (dropped, as normalize() drops the RawRecord's). */
  #userStack: string[] | undefined = undefined

  constructor(
    kind: EventKind,
    fn: string,
    probe: string,
    op: SetMemoryOp | DirectMapOp | undefined,
    tsNs: bigint,
    cpu: number,
    pid: number,
    comm: string,
    src: SourcePos,
    line: string,
    argsFrom: number,
    argsTo: number,
    argNames: readonly string[],
  ) {
    this.kind = kind
    this.fn = fn
    this.probe = probe
    this.op = op
    this.tsNs = tsNs
    this.cpu = cpu
    this.pid = pid
    this.comm = comm
    this.src = src
    this.#line = line
    this.#from = argsFrom
    this.#to = argsTo
    this.#names = argNames
  }

  /**
   * Where `args` is read from: the line text, the argument range in it and the argument names
   * (the parallel reader sends the range to the main thread, which holds the same text).
   */
  static argSource(ev: ProbeEvent): {line: string; from: number; to: number; names: readonly string[]} {
    return {line: ev.#line, from: ev.#from, to: ev.#to, names: ev.#names}
  }

  /** The argument text by name, as the RawRecord path parses it (parseArgsAs over the same range and names). */
  get args(): Record<string, string> {
    let a = this.#args
    if (a === undefined) {
      a = {}
      parseArgsAs(this.#line, this.#from, a, this.#to, this.#names)
      this.#args = a
    }
    return a
  }

  set args(v: Record<string, string>) {
    this.#args = v
  }

  get userStack(): string[] | undefined {
    return this.#userStack
  }

  set userStack(v: string[] | undefined) {
    this.#userStack = v
  }
}
