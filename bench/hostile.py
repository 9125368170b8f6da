#!/usr/bin/env python3
"""bench/hostile.py -- bounded work on hostile models and headers (issue 14, item 12).

    python3 bench/hostile.py [--bin build/cli/mars-replay] [--n 1000000] [--dir DIR]

Generates, in DIR (default: a temporary directory, removed afterwards):
  * terms.json   a model of N distinct terms (hinges and degree-2 products over
                 1000 features: plan building looks for common sub-terms among them);
  * wide.json    a model of N features (one linear term each, so N terms too) and
  * wide.csv     a header of N columns, the model's features in reverse order, one row
                 (header mapping: the duplicate-name check and name-to-column lookups);
  * narrow.json  a model of 3 features, the last columns of wide.csv.
and times, wall clock, the best of --runs runs of whole `mars-replay check`
processes (so each figure also holds the model's load and the process start:
an upper bound on the part named):
  plan    mr_engine_create alone (the plan), through the library (ctypes, --lib),
          and `check -m terms.json` over one row (load, plan and all);
  header  `check -m narrow.json wide.csv` and `check -m wide.json wide.csv`.
The targets of issue 14: a 1e6-term model plans in <= 5 s, a 1e6-column header
maps in <= 2 s (reported, not enforced). With --base, another build is timed
beside it (one run, stopped after --timeout s). Exit status 0 when every run
succeeded, 1 if one failed."""
import argparse, json, os, shutil, subprocess, sys, tempfile, time

def term(kind, var=None, knot=None, right=None, p1=None):
    """A term with only the keys its kind needs (the loader's minimum: small files)."""
    t = {"kind": kind}
    if var is not None:
        t["variable_idx"] = var
    if knot is not None:
        t["knot_val"], t["is_right_hinge"] = knot, right
    if p1 is not None:
        t["parent1"] = p1
    return t

CONST = term("constant")

def model(names, terms):
    return {"basis_terms": terms,
            "coefficients": [((i % 7) - 3) * 0.125 for i in range(len(terms))],
            "feature_schema": {"feature_names": names, "n_features": len(names)},
            "params": {}, "spec_version": "1.0"}

def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))

