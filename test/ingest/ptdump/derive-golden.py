#!/usr/bin/env python3
"""Derive the golden figures of test/ingest/ptdump/golden.test.ts from the raw dump text.

Independent of ptreplay's reader: fixed columns of the kernel's note_page() output
(arch/arm64/mm/ptdump.c, mm/ptdump.c): start = line[2:18], end = line[21:37] (0 means 2^64),
level = line[51:54], attributes = line[54:].

  python3 test/ingest/ptdump/derive-golden.py samples/<family>/<boot>/kernel_page_tables.<x> ...

prints, per dump, one object literal in the GOLDEN table's shape and the region bounds in the
REGIONS table's shape. Rules (docs/page-table-model.md, docs/ptdump-quirks.md#markers):
- range lines = lines not starting with "---["; hole lines = range lines with no attributes;
- a marker's address = start of the first range line after the header;
- tables at level L (4K granule: 512 entries a table) = distinct slots of the size one entry of
  level L+1 maps, touched by any line of level <= L, holes included;
- linear mapped bytes = sum(end - start) of lines with attributes not starting with "F",
  between the two Linear Mapping markers; invalid = those starting with "F".
Only the 4K granule is handled (every real capture in samples/ is 4K).
"""
import sys

LEVELS = ["PTE", "PMD", "PUD", "P4D", "PGD"]
# 4K granule: bytes one entry of each level maps.
ENTRY = {"PTE": 1 << 12, "PMD": 1 << 21, "PUD": 1 << 30, "P4D": 1 << 39, "PGD": None}
REGION_MARKERS = {
    "linear": ("Linear Mapping start", "Linear Mapping end"),
    "modules": ("Modules start", "Modules end"),
    "vmalloc": ("vmalloc() area", "vmalloc() end"),
    "vmemmap": ("vmemmap start", "vmemmap end"),
    "pci": ("PCI I/O start", "PCI I/O end"),
    "fixmap": ("Fixmap start", "Fixmap end"),
}


def derive(path):
    text = open(path, encoding="latin-1").read()
    lines = text.rstrip("\n").split("\n")
    ranges = []
    marker_at = {}
    pending = []
    for line in lines:
        if line.startswith("---["):
            pending.append(line[5:].rsplit(" ]---", 1)[0])
            continue
        start = int(line[2:18], 16)
        end = int(line[21:37], 16) or 1 << 64
        level = line[51:54]
        attrs = line[54:].strip()
        for name in pending:
            marker_at[name] = start
        pending = []
        ranges.append((start, end, level, attrs))
    levels = [l for l in LEVELS if any(r[2] == l for r in ranges)]
    five = "P4D" in levels
    # the top level (PGD) holds no table pages of its own in the count (swapper_pg_dir is static)
    counted = ["PTE", "PMD", "PUD"] + (["P4D"] if five else [])
    tables = []
    for i, lvl in enumerate(counted):
        upper = counted[i + 1] if i + 1 < len(counted) else "PGD"
        # one PGD entry maps 256T with 5 levels (52-bit), 512G with 4 (48-bit)
        size = ENTRY[upper] if upper != "PGD" else (1 << 48 if five else 1 << 39)
        slots = set()
        below = set(LEVELS[: LEVELS.index(lvl) + 1])
        for s, e, l, _ in ranges:
            if l in below:
                slots.update(range(s // size, (e - 1) // size + 1))
        tables.append(len(slots))
    lin_s, lin_e = marker_at["Linear Mapping start"], marker_at["Linear Mapping end"]
    mapped = sum(e - s for s, e, _, a in ranges if lin_s <= s < lin_e and a and not a.startswith("F"))
    invalid = sum(e - s for s, e, _, a in ranges if lin_s <= s < lin_e and a.startswith("F"))
    regions = {k: (hex(marker_at[a]), hex(marker_at[b]) if b in marker_at else None) for k, (a, b) in REGION_MARKERS.items() if a in marker_at}
    return {
        "lines": len(lines),
        "rangeLines": len(ranges),
        "holeLines": sum(1 for r in ranges if not r[3]),
        "tables": tables,
        "linearMapped": mapped,
        "linearInvalid": invalid,
        "levels": 5 if five else 4,
        "regions": regions,
    }


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(p, derive(p))
