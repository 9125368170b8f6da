#!/usr/bin/env python3
"""pipecmp_rows.py — piped mode against stream mode, on random .npy and raw f64.

    pipecmp_rows.py BIN CONFORMANCE_DIR CASES SEED

Fixed-width rows from a pipe read with worker threads are cut by the workers
at the row boundaries of each raw block (src/pipe_feed.c, input_rows.c's
piped_span). Each case is a random array for one of three models (3, 5 or 45
features; missing values allowed or not), as .npy (float64 or float32, a
declared row count that may be wrong) or raw f64, with now and then a NaN or
an infinity, a partial last row, or trailing bytes. It is piped into
`predict -@ T --chunk-bytes K` for small K and T = 2..4, and the exit status,
stderr and stdout must equal those of the same bytes read by one thread from a
pipe (stream mode); on an error, stdout must be a prefix of the output for the
same rows without it. Four runs in ten write `-o FILE` (-O npy or f64): the
file must hold that output, and must not exist after a failure. Prints one
line per failing case.
"""
import math
import os
import random
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pipecmp  # noqa: E402 (run, settle)

MODELS = [("missingness_terms", 3, True), ("deg2_5000_rows", 5, False), ("wide_45_features_5000_rows", 45, False)]  # allow_missing


def npy_header(dtype, rows, cols):
    d = "{'descr': '%s', 'fortran_order': False, 'shape': (%d, %d), }" % (dtype, rows, cols)
    pad = 64 - (10 + len(d) + 1) % 64
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(d) + pad + 1) + d.encode() + b" " * pad + b"\n"


def case(rnd, cols, allow_missing):
    npy = rnd.random() < 0.7
    f32 = npy and rnd.random() < 0.25
    # mostly more than the header's read (64 KiB), which goes to chunk 0 whole
    rows = rnd.choice([0, 7, rnd.randrange(1, 3000), rnd.randrange(3000, 30000), rnd.randrange(10000, 60000)])
    vals = [rnd.uniform(-4, 4) for _ in range(rows * cols)]
    err = rnd.random()
    if rows and err < 0.1:
        vals[rnd.randrange(len(vals))] = math.nan
    elif rows and err < 0.15:
        vals[rnd.randrange(len(vals))] = math.inf
    fmt = "<%d%s" % (len(vals), "f" if f32 else "d")
    body = struct.pack(fmt, *vals)
    # a model that allows missing values takes them all: only the others fail on them
    clean = struct.pack(fmt, *[v if allow_missing or math.isfinite(v) else 0.0 for v in vals])
    width = cols * (4 if f32 else 8)
    declared = rows
    tail = b""
    shape = rnd.random()
    if shape < 0.1:
        tail = bytes(rnd.randrange(1, width))  # a partial last row
    elif npy and shape < 0.2:
        declared = max(0, rows - rnd.randrange(1, 50))  # trailing rows
    elif npy and shape < 0.3:
        declared = rows + rnd.randrange(1, 50)  # rows missing
    elif npy and shape < 0.35:
        tail = bytes(rnd.randrange(1, 3 * width))  # trailing bytes after the declared rows
    head = npy_header("<f4" if f32 else "<f8", declared, cols) if npy else b""
    return head + body + tail, head + clean + tail, npy


def run(argv, data):
    return pipecmp.run(argv, data, timeout=20)


def main():
    binary, conf, cases, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rnd = random.Random(seed)
    bad = 0
    piped = 0
    for n in range(cases):
        name, cols, allow_missing = rnd.choice(MODELS)
        model = os.path.join(conf, name, "model.json")
        data, clean, npy = case(rnd, cols, allow_missing)
        out_fmt = rnd.choice(["csv", "npy", "f64"])
        if not npy and out_fmt == "npy":  # its length is unknown: only to a file (usage error otherwise)
            out_fmt = "f64"
        base = [binary, "predict", "-q", "-m", model, "-I", "npy" if npy else "f64", "-O", out_fmt]
        want = run(base + ["-@", "1", "-"], data)
        # blocks smaller than a row are correct but slow (a pipe and a hand-over each): small inputs only
        k = rnd.choice([8, 13, 200, 1000, 4096, 65536, 1 << 20] if len(data) < 300000 else [4096, 65536, 1 << 20])
        t = rnd.choice([2, 3, 4])
        to_file = rnd.random() < 0.4
        out = ["-o", "pipecmp-rows.out"] if to_file else []
        got = run(base + ["-@", str(t), "--chunk-bytes", str(k), "--report", "pipecmp-rows.json"] + out + ["-"], data)
        got, was_piped = pipecmp.settle(got, "pipecmp-rows.out" if to_file else None, "pipecmp-rows.json")
        piped += was_piped
        # on an error, stdout holds the chunks before the bad one: a prefix of
        # the output of the same bytes without the bad values (a .npy output's
        # header declares the rows of the input's header in both)
        # (one row a chunk: every whole row before the error is written)
        same_out = (got[1] == want[1] if want[0] == 0 else
                    run(base + ["-@", "1", "--chunk-rows", "1", "-"], clean)[1].startswith(got[1]))
        if got[0] != want[0] or got[2] != want[2] or not same_out:
            bad += 1
            print("case %d (seed %d, %s, %s, chunk-bytes %d, threads %d): rc %s vs %s, stdout %s, stderr %r vs %r"
                  % (n, seed, name, "npy" if npy else "f64", k, t, got[0], want[0],
                     "same" if got[1] == want[1] else "differs", got[2][-300:], want[2][-300:]))
            with open("pipecmp-rows-case-%d.bin" % n, "wb") as f:
                f.write(data)
    print("pipecmp_rows: %d cases, %d piped, %d differ" % (cases, piped, bad))
    return 1 if bad or piped == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