def gen(d, n):
    nf = 1000
    names = ["x%d" % i for i in range(nf)]
    terms = [CONST]
    i = 0
    while len(terms) < n:  # distinct hinges, then products of a hinge and a linear term
        v, k = i % nf, (i // nf) * 0.001
        h = term("hinge", v, k, bool(i & 1))
        if i % 2 == 0:
            terms.append(h)
        else:
            terms.append(term("linear", (v + 1) % nf, p1=h))
        i += 1
    write_json(os.path.join(d, "terms.json"), model(names, terms))
    with open(os.path.join(d, "one_row_1000.csv"), "w") as f:
        f.write(",".join(names) + "\n" + ",".join("0.5" for _ in names) + "\n")
    wide = ["c%d" % i for i in range(n)]
    write_json(os.path.join(d, "wide.json"),
               model(wide, [CONST] + [term("linear", i) for i in range(n - 1)]))
    write_json(os.path.join(d, "narrow.json"),
               model(wide[-3:], [CONST] + [term("linear", i) for i in range(3)]))
    with open(os.path.join(d, "wide.csv"), "w") as f:
        f.write(",".join(reversed(wide)) + "\n" + ",".join("1" for _ in wide) + "\n")

def best(cmd, runs, timeout):
    """Best wall time of runs, or None if the first run takes over timeout s."""
    t = None
    for _ in range(runs):
        t0 = time.perf_counter()
        try:
            p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        dt = time.perf_counter() - t0
        if p.returncode != 0:
            sys.exit("failed (exit %d): %s: %s" % (p.returncode, " ".join(cmd), p.stderr.decode()[:300]))
        t = dt if t is None else min(t, dt)
    return t

def plan_seconds(lib_path, model_path, runs):
    """(load, plan) seconds, best of runs, through the library itself (ctypes):
    mr_model_load_file_opt, then mr_engine_create alone, which builds the plan."""
    import ctypes
    lib = ctypes.CDLL(lib_path)
    vp = ctypes.c_void_p
    err = ctypes.create_string_buffer(4096)  # larger than mr_error
    lib.mr_options_create.argtypes = [ctypes.POINTER(vp)]
    lib.mr_options_set_int.argtypes = [vp, ctypes.c_int, ctypes.c_int64]
    lib.mr_model_load_file_opt.argtypes = [ctypes.c_char_p, vp, ctypes.POINTER(vp), ctypes.c_char_p]
    lib.mr_engine_create.argtypes = [vp, vp, ctypes.POINTER(vp), ctypes.c_char_p]
    lib.mr_engine_free.argtypes = [vp]
    lib.mr_model_free.argtypes = [vp]
    opt = vp()
    assert lib.mr_options_create(ctypes.byref(opt)) == 0
    assert lib.mr_options_set_int(opt, 23, 1 << 30) == 0  # MR_OPT_MAX_MODEL_BYTES
    best_load = best_plan = None
    for _ in range(runs):
        m, e = vp(), vp()
        t0 = time.perf_counter()
        if lib.mr_model_load_file_opt(model_path.encode(), opt, ctypes.byref(m), err) != 0:
            sys.exit("cannot load %s" % model_path)
        t1 = time.perf_counter()
        if lib.mr_engine_create(m, None, ctypes.byref(e), err) != 0:
            sys.exit("cannot plan %s" % model_path)
        t2 = time.perf_counter()
        lib.mr_engine_free(e)
        lib.mr_model_free(m)
        best_load = t1 - t0 if best_load is None else min(best_load, t1 - t0)
        best_plan = t2 - t1 if best_plan is None else min(best_plan, t2 - t1)
    return best_load, best_plan

def fmt(t, timeout):
    return "> %d s (stopped)" % timeout if t is None else "%.3f s" % t

def main():
    ap = argparse.ArgumentParser()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--bin", default=os.path.join(root, "build", "cli", "mars-replay"))
    ap.add_argument("--lib", default=os.path.join(root, "build", "src", "libmarsreplay.so"),
                    help="the library whose plan is timed alone (mr_engine_create)")
    ap.add_argument("--base", help="another mars-replay (e.g. an older build) timed side by side")
    ap.add_argument("--n", type=int, default=1000000)
    ap.add_argument("--dir", help="keep the generated files here")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=int, default=120, help="seconds before a run is stopped")
    a = ap.parse_args()
    d = a.dir or tempfile.mkdtemp(prefix="mr-hostile-")
    os.makedirs(d, exist_ok=True)
    j = lambda f: os.path.join(d, f)
    legs = [  # name, arguments, target (s)
        ("load+plan+1 row: check, %d-term model" % a.n, ["check", "--max-model-bytes", "1G", "-m", j("terms.json"), j("one_row_1000.csv")], None),
        ("header: check, 3-feature model, %d-column header" % a.n, ["check", "-m", j("narrow.json"), j("wide.csv")], 2),
        ("header: check, %d-feature model, %d-column header" % (a.n, a.n), ["check", "--max-model-bytes", "1G", "-m", j("wide.json"), j("wide.csv")], None),
    ]
    try:
        t0 = time.perf_counter()
        gen(d, a.n)
        print("generated n=%d in %.1f s in %s" % (a.n, time.perf_counter() - t0, d))
        if os.path.exists(a.lib):
            load, plan = plan_seconds(a.lib, j("terms.json"), a.runs)
            print("%-55s %.3f s (its load alone: %.3f s)   TARGET <= 5 s: %s"
                  % ("plan alone: mr_engine_create, %d-term model" % a.n, plan, load,
                     "PASS" if plan <= 5 else "FAIL"), flush=True)
        for name, args, target in legs:
            t = best([a.bin] + args, a.runs, a.timeout)
            line = "%-55s %s" % (name, fmt(t, a.timeout))
            if a.base:
                bargs = [x for x in args if x not in ("--max-model-bytes", "1G")]
                line += "   base: %s" % fmt(best([a.base] + bargs, 1, a.timeout), a.timeout)
            if target:
                ok = t is not None and t <= target
                line += "   TARGET <= %g s: %s" % (target, "PASS" if ok else "FAIL")
            print(line, flush=True)
    finally:
        if not a.dir:
            shutil.rmtree(d)

if __name__ == "__main__":
    main()
