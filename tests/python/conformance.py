#!/usr/bin/env python3
"""Every public conformance case through the Python package, from NumPy,
pandas, pyarrow (one batch, chunked, sliced, dictionary-encoded), polars and
DuckDB producers: predictions (and design matrices where the case has
design.csv) must equal expected.csv bit for bit, and the mars-replay CLI's
output too when --cli is given. Every invalid case must fail with
MarsReplayError where Python can express it (an invalid model; a CSV that
Python's csv module reads), never crash.

    python3 tests/python/conformance.py [--corpus DIR] [--invalid DIR] [--cli BIN]

Exit status: 0 all passed, 1 a failure, 77 the corpus is absent (it lives in
../shared, outside the repository).
"""
import argparse
import csv
import math
import os
import re
import struct
import subprocess
import sys

import numpy as np

import marsreplay

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
NA = {"", "NA", "NaN", "nan"}  # the CLI's default missing tokens
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    # an empty line is one empty field (a missing value) in a one-column CSV
    return rows[0], [r if r or len(rows[0]) != 1 else [""] for r in rows[1:]]


def floats(path, column=None):
    head, rows = read_csv(path)
    out = []
    for r in rows:
        cells = [r[head.index(column)]] if column else r
        out.append([float("nan") if c.strip().lower() in ("nan", "-nan", "+nan") else float(c)
                    for c in cells])
    return np.array(out, dtype=np.float64).reshape(len(rows), -1 if rows else 0)


def same_bits(a, b):
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        return f"{a.size} values, expected {b.size}"
    nan = np.isnan(a) & np.isnan(b)
    bad = ~nan & (a.view(np.int64) != b.view(np.int64))
    if bad.any():
        i = int(np.argmax(bad))
        return f"{int(bad.sum())} values differ, first at {i}: {a[i]!r} vs {b[i]!r}"
    return None


def columns(head, rows, model):
    """Per column: ("num", float64 with NaN, missing mask) when every cell is
    a plain decimal number or a missing token and the column is not a
    categorical feature; else ("str", the cells as text)."""
    cat = {n for n, c in zip(model.feature_names, model.categorical) if c}
    out = {}
    for j, name in enumerate(head):
        cells = [r[j] for r in rows]
        if name not in cat and all(c in NA or NUMBER.match(c) for c in cells):
            miss = np.array([c in NA for c in cells], dtype=bool)
            vals = np.array([math.nan if m else float(c) for c, m in zip(cells, miss)],
                            dtype=np.float64)
            out[name] = ("num", vals, miss)
        else:
            out[name] = ("str", cells)
    return out


def arrow_table(head, cols, dictionary=False):
    import pyarrow as pa
    arrays = []
    for name in head:
        c = cols[name]
        if c[0] == "num":
            # a number behind each null: a consumer that ignored the validity
            # bitmap would read it
            arrays.append(pa.array(np.where(c[2], 12345.0, c[1]), mask=c[2], type=pa.float64()))
        else:
            a = pa.array(c[1], type=pa.string())
            arrays.append(a.dictionary_encode() if dictionary else a)
    return pa.Table.from_arrays(arrays, names=head)


def producers(head, cols, model):
    """(name, X) for every producer that can hold this case's columns (a
    generator: called once per use, since a stream can be read only once)."""
    import pyarrow as pa
    n = len(next(iter(cols.values()))[1]) if cols else 0
    feats = model.feature_names
    if all(cols[f][0] == "num" for f in feats):
        X = np.column_stack([cols[f][1] for f in feats]) if feats else np.empty((n, 0))
        yield "numpy", np.ascontiguousarray(X)
        yield "numpy-fortran", np.asfortranarray(X)
    import pandas as pd
    yield "pandas", pd.DataFrame({h: (cols[h][1] if cols[h][0] == "num" else
                                      pd.Series(cols[h][1], dtype=object)) for h in head})
    t = arrow_table(head, cols)
    yield "pyarrow", t
    if n >= 3:  # three batches, the middle one in a slice of a longer batch
        a, b = n // 3, 2 * n // 3
        pad = arrow_table(head, {h: (("num", np.concatenate([np.zeros(2), c[1], np.zeros(1)]),
                                      np.concatenate([[True, False], c[2], [True]]))
                                     if c[0] == "num" else ("str", ["x", "y"] + c[1] + ["z"]))
                                 for h, c in cols.items()})
        batches = (t.slice(0, a).to_batches() + pad.slice(2 + a, b - a).to_batches() +
                   t.slice(b).to_batches())
        yield "pyarrow-chunked-sliced", pa.RecordBatchReader.from_batches(t.schema, batches)
    yield "pyarrow-dictionary", arrow_table(head, cols, dictionary=True)
    if t.num_rows:
        yield "pyarrow-batch", t.combine_chunks().to_batches()[0]
    try:
        import polars as pl
        yield "polars", pl.from_arrow(t)
    except ImportError:
        pass
    try:
        import duckdb
        con = duckdb.connect()
        con.register("t", t)
        names = ", ".join('"' + h.replace('"', '""') + '"' for h in head)
        yield "duckdb", con.sql(f"select {names} from t")
    except ImportError:
        pass


