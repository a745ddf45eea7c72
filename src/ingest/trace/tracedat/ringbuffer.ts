/**
 * Ring-buffer sub-buffers (pages) of one CPU, read the way libtraceevent's kbuffer does
 * (rostedt/libtraceevent src/kbuffer-parse.c kbuffer_load_subbuffer(), translate_data(),
 * update_pointers(); the kernel's layout: kernel/trace/ring_buffer.c, include/linux/ring_buffer.h).
 *
 * Page header: u64 timestamp, `commit` (local_t, the kernel long: 4 or 8 bytes) whose low 27 bits
 * are the bytes of event data, bit 31 = events were lost before this page (MISSING_EVENTS), bit 30
 * = their count is stored after the data (MISSING_STORED); the data starts at header_page's `data`
 * offset. Event header: one u32 with type_len (5 bits) and time_delta (27 bits):
 *   29 padding (array[0] = length; kbuffer still adds the delta), 30 time extend
 *   (delta + array[0] << 27 added), 31 absolute time stamp (delta + array[0] << 27, top 5 bits
 *   kept from the running stamp), 0 = data whose length is array[0] − 4 (rounded up to 4),
 *   1…28 = data of type_len × 4 bytes.
 * A page whose header or an event whose length does not fit is reported (the rest of that page
 * skipped) and reading goes on with the next page: pages are independent.
 */
import type {PageHeader} from './format.js'

const COMMIT_MASK = (1 << 27) - 1
const MISSING_EVENTS = 0x80000000
const MISSING_STORED = 0x40000000
const TS_MSB = 0xf8n << 56n
const TS_SHIFT = 27

export interface PageEvents {
  /** Events lost before this page: a count, -1 when unknown, 0 when none. */
  lost: number
  /** Why the page (or its rest) was skipped, with the byte offset inside the page. */
  corrupt?: {at: number; message: string}
}

/**
 * Walk one page: `onEvent(ts, start, len, at)` for every data event (payload `[start, start+len)`
 * of `buf`; `at` = the event's byte offset inside the page).
 */
export function readPage(
  view: DataView,
  page: number,
  pageSize: number,
  h: PageHeader,
  le: boolean,
  onEvent: (ts: bigint, start: number, len: number, at: number) => void,
): PageEvents {
  const res: PageEvents = {lost: 0}
  if (h.dataOffset + 4 > pageSize || h.commitOffset + h.commitSize > pageSize) {
    res.corrupt = {at: 0, message: `expected a page header that fits a ${pageSize}-byte page`}
    return res
  }
  let ts = view.getBigUint64(page + h.timestampOffset, le)
  const flags = h.commitSize === 8 ? view.getUint32(page + h.commitOffset + (le ? 0 : 4), le) : view.getUint32(page + h.commitOffset, le)
  const size = flags & COMMIT_MASK
  const data = page + h.dataOffset
  const room = pageSize - h.dataOffset
  if (size > room) {
    res.corrupt = {at: h.commitOffset, message: `expected a commit size up to ${room}, got ${size}`}
    return res
  }
  if (flags & MISSING_EVENTS) {
    if (flags & MISSING_STORED && size + h.commitSize <= room) {
      res.lost = h.commitSize === 8 ? Number(view.getBigUint64(data + size, le)) : view.getUint32(data + size, le)
    } else res.lost = -1
  }
  let curr = 0
  while (curr < size) {
    if (curr + 4 > size) {
      res.corrupt = {at: h.dataOffset + curr, message: `expected an event header (4 bytes), got ${size - curr} bytes before the commit end`}
      return res
    }
    const tl = view.getUint32(data + curr, le)
    const typeLen = le ? tl & 31 : tl >>> 27
    const delta = le ? tl >>> 5 : tl & COMMIT_MASK
    switch (typeLen) {
      case 29: {
        // padding (a discarded event, or the rest of the page when time_delta is 0)
        ts += BigInt(delta)
        if (delta === 0 || curr + 8 > size) return res
        const len = view.getUint32(data + curr + 4, le)
        curr += 4 + len
        break
      }
      case 30:
      case 31: {
        if (curr + 8 > size) {
          res.corrupt = {at: h.dataOffset + curr, message: `expected a ${typeLen === 30 ? 'time extend' : 'time stamp'} (8 bytes), got ${size - curr}`}
          return res
        }
        const ext = BigInt(view.getUint32(data + curr + 4, le)) * 134217728n + BigInt(delta)
        if (typeLen === 30) ts += ext
        else ts = ext | (ts & TS_MSB)
        curr += 8
        break
      }
      case 0: {
        if (curr + 8 > size) {
          res.corrupt = {at: h.dataOffset + curr, message: `expected an event length word, got ${size - curr} bytes`}
          return res
        }
        const raw = view.getUint32(data + curr + 4, le)
        const len = (raw - 4 + 3) & ~3
        if (raw < 4 || curr + 8 + len > size) {
          res.corrupt = {at: h.dataOffset + curr, message: `expected an event length up to ${size - curr - 8}, got ${raw - 4}`}
          return res
        }
        ts += BigInt(delta)
        onEvent(ts, data + curr + 8, len, h.dataOffset + curr)
        curr += 8 + len
        break
      }
      default: {
        const len = typeLen * 4
        if (curr + 4 + len > size) {
          res.corrupt = {at: h.dataOffset + curr, message: `expected an event of ${len} bytes, got ${size - curr - 4} before the commit end`}
          return res
        }
        ts += BigInt(delta)
        onEvent(ts, data + curr + 4, len, h.dataOffset + curr)
        curr += 4 + len
      }
    }
  }
  return res
}

export {TS_SHIFT}
