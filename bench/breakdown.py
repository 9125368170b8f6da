#!/usr/bin/env python3
"""breakdown.py — where a mars-replay run's instructions go, by pipeline stage.

  bench/breakdown.py CALLGRIND_OUT [ROWS]

Reads `callgrind_annotate --tree=caller` of a callgrind output file (for example the ones
bench/callgrind_gate.sh leaves in ${TMPDIR:-/tmp}/mars-replay-gate-*/), assigns each
function's exclusive instructions (Ir) to a stage by its name, splits shared libc helpers
(memchr, memcpy, ...) between stages in proportion to what each caller spent in them, and
prints Ir per stage (and per row when ROWS is given). Instructions are not seconds: a cache
miss or a divide costs more than one Ir; use it to see shares, and bench/run for time.
"""
import re
import subprocess
import sys

STAGES = [  # first match wins
    ("number parse", r"mr_parse_double|eisel_lemire|strto[dfl]|str_to_mpn|____strtod|round_and_return|__mpn_"),
    ("cell decode", r"mr_decode|mr_na_|decode_"),
    ("field split", r"mr_csv_split|mr_csv_input_job|csv_parse|csv_fini"),
    ("read / record scan", r"mr_csv_scan|mr_csv_input_chunk|mr_stream_fill|read_all|^read$|__libc_read|cli_read"),
    ("evaluate", r"run_ops|accumulate|mr_eval|transpose|mr_predict|fill_one"),
    ("format", r"mr_format_double|numfmt|ryu|d2s|format_"),
    ("write", r"mr_output|cli_write|__libc_write|^write$|fwrite|_IO_"),
    ("npy input / output", r"npy|input_bin|mr_bin_"),
    ("pipeline (ring, chunks)", r"mr_run|mr_ordered|ring|job$|mr_buf_"),
    ("start-up: model load, JSON, sha256, dynamic loader", r"json|jansson|model|sha256|compress|plan|_dl_|ld-linux|load"),
]
SHARED = r"mem(chr|cpy|move|set|cmp)|str(len|chr|cmp|ncmp)|__memchr|__memcpy|__memmove|__memset|__strlen|__strchr|__memcmp|__nss|malloc|free|_int_"


def stage_of(fn):
    for name, rx in STAGES:
        if re.search(rx, fn):
            return name
    return None


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    text = subprocess.run(["callgrind_annotate", "--tree=caller", "--threshold=100", sys.argv[1]],
                          capture_output=True, text=True, check=True).stdout
    line_rx = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+([<*])\s+(\S+?)(?: \([\d,]+x\))?(?: \[(.*)\])?\s*$")
    total = 0
    m = re.search(r"^([\d,]+) \(100.0%\)\s+PROGRAM TOTALS", text, re.M)
    if m:
        total = int(m.group(1).replace(",", ""))
    callers = []
    cost = {}
    for line in text.splitlines():
        m = line_rx.match(line)
        if not m:
            if not line.strip():
                callers = []
            continue
        ir = int(m.group(1).replace(",", ""))
        fn = m.group(3).split(":", 1)[-1]
        if "libjansson" in (m.group(4) or "") or "ld-linux" in (m.group(4) or ""):
            fn = "jansson/ld.so " + fn
        if m.group(2) == "<":
            callers.append((fn, ir))
            continue
        stage = stage_of(fn)
        if stage is None and re.search(SHARED, fn) and callers:
            tot = sum(c for _, c in callers) or 1
            for cfn, cir in callers:
                st = stage_of(cfn) or "other"
                cost[st] = cost.get(st, 0) + ir * cir / tot
        else:
            cost[stage or "other"] = cost.get(stage or "other", 0) + ir
        callers = []
    total = total or sum(cost.values())
    order = [s for s, _ in STAGES] + ["other"]
    print("%-52s %15s %7s%s" % ("stage", "Ir", "share", "   Ir/row" if rows else ""))
    for s in order:
        if s in cost:
            print("%-52s %15.0f %6.1f%%%s" % (s, cost[s], 100 * cost[s] / total,
                                            "  %8.1f" % (cost[s] / rows) if rows else ""))
    print("%-52s %15d %6.1f%%%s" % ("total", total, 100.0, "  %8.1f" % (total / rows) if rows else ""))


if __name__ == "__main__":
    main()
