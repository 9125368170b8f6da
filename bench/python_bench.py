#!/usr/bin/env python3
"""The Python package against the C call it wraps, and pymars, in one run.

    python bench/python_bench.py [--rows N] [--runs R] [--pymars-runs P] [--json]
        (a venv with the marsreplay package, pyarrow, and mars-earth==1.0.4
         for the pymars leg; bench/bench_model.json, 10 features, 33 terms)

Data: N x 10 uniform [0, 1) float64, C order, seeded. Timed, median of R
(default 31; 9 until 2026-12-03, too few on the shared machine) each, the legs
interleaved so that drift hits all alike (pymars, which takes seconds a call:
median of P, default 3, after the others):
  c_mr_predict        mr_predict on the array itself, called through ctypes
                      (the C call: one foreign call, no Python work per row)
  py_predict_numpy    marsreplay.Model.predict(X)
  py_predict_arrow    Model.predict(pyarrow.Table of the same columns)
  pymars_predict      pymars Earth.predict(X) (mars-earth 1.0.4, rebuilt from the
                      ModelSpec by bench/pymars_spec.py)
All legs' outputs are compared with c_mr_predict's: bit for bit for the
package, pymars to 1e-9 relative (it sums in another order). The ratios are
given of the medians, of the fastest runs (min_ratio_vs_c: the runs least
disturbed by other processes) and as the median of each run's own ratio
(paired_ratio_vs_c: a run's legs follow each other, so a slow moment of the
machine hits them alike; not for pymars, timed apart).
"""
import argparse
import ctypes
import json
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=31)
    ap.add_argument("--pymars-runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-pymars", action="store_true", help="leave out the pymars leg (slow)")
    a = ap.parse_args()
    import marsreplay
    from marsreplay._lib import MrError, lib
    model_path = os.path.join(HERE, "bench_model.json")
    m = marsreplay.Model(model_path)
    rng = np.random.default_rng(12345)
    X = rng.random((a.rows, len(m.feature_names)))
    legs = {}

    eng = m._new_engine(1)
    out_c = np.empty(a.rows)
    err = MrError()

    def c_call():
        st = lib.mr_predict(eng, X.ctypes.data, a.rows, X.shape[1], out_c.ctypes.data,
                            ctypes.byref(err))
        assert st == 0
        return out_c

    legs["c_mr_predict"] = c_call
    legs["py_predict_numpy"] = lambda: m.predict(X)
    try:
        import pyarrow as pa
        t = pa.table({n: X[:, j].copy() for j, n in enumerate(m.feature_names)})
        legs["py_predict_arrow"] = lambda: m.predict(t)
    except ImportError:
        pass
    try:
        if a.no_pymars:
            raise ImportError("--no-pymars")
        sys.path.insert(0, HERE)
        import pymars_spec
        pm, _ = pymars_spec.load(model_path)
        slow = {"pymars_predict": lambda: pm.predict(X)}
    except ImportError as e:
        slow = {}
        print(f"pymars leg skipped: {e}", file=sys.stderr)

    times = {k: [] for k in list(legs) + list(slow)}
    outs = {}
    for runs, group in ((a.runs, legs), (a.pymars_runs, slow)):
        for _ in range(runs):
            for k, f in group.items():
                t0 = time.perf_counter()
                y = f()
                times[k].append(time.perf_counter() - t0)
                outs[k] = np.array(y, copy=True)
    ref = outs["c_mr_predict"]
    for k, y in outs.items():
        if k.startswith("py_"):
            assert np.array_equal(y.view(np.int64), ref.view(np.int64)), f"{k} differs from mr_predict"
        elif k == "pymars_predict":
            assert np.allclose(y, ref, rtol=1e-9, atol=0), "pymars differs beyond 1e-9"
    med = {k: statistics.median(v) for k, v in times.items()}
    low = {k: min(v) for k, v in times.items()}
    n_c = len(times["c_mr_predict"])
    paired = {k: statistics.median(times[k][i] / times["c_mr_predict"][i] for i in range(n_c))
              for k in legs}
    res = {"rows": a.rows, "features": X.shape[1], "runs": a.runs,
           "pymars_runs": a.pymars_runs if slow else 0, "median_s": med,
           "ratio_vs_c": {k: med[k] / med["c_mr_predict"] for k in med},
           "min_s": low, "min_ratio_vs_c": {k: low[k] / low["c_mr_predict"] for k in low},
           "paired_ratio_vs_c": paired,
           "library": marsreplay.version(), "numpy": np.__version__}
    if a.json:
        print(json.dumps(res))
        return
    print(f"rows {a.rows} x {X.shape[1]}, 1 thread, median (and fastest) of {a.runs} ({res['library']})")
    for k in med:
        print(f"  {k:18s} {med[k] * 1e3:9.2f} ms   {res['ratio_vs_c'][k]:7.3f} x the C call"
              f"   (fastest: {res['min_ratio_vs_c'][k]:7.3f} x)")


if __name__ == "__main__":
    main()
