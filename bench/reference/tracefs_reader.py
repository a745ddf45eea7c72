#!/usr/bin/env python3
"""The reader a kernel developer writes instead of ptreplay: the benchmarks' reference.

One regular expression per line for the context prefix, a second for the `name=value`
arguments, counts per probe. No sorting, no normalization, no stacks: what a quick script
does to answer "how many set_memory_ro calls, on which addresses?".

    tracefs_reader.py [--format tracefs|trace-cmd|perf] FILE

Prefixes (one regex each):
  tracefs   `comm-pid [cpu] flags sec.frac: probe: (...) a=1 b=0x2`
            (kernel/trace/trace_output.c trace_print_context())
  trace-cmd `comm-pid [cpu] sec.frac: probe: (...) a=1 b=0x2` (trace-cmd report, no flags)
  perf      `comm pid [cpu] sec.frac: group:probe: (...) a=1 b=0x2` (perf script)

Prints one JSON object: lines read, events matched, arguments seen, the counts per probe,
and the sum of the parsed `addr`/`start` values (so the arguments are really parsed).
"""
import json
import re
import sys

PREFIX = {
    'tracefs': re.compile(rb'^\s*(.{1,16}?)-(\d+)\s+\[(\d+)\]\s+(\S+)\s+(\d+)\.(\d+): (?P<probe>[\w.]+): (?P<payload>.*)$'),
    'trace-cmd': re.compile(rb'^\s*(.{1,16}?)-(\d+)\s+\[(\d+)\]\s+(?:(\S+)\s+)?(\d+)\.(\d+): (?P<probe>[\w.]+):\s+(?P<payload>.*)$'),
    'perf': re.compile(rb'^\s*(.{1,16}?)\s+(\d+)(?:/\d+)?\s+\[(\d+)\]\s+(\d+)\.(\d+):\s+(?:\w+:)?(?P<probe>[\w.]+):\s+(?P<payload>.*)$'),
}
ARG = re.compile(rb'([\w$.-]+)=(\S+)')


def main(argv):
    fmt = 'tracefs'
    if len(argv) > 2 and argv[0] == '--format':
        fmt = argv[1]
        argv = argv[2:]
    prefix = PREFIX[fmt]
    counts = {}
    lines = events = nargs = 0
    addr_sum = 0
    with open(argv[0], 'rb') as f:
        for line in f:
            lines += 1
            m = prefix.match(line)
            if m is None:
                continue
            events += 1
            probe = m.group('probe').decode()
            counts[probe] = counts.get(probe, 0) + 1
            for name, value in ARG.findall(m.group('payload')):
                nargs += 1
                if name == b'addr':
                    addr_sum += int(value, 16)
    json.dump({'lines': lines, 'events': events, 'args': nargs, 'addrSum': hex(addr_sum & (2**64 - 1)), 'byProbe': counts}, sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main(sys.argv[1:])
