/**
 * Generate a fully fragmented ptdump of a 4 TiB linear map (4K/48, 6.9+ layout) for the reader
 * benchmark: every 4 MiB alternates between RW and ro PTEs, so no two neighbouring lines merge
 * and the dump has ≥ 1 M range lines (1,048,576 in the linear map). Lines are formatted exactly
 * as note_page() prints them.
 */
import {createWriteStream} from 'node:fs'
import {once} from 'node:events'

const RW = 'RW NX SHD AF            UXN    MEM/NORMAL-TAGGED'
const RO = 'ro NX SHD AF            UXN    MEM/NORMAL'

function hex(a: bigint): string {
  return '0x' + (a & 0xffffffffffffffffn).toString(16).padStart(16, '0')
}

function sizeField(bytes: bigint): string {
  let delta = bytes >> 10n
  const units = 'KMGTPE'
  let u = 0
  while ((delta & 1023n) === 0n && u < 5) {
    delta >>= 10n
    u++
  }
  return `${delta.toString().padStart(9)}${units[u]}`
}

export function rangeLine(start: bigint, end: bigint, level: string, attrs?: string): string {
  return `${hex(start)}-${hex(end)}   ${sizeField(end - start)} ${level}${attrs ? '       ' + attrs : ''}`
}

export async function generateFragmentedDump(path: string, tib = 4): Promise<{lines: number; bytes: number}> {
  const out = createWriteStream(path)
  let lines = 0
  let bytes = 0
  let buf: string[] = []
  const emit = async (l: string) => {
    buf.push(l)
    lines++
    bytes += l.length + 1
    if (buf.length >= 8192) {
      if (!out.write(buf.join('\n') + '\n')) await once(out, 'drain')
      buf = []
    }
  }
  const base = 0xffff000000000000n
  const step = 4n << 20n
  const end = base + (BigInt(tib) << 40n)
  await emit('---[ Linear Mapping start ]---')
  // Fast string building: addresses advance by 4 MiB; format the two hex numbers directly.
  let i = 0
  for (let a = base; a < end; a += step, i++) await emit(rangeLine(a, a + step, 'PTE', i % 2 ? RO : RW))
  await emit(rangeLine(end, 0xffff800000000000n, 'PGD')) // 4 TiB ends on a 512 GiB boundary
  await emit('---[ Linear Mapping end ]---')
  await emit('---[ Modules start ]---')
  await emit(rangeLine(0xffff800000000000n, 0xffff800080000000n, 'PUD'))
  await emit('---[ Modules end ]---')
  await emit('---[ vmalloc() area ]---')
  await emit(rangeLine(0xffff800080000000n, 0xffff800080200000n, 'PTE', 'RW NX SHD AF            UXN    MEM/NORMAL'))
  await emit(rangeLine(0xffff800080200000n, 0xffff800100000000n, 'PMD'))
  await emit(rangeLine(0xffff800100000000n, 0xffff808000000000n, 'PUD'))
  await emit(rangeLine(0xffff808000000000n, 0xfffffd8000000000n, 'PGD'))
  await emit(rangeLine(0xfffffd8000000000n, 0xfffffdff80000000n, 'PUD'))
  await emit(rangeLine(0xfffffdff80000000n, 0xfffffdffbf800000n, 'PMD'))
  await emit('---[ vmalloc() end ]---')
  await emit(rangeLine(0xfffffdffbf800000n, 0xfffffdffc0000000n, 'PMD'))
  await emit('---[ vmemmap start ]---')
  await emit(rangeLine(0xfffffdffc0000000n, 0xfffffdffc4000000n, 'PMD', 'RW NX SHD AF        BLK UXN    MEM/NORMAL'))
  await emit(rangeLine(0xfffffdffc4000000n, 0xfffffe0000000000n, 'PMD'))
  await emit(rangeLine(0xfffffe0000000000n, 0xffffff8000000000n, 'PGD'))
  await emit(rangeLine(0xffffff8000000000n, 0xffffffffc0000000n, 'PUD'))
  await emit('---[ vmemmap end ]---')
  await emit(rangeLine(0xffffffffc0000000n, 0xffffffffc0800000n, 'PMD'))
  await emit('---[ PCI I/O start ]---')
  await emit(rangeLine(0xffffffffc0800000n, 0xffffffffc1800000n, 'PMD'))
  await emit('---[ PCI I/O end ]---')
  await emit(rangeLine(0xffffffffc1800000n, 0xffffffffff600000n, 'PMD'))
  await emit('---[ Fixmap start ]---')
  await emit(rangeLine(0xffffffffff600000n, 0xffffffffff800000n, 'PTE', 'RW NX SHD AF            UXN    MEM/NORMAL'))
  await emit('---[ Fixmap end ]---')
  await emit(rangeLine(0xffffffffff800000n, 1n << 64n, 'PMD'))
  if (buf.length) out.write(buf.join('\n') + '\n')
  out.end()
  await once(out, 'finish')
  return {lines, bytes}
}
