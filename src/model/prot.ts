/**
 * Leaf attributes ("prot"), interned as a small integer.
 *
 * ptdump shows, per entry, the bits of `pte_bits[]` (arch/arm64/mm/ptdump.c): VALID, USER,
 * RDONLY, PXN, SHARED, AF, NG, CONT, BLK/table, UXN, GP and the memory type (ATTRINDX). CONT and
 * BLK are properties of the leaf's shape in our model (Run.cont, Run.lvl), so a Prot carries the
 * rest. Two entries with equal Prot, level and cont print as one ptdump run (note_page()).
 *
 * PTE_WRITE/DBM (bit 51) is invisible in ptdump (not in pte_bits[]); set_memory_ro/rw flip it
 * together with PTE_RDONLY, so RDONLY alone tells ro from rw for kernel mappings.
 */

export type Prot = number

export const P_VALID = 1 << 0
export const P_USER = 1 << 1
export const P_RDONLY = 1 << 2
export const P_PXN = 1 << 3
export const P_SHARED = 1 << 4
export const P_AF = 1 << 5
export const P_NG = 1 << 6
export const P_UXN = 1 << 7
export const P_GP = 1 << 8
const MT_SHIFT = 9
const MT_MASK = 7 << MT_SHIFT

/** Memory types as ptdump names them (ATTRINDX values MT_*; arch/arm64/include/asm/memory.h). */
export const MEM_TYPES = [
  '', // unknown / not printed (e.g. MT_NORMAL_WT on 5.4)
  'DEVICE/nGnRnE',
  'DEVICE/nGnRE',
  'DEVICE/GRE',
  'MEM/NORMAL-NC',
  'MEM/NORMAL',
  'MEM/NORMAL-TAGGED',
] as const
export type MemType = (typeof MEM_TYPES)[number]

export function memTypeOf(p: Prot): MemType {
  return MEM_TYPES[(p & MT_MASK) >> MT_SHIFT] ?? ''
}

export function withMemType(p: Prot, mt: MemType): Prot {
  const i = MEM_TYPES.indexOf(mt)
  return (p & ~MT_MASK) | ((i < 0 ? 0 : i) << MT_SHIFT)
}

/**
 * arm64 descriptor bits (arch/arm64/include/asm/pgtable-hwdef.h) as 64-bit masks, for decoding
 * the set/clear masks that change_memory_common() / __change_memory_common() receive.
 */
export const HW = {
  PTE_VALID: 1n << 0n,
  PTE_USER: 1n << 6n,
  PTE_RDONLY: 1n << 7n,
  PTE_SHARED: 3n << 8n,
  PTE_AF: 1n << 10n,
  PTE_NG: 1n << 11n,
  PTE_GP: 1n << 50n,
  /** PTE_WRITE = PTE_DBM, bit 51 (asm/pgtable-prot.h: `#define PTE_WRITE (PTE_DBM)`). */
  PTE_WRITE: 1n << 51n,
  PTE_CONT: 1n << 52n,
  PTE_PXN: 1n << 53n,
  PTE_UXN: 1n << 54n,
} as const

/** Names of the descriptor bits set in a 64-bit mask, e.g. 0x8000000000001n → ["VALID","WRITE"]. */
export function hwMaskNames(mask: bigint): string[] {
  const out: string[] = []
  const named: [bigint, string][] = [
    [HW.PTE_VALID, 'VALID'],
    [HW.PTE_USER, 'USER'],
    [HW.PTE_RDONLY, 'RDONLY'],
    [HW.PTE_SHARED, 'SHARED'],
    [HW.PTE_AF, 'AF'],
    [HW.PTE_NG, 'NG'],
    [HW.PTE_GP, 'GP'],
    [HW.PTE_WRITE, 'WRITE'],
    [HW.PTE_CONT, 'CONT'],
    [HW.PTE_PXN, 'PXN'],
    [HW.PTE_UXN, 'UXN'],
  ]
  let rest = mask
  for (const [bit, name] of named) {
    if ((mask & bit) !== 0n) {
      out.push(name)
      rest &= ~bit
    }
  }
  if (rest !== 0n) out.push(`0x${rest.toString(16)}`)
  return out
}

/**
 * Translate a hardware set/clear mask into our Prot bits. WRITE has no Prot bit (invisible in
 * ptdump); CONT is shape, not prot. Bits we do not model are ignored.
 */
export function protBitsOfHwMask(mask: bigint): Prot {
  let p = 0
  if (mask & HW.PTE_VALID) p |= P_VALID
  if (mask & HW.PTE_USER) p |= P_USER
  if (mask & HW.PTE_RDONLY) p |= P_RDONLY
  if (mask & HW.PTE_SHARED) p |= P_SHARED
  if (mask & HW.PTE_AF) p |= P_AF
  if (mask & HW.PTE_NG) p |= P_NG
  if (mask & HW.PTE_GP) p |= P_GP
  if (mask & HW.PTE_PXN) p |= P_PXN
  if (mask & HW.PTE_UXN) p |= P_UXN
  return p
}

/**
 * protBitsOfHwMask() for the few masks the set_memory_* family passes, remembered: each bigint
 * `&` allocates, and the replay converts two masks per call. Comparing bigints allocates nothing.
 */
const maskCache: {mask: bigint; prot: Prot}[] = []
export function protBitsOfMaskCached(mask: bigint): Prot {
  for (let i = 0; i < maskCache.length; i++) if (maskCache[i]!.mask === mask) return maskCache[i]!.prot
  const prot = protBitsOfHwMask(mask)
  if (maskCache.length < 16) maskCache.push({mask, prot})
  return prot
}

/** Apply a kernel-style update `val = (val & ~clear) | set` (pageattr.c change_page_range / pageattr_pte_entry). */
export function applySetClear(p: Prot, set: Prot, clear: Prot): Prot {
  return (p & ~clear) | set
}

/** Short human form as ptdump would print the flags, e.g. "ro NX AF UXN MEM/NORMAL". */
export function describeProt(p: Prot): string {
  const parts: string[] = []
  if (!(p & P_VALID)) parts.push('F')
  if (p & P_USER) parts.push('USR')
  parts.push(p & P_RDONLY ? 'ro' : 'RW')
  parts.push(p & P_PXN ? 'NX' : 'x')
  if (p & P_SHARED) parts.push('SHD')
  if (p & P_AF) parts.push('AF')
  if (p & P_NG) parts.push('NG')
  if (p & P_UXN) parts.push('UXN')
  if (p & P_GP) parts.push('GP')
  const mt = memTypeOf(p)
  if (mt) parts.push(mt)
  return parts.join(' ')
}
