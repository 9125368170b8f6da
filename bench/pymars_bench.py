"""pymars peer (pip mars-earth, run inside bench/.venv).

  python pymars_bench.py mem MODEL.json DATA.npy RUNS OUT.f64 [MAXROWS]   in-memory
        Earth.predict on the first MAXROWS rows (default all), median of RUNS (JSON on
        stdout); the last predictions go to OUT.f64 (raw float64)
  python pymars_bench.py csv MODEL.json IN.csv OUT.csv           pandas.read_csv +
        Earth.predict + to_csv(float_format="%.17g"); timed from outside (whole process)
The model is rebuilt from the ModelSpec by pymars_spec.load (PyPI's mars-earth has no
ModelSpec loader).
"""
import json
import statistics
import sys
import time

import numpy as np

import pymars_spec


def main():
    mode = sys.argv[1]
    t0 = time.perf_counter()
    model, names = pymars_spec.load(sys.argv[2])
    load_s = time.perf_counter() - t0
    if mode == "mem":
        X = np.load(sys.argv[3])
        if len(sys.argv) > 6:
            X = X[:int(sys.argv[6])]
        runs = int(sys.argv[4])
        ts = []
        for _ in range(runs):
            t0 = time.perf_counter()
            y = model.predict(X)
            ts.append(time.perf_counter() - t0)
        y = np.ascontiguousarray(y, dtype="<f8")
        y.tofile(sys.argv[5])
        ok = ~np.isnan(y)
        print(json.dumps({"rows": int(X.shape[0]), "runs": runs, "predict_s": statistics.median(ts),
                          "all_s": ts, "load_s": load_s, "checksum": float(np.sum(y[ok])),
                          "nan_rows": int((~ok).sum()), "sklearn_shim": pymars_spec.SHIMMED}))
    elif mode == "csv":
        import pandas as pd
        df = pd.read_csv(sys.argv[3])
        y = model.predict(df[names].to_numpy())
        pd.DataFrame({"prediction": y}).to_csv(sys.argv[4], index=False, float_format="%.17g")
    else:
        sys.exit("usage: pymars_bench.py mem|csv ...")


if __name__ == "__main__":
    main()