def cli_predictions(cli, case):
    p = subprocess.run([cli, "predict", "--model", os.path.join(case, "model.json"),
                        os.path.join(case, "input.csv")], capture_output=True, timeout=120)
    if p.returncode:
        raise RuntimeError(f"CLI failed: {p.stderr.decode(errors='replace')}")
    rows = list(csv.reader(p.stdout.decode().splitlines()))
    j = rows[0].index("prediction")
    return np.array([float(r[j]) for r in rows[1:]], dtype=np.float64)


def check_valid(case, cli):
    model = marsreplay.Model(os.path.join(case, "model.json"))
    head, rows = read_csv(os.path.join(case, "input.csv"))
    want = floats(os.path.join(case, "expected.csv"), "prediction").ravel()
    design = None
    if os.path.exists(os.path.join(case, "design.csv")):
        design = floats(os.path.join(case, "design.csv"))
    if cli:
        bad = same_bits(cli_predictions(cli, case), want)
        if bad:
            return [f"CLI vs expected.csv: {bad}"], []
    cols = columns(head, rows, model)
    fails, legs = [], []
    # predict on one pass over the producers, design on a second (fresh streams)
    for (name, X), (_, X2) in zip(producers(head, cols, model), producers(head, cols, model)):
        legs.append(name)
        try:
            bad = same_bits(model.predict(X), want)
            if bad:
                fails.append(f"{name}: predict: {bad}")
            if design is not None:
                bad = same_bits(model.design(X2), design)
                if bad:
                    fails.append(f"{name}: design: {bad}")
        except marsreplay.MarsReplayError as e:
            fails.append(f"{name}: {e}")
    return fails, legs


def check_invalid(case):
    try:
        model = marsreplay.Model(os.path.join(case, "model.json"))
    except marsreplay.MarsReplayError as e:
        return None, f"Model(): {e.status}"
    path = os.path.join(case, "input.csv")
    try:
        head, rows = read_csv(path)
    except (csv.Error, IndexError, UnicodeDecodeError, FileNotFoundError) as e:
        return "skip", f"not expressible from Python ({type(e).__name__})"
    if any(len(r) != len(head) for r in rows):
        return "skip", "records of different lengths: not expressible as a table"
    import pyarrow as pa
    t = pa.Table.from_arrays([pa.array([r[j] for r in rows], type=pa.string())
                              for j in range(len(head))], names=head)
    try:
        model.predict(t)
    except marsreplay.MarsReplayError as e:
        return None, f"predict(text columns): {e.status}"
    return "skip", "the table Python reads from it is valid (a CSV-syntax case)"


def main():
    ap = argparse.ArgumentParser()
    shared = os.path.join(os.path.dirname(ROOT), "shared", "conformance")
    ap.add_argument("--corpus", default=os.path.join(shared, "public"))
    ap.add_argument("--invalid", default=os.path.join(shared, "invalid"))
    ap.add_argument("--cli", default=None)
    a = ap.parse_args()
    if not os.path.isdir(a.corpus):
        print(f"SKIP: no conformance corpus at {a.corpus} (it is outside the repository)")
        return 77
    passed = failed = skipped = 0
    for name in sorted(os.listdir(a.corpus)):
        case = os.path.join(a.corpus, name)
        if not os.path.exists(os.path.join(case, "expected.csv")):
            continue
        fails, legs = check_valid(case, a.cli)
        if fails:
            failed += 1
            print(f"FAIL {name}: " + "; ".join(fails))
        else:
            passed += 1
            print(f"PASS {name} ({', '.join(legs)})")
    if os.path.isdir(a.invalid):
        for name in sorted(os.listdir(a.invalid)):
            case = os.path.join(a.invalid, name)
            if not os.path.isdir(case):
                continue
            verdict, msg = check_invalid(case)
            if verdict is None:
                passed += 1
                print(f"PASS invalid/{name}: {msg}")
            elif verdict == "skip":
                skipped += 1
                print(f"SKIP invalid/{name}: {msg}")
            else:
                failed += 1
                print(f"FAIL invalid/{name}: {msg}")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
