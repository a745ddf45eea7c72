/**
 * Integer constant expressions of print fmts (`{ (1UL << 12), "O" }` in __print_flags tables),
 * evaluated as C evaluates them on 64-bit unsigned values; libtraceevent does the same
 * (src/event-parse.c, the arg evaluation for flag and symbol tables).
 */
/** An integer constant expression: literals (with U/L suffixes), ( ), ~, -, <<, >>, &, |, +. */
export function evalConst(s: string): bigint | undefined {
  const toks = s.match(/0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*|<<|>>|[()~&|+\-*]|\S/g)
  if (!toks) return undefined
  let i = 0
  const MASK = (1n << 64n) - 1n
  const prim = (): bigint | undefined => {
    const t = toks[i++]
    if (t === undefined) return undefined
    if (t === '(') {
      const v = or()
      if (toks[i++] !== ')') return undefined
      return v
    }
    if (t === '~') {
      const v = prim()
      return v === undefined ? undefined : ~v & MASK
    }
    if (t === '-') {
      const v = prim()
      return v === undefined ? undefined : -v & MASK
    }
    const m = /^(0[xX][0-9a-fA-F]+|\d+)[uUlL]*$/.exec(t)
    return m ? BigInt(m[1]!) : undefined
  }
  const bin = (next: () => bigint | undefined, ops: Record<string, (a: bigint, b: bigint) => bigint>) => (): bigint | undefined => {
    let a = next()
    while (a !== undefined && toks[i] !== undefined && ops[toks[i]!]) {
      const op = ops[toks[i++]!]!
      const b = next()
      if (b === undefined) return undefined
      a = op(a, b) & MASK
    }
    return a
  }
  const mul = bin(prim, {'*': (a, b) => a * b})
  const add = bin(mul, {'+': (a, b) => a + b, '-': (a, b) => a - b})
  const shift = bin(add, {'<<': (a, b) => a << b, '>>': (a, b) => a >> b})
  const and = bin(shift, {'&': (a, b) => a & b})
  const or = bin(and, {'|': (a, b) => a | b})
  const v = or()
  return i === toks.length ? v : undefined
}
