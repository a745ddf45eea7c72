#!/usr/bin/env python3
"""Run one command and report its wall time, CPU time and peak RSS as JSON (the benchmarks' timer).

    measure.py OUT_FILE CMD ARG...

The command's standard output goes to OUT_FILE (/dev/null to discard it); its standard error is
passed through. Prints {"wall": s, "user": s, "sys": s, "maxrssKiB": n, "status": n}. The timer
starts after this script's own start-up, so Python's start is not counted in the command's time.
"""
import json
import os
import resource
import subprocess
import sys
import time


def main(argv):
    out = argv[0]
    with open(out, 'wb') as f:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv[1:], stdout=f)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    json.dump({'wall': wall, 'user': ru.ru_utime, 'sys': ru.ru_stime, 'maxrssKiB': ru.ru_maxrss,
               'status': os.waitstatus_to_exitcode(status)}, sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main(sys.argv[1:])
