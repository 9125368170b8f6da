#!/usr/bin/env python3
"""bench.py — the measuring half of bench/run (Python 3 stdlib only; bench/run builds first).

Generates the data, runs every leg (median of --runs), checks that the fast paths agree,
prints one table and the TARGET lines, and writes bench/results/<date>-<commit>.{json,md}.
Peers that are not available are skipped with a printed reason; only a failure of
mars-replay itself (or a floor that disagrees with it) makes the exit status non-zero.
"""
import argparse
import array
import datetime
import filecmp
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time

MIB = 1 << 20
SEED = 12345
FLOOR_VECTOR_VARIANTS = ("simd4_shared", "simd4_inline", "simd8_shared", "simd8_inline")  # floor_bench.c


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def sh(argv, **kw):
    try:
        return subprocess.run(argv, capture_output=True, text=True, **kw).stdout.strip()
    except OSError:
        return ""


class Bench:
    def __init__(self, a):
        self.a = a
        self.root = os.path.abspath(a.root)
        self.bdir = os.path.join(self.root, "bench")
        self.build = os.path.abspath(a.build)
        self.bin = os.path.join(self.build, "bench-bin")
        self.data = os.path.join(self.build, "data")
        self.tmp = os.path.join(self.build, "tmp")
        os.makedirs(self.data, exist_ok=True)
        os.makedirs(self.tmp, exist_ok=True)
        self.mr = os.path.join(self.build, "cli", "mars-replay")
        self.model = os.path.join(self.bdir, "bench_model.json")
        self.model_cat = os.path.join(self.bdir, "bench_model_cat.json")
        self.nproc = os.cpu_count() or 1
        try:
            self.nproc = len(os.sched_getaffinity(0))
        except AttributeError:
            pass
        self.rows = a.rows
        self.runs = a.runs
        self.runs_inproc = max(a.runs, 9)  # in-process C legs are cheap: more repeats
        self.legs = []
        self.checks = []
        self.skipped = []
        self.gen_times = {}
        self.rss = []  # default-settings runs: (rows, peak_rss_bytes, pipeline_buffer_bytes)
        self.failed = False

    # ---- helpers -------------------------------------------------------------------------

    def gen(self, model, rows, npy):
        """Seeded data from gen_data.py, cached under bench/build/data by content key."""
        h = hashlib.sha256()
        for p in (os.path.join(self.bdir, "gen_data.py"), model):
            h.update(open(p, "rb").read())
        stem = os.path.splitext(os.path.basename(model))[0]
        path = os.path.join(self.data, "%s-%d-s%d-%s.%s" % (stem, rows, SEED, h.hexdigest()[:8],
                                                             "npy" if npy else "csv"))
        if os.path.exists(path):
            log("data %s (cached)" % os.path.basename(path))
            return path
        log("generating %s ..." % os.path.basename(path))
        t0 = time.perf_counter()
        argv = [sys.executable, os.path.join(self.bdir, "gen_data.py"), "--rows", str(rows),
                "--model", model, "--seed", str(SEED), "--out", path + ".tmp"] + (["--npy"] if npy else [])
        subprocess.run(argv, check=True)
        os.rename(path + ".tmp", path)
        self.gen_times[os.path.basename(path)] = time.perf_counter() - t0
        return path

    def proc(self, argv, stdout=None, env=None, cwd=None):
        """Run a process under bench-bin/spawn; (wall s, its peak RSS bytes, exit status, stderr)."""
        errf = os.path.join(self.tmp, "stderr.txt")
        statf = os.path.join(self.tmp, "spawn.txt")
        with open(errf, "wb") as ef:
            out = open(stdout, "wb") if stdout else subprocess.DEVNULL
            rc = subprocess.call([os.path.join(self.bin, "spawn"), statf] + argv, stdout=out, stderr=ef,
                                 stdin=subprocess.DEVNULL, env=env, cwd=cwd)
            if stdout:
                out.close()
        err = open(errf, errors="replace").read()
        try:
            wall, rss, rc2 = open(statf).read().split()
            os.unlink(statf)
        except (OSError, ValueError):
            return 0.0, 0, rc or 1, err
        return float(wall), int(rss), int(rc2), err

    def leg(self, **kw):
        kw.setdefault("threads", 1)
        kw.setdefault("model", "bench_model")
        kw["ns_per_row"] = kw["seconds"] / kw["rows"] * 1e9 if kw["seconds"] else None
        kw["rows_per_s"] = kw["rows"] / kw["seconds"] if kw["seconds"] else None
        self.legs.append(kw)
        log("  %-34s %2dt  %10.4f s  %12s rows/s" % (kw["id"], kw["threads"], kw["seconds"],
                                                    fmt_rate(kw["rows_per_s"])))
        return kw

    def skip(self, what, why):
        self.skipped.append({"what": what, "why": why})
        log("SKIP %s: %s" % (what, why))

    def check(self, name, ok, detail):
        self.checks.append({"name": name, "ok": bool(ok), "detail": detail})
        log("CHECK %s: %s (%s)" % (name, "ok" if ok else "FAILED", detail))

    def timed_cli(self, lid, what, argv, rows, threads, stdout=None, report=None, env=None, cwd=None,
                  group="e2e", model="bench_model"):
        ts, rss, reps = [], [], []
        for _ in range(self.runs):
            wall, maxrss, rc, err = self.proc(argv, stdout=stdout, env=env, cwd=cwd)
            if rc != 0:
                raise RuntimeError("%s failed (exit %d): %s" % (" ".join(argv), rc, err.strip()[-2000:]))
            ts.append(wall)
            rss.append(maxrss)
            if report:
                reps.append(json.load(open(report)))
        kw = dict(id=lid, what=what, group=group, model=model, threads=threads, rows=rows,
                  seconds=statistics.median(ts), all_seconds=ts, peak_rss_bytes=max(rss))
        if reps:
            kw["report_peak_rss_bytes"] = max(r.get("peak_rss_bytes", 0) for r in reps)
            kw["pipeline_buffer_bytes"] = max(r.get("pipeline_buffer_bytes", 0) for r in reps)
            kw["report_seconds"] = statistics.median(r.get("seconds", 0) for r in reps)
        return self.leg(**kw)

    def json_cmd(self, argv, env=None, cwd=None):
        _, _, rc, err = self.proc(argv, stdout=os.path.join(self.tmp, "out.json"), env=env, cwd=cwd)
        if rc != 0:
            raise RuntimeError("%s failed (exit %d): %s" % (" ".join(argv), rc, err.strip()[-2000:]))
        return json.loads(open(os.path.join(self.tmp, "out.json")).read().strip().splitlines()[-1])

    # ---- legs ----------------------------------------------------------------------------

    def run(self):
        a = self.a
        self.meta = meta(self)
        log("machine: %s, %d CPUs; rows %d, runs %d" % (self.meta["cpu_model"], self.nproc, self.rows, self.runs))
        csv = self.gen(self.model, self.rows, False)
        npy = self.gen(self.model, self.rows, True)
        npy_cat = self.gen(self.model_cat, self.rows, True)
        n = self.rows
        nf = 10
        T = self.nproc

        # 1. mars-replay end to end
        log("mars-replay CSV->CSV and npy->npy")
        outs = {}
        for th in sorted({1, T}):
            out = os.path.join(self.tmp, "ours-%dt.csv" % th)
            rep = os.path.join(self.tmp, "ours-%dt.report.json" % th)
            self.timed_cli("ours_csv_csv", "mars-replay CSV->CSV", [self.mr, "predict", "-m", self.model, csv,
                           "-o", out, "--threads", str(th), "--report", rep, "-q"], n, th, report=rep)
            outs[th] = out
        for th in sorted({1, T}):
            out = os.path.join(self.tmp, "ours-%dt.npy" % th)
            rep = os.path.join(self.tmp, "ours-npy-%dt.report.json" % th)
            self.timed_cli("ours_npy_npy", "mars-replay npy->npy", [self.mr, "predict", "-m", self.model, npy,
                           "-O", "npy", "-o", out, "--threads", str(th), "--report", rep, "-q"], n, th,
                           report=rep)
        self.check("csv_threads_identical", filecmp.cmp(outs[1], outs[T], shallow=False),
                   "CSV output of --threads 1 and --threads %d byte-identical" % T)
        ours_csv = read_csv_col(outs[1])
        ours_npy = read_npy(os.path.join(self.tmp, "ours-1t.npy"))
        self.check("npy_equals_csv", bits_equal(ours_csv, ours_npy) == len(ours_csv),
                   "npy->npy and CSV->CSV predictions bit-identical on the same values (%d rows)" % len(ours_csv))

        # memory at default settings (no --threads: the affinity mask), flat in input size?
        log("peak RSS at default settings")
        env = dict(os.environ)
        env.pop("MARS_REPLAY_THREADS", None)
        sizes = [(max(n // 10, 1), head_csv(csv, max(n // 10, 1), self.tmp)), (n, csv)]
        if a.big:
            sizes.append((10 * n, self.gen(self.model, 10 * n, False)))
        for rows, path in sizes:
            rep = os.path.join(self.tmp, "default.report.json")
            _, maxrss, rc, err = self.proc([self.mr, "predict", "-m", self.model, path, "-o",
                                            os.path.join(self.tmp, "default.csv"), "--report", rep, "-q"], env=env)
            if rc != 0:
                raise RuntimeError("default-settings run failed: " + err)
            r = json.load(open(rep))
            self.rss.append({"rows": rows, "peak_rss_bytes": r["peak_rss_bytes"], "wait4_maxrss_bytes": maxrss,
                             "pipeline_buffer_bytes": r["pipeline_buffer_bytes"], "threads": r.get("threads")})
            log("  %d rows: peak RSS %.2f MiB (report), %.2f MiB (wait4), pipeline buffers %.2f MiB"
                % (rows, r["peak_rss_bytes"] / MIB, maxrss / MIB, r["pipeline_buffer_bytes"] / MIB))

        # 2. the library in memory, 3. the floors
        log("in-memory: library and floors")
        for model, data in (("bench_model", npy), ("bench_model_cat", npy_cat)):
            mpath = os.path.join(self.bdir, model + ".json")
            r = self.json_cmd([os.path.join(self.bin, "mem_driver"), mpath, data, str(self.runs_inproc)])
            self.leg(id="ours_mem", what="libmarsreplay mr_predict", group="mem", model=model, threads=1,
                     rows=r["rows"], seconds=r["lib_1t_s"], checksum=r["checksum"])
            self.leg(id="ours_mem", what="libmarsreplay mr_predict", group="mem", model=model, threads=2,
                     rows=r["rows"], seconds=r["lib_2t_s"], checksum=r["checksum"])
            wall, _, rc, err = self.proc([os.path.join(self.bin, "floor_" + model), mpath, data,
                                          str(self.runs_inproc)], stdout=os.path.join(self.tmp, "floor.json"))
            if rc not in (0, 3):  # 3: ran, but rows differ from mr_predict (reported below)
                raise RuntimeError("floor_%s failed (exit %d): %s" % (model, rc, err.strip()[-2000:]))
            f = json.loads(open(os.path.join(self.tmp, "floor.json")).read())
            # the scalar reference, and the fastest vector variant on 1 thread (floor_bench.c)
            variants = {v: {"1t_s": f[v + "_1t_s"], "2t_s": f[v + "_2t_s"]} for v in FLOOR_VECTOR_VARIANTS}
            for lid, v, label in (("floor_scalar", "scalar", "floor: straight-line C, 1 row at a time"),
                                  ("floor_best", f["best"], "floor: straight-line C, fastest vector variant (%s)"
                                   % f["best"])):
                for th in (1, 2):
                    self.leg(id=lid, what=label, group="floor", model=model, threads=th, rows=f["rows"],
                             seconds=f["%s_%dt_s" % (v, th)], checksum=f["checksum"],
                             **({"variant": v, "variants": variants} if lid == "floor_best" else {}))
            for v in ("scalar",) + FLOOR_VECTOR_VARIANTS:
                self.check("floor_%s_bit_identical[%s]" % (v, model), f[v + "_mismatch"] == 0,
                           "%d of %d rows differ from mr_predict" % (f[v + "_mismatch"], f["rows"]))
            if f["checksum"] != r["checksum"]:
                self.check("floor_checksum[%s]" % model, False, "floor %r vs library %r" % (f["checksum"], r["checksum"]))

        # naive CSV floor
        log("naive CSV->CSV floor")
        nout = os.path.join(self.tmp, "naive.csv")
        self.timed_cli("floor_naive_csv", "floor: naive C CSV->CSV (strtod+printf)",
                       [os.path.join(self.bin, "naive_csv"), csv], n, 1, stdout=nout, group="floor")
        nv = read_csv_col(nout)
        same = bits_equal(nv, ours_csv)
        self.check("naive_equals_ours", same == len(ours_csv),
                   "%d of %d naive-floor predictions bit-identical to mars-replay's" % (same, len(ours_csv)))

        # 6. physical references
        log("physical probes")
        p = self.json_cmd([os.path.join(self.bin, "probe"), str(n * nf * 8), "5"])
        for th in (1, 2):
            self.leg(id="phys_memcpy", what="memcpy of the input array (%.0f MB)" % (n * nf * 8 / 1e6),
                     group="phys", threads=th, rows=n, seconds=p["memcpy_%dt_s" % th],
                     gbps_stream=2 * p["bytes"] / p["memcpy_%dt_s" % th] / 1e9)
        self.leg(id="phys_strtod", what="glibc strtod, %d per row" % nf, group="phys", rows=n,
                 seconds=p["strtod_s"] * nf * n / p["values"], values_per_s=p["values"] / p["strtod_s"])
        self.leg(id="phys_printf", what='glibc snprintf("%.17g"), 1 per row', group="phys", rows=n,
                 seconds=p["printf_s"] * n / p["values"], values_per_s=p["values"] / p["printf_s"])

        # number conversion: our parser and printer against glibc, 1e6 values per set
        log("number parsing and printing (num_bench)")
        self.numbers = self.json_cmd([os.path.join(self.bin, "num_bench"), "1000000", "--json"])
        for name, st in self.numbers["sets"].items():
            log("  %-22s parse %.1f vs strtod %.1f ns, format %.1f vs printf %.1f ns" % (
                name, st["parse_shortest_ns"], st["strtod_shortest_ns"], st["format_ns"], st["printf_ns"]))

        # 4. pymars
        self.pymars(csv, npy, npy_cat)
        # 5. R earth
        self.r_earth(csv)
        self.meta["loadavg_after"] = open("/proc/loadavg").read().split()[:3]

    def pymars(self, csv, npy, npy_cat):
        py = self.a.venv_python
        if not py:
            self.skip("pymars", self.a.venv_reason or "no venv")
            return
        log("pymars (bench/.venv)")
        env = dict(os.environ, PYTHONPATH=self.bdir)
        # pymars decodes categorical cells one Python call at a time (~130 us/row here), so the
        # categorical model runs on at most BENCH_PYMARS_CAT_ROWS rows (default 1e5)
        cat_rows = min(self.rows, int(os.environ.get("BENCH_PYMARS_CAT_ROWS", "100000")))
        for model, data, rows in (("bench_model", npy, self.rows), ("bench_model_cat", npy_cat, cat_rows)):
            mpath = os.path.join(self.bdir, model + ".json")
            raw = os.path.join(self.tmp, "pymars-%s.f64" % model)
            try:
                r = self.json_cmd([py, os.path.join(self.bdir, "pymars_bench.py"), "mem", mpath, data,
                                   str(self.runs), raw, str(rows)], env=env)
            except RuntimeError as e:
                self.skip("pymars in-memory [%s]" % model, str(e)[-300:])
                continue
            self.leg(id="pymars_mem", what="pymars Earth.predict (ndarray)" + (
                     "" if rows == self.rows else ", first %s rows" % fmt_rate(rows).replace(" ", "")),
                     group="peer", model=model,
                     rows=r["rows"], seconds=r["predict_s"], all_seconds=r["all_s"], checksum=r["checksum"])
            # agreement with mars-replay on the same array (pymars sums B @ coef in BLAS order)
            ours = os.path.join(self.tmp, "ours-%s.npy" % model)
            self.proc([self.mr, "predict", "-m", mpath, data, "-O", "npy", "-o", ours, "-q", "--threads", "1"])
            y_ours = read_npy(ours)[:rows]
            y_py = array.array("d")
            y_py.frombytes(open(raw, "rb").read())
            same = bits_equal(y_py, y_ours)
            diff = max_abs_diff(y_py, y_ours)
            self.checks.append({"name": "pymars_agreement[%s]" % model, "ok": diff <= 1e-9, "info": True,
                                "detail": "%d of %d rows bit-identical, max |diff| %.3g (BLAS dot order)"
                                % (same, len(y_ours), diff)})
        try:
            self.timed_cli("pymars_csv_csv", "pymars: pandas read_csv + predict + to_csv",
                           [py, os.path.join(self.bdir, "pymars_bench.py"), "csv", self.model, csv,
                            os.path.join(self.tmp, "pymars.csv")], self.rows, 1, env=env, group="peer")
        except RuntimeError as e:
            self.skip("pymars CSV->CSV", str(e)[-300:])

    def r_earth(self, csv):
        if not self.a.r_ok:
            self.skip("R earth", self.a.r_reason or "Rscript with earth and data.table not available")
            return
        log("R earth")
        rs = os.path.join(self.bdir, "r_bench.R")
        rds = os.path.join(self.tmp, "r_model.rds")
        try:
            fit = self.json_cmd(["Rscript", rs, "fit", os.path.join(self.bdir, "train.csv"), rds, "33"])
            r = self.json_cmd(["Rscript", rs, "mem", rds, csv, str(self.runs)])
        except RuntimeError as e:
            self.skip("R earth", str(e)[-300:])
            return
        note = "R model: %d terms (pymars: 33)" % fit["terms"]
        self.leg(id="r_mem_matrix", what="R earth predict(fit, matrix)", group="peer", rows=r["rows"],
                 seconds=r["matrix_s"], note=note)
        self.leg(id="r_mem_df", what="R earth predict(fit, data.frame)", group="peer", rows=r["rows"],
                 seconds=r["dataframe_s"], note=note)
        try:
            self.timed_cli("r_csv_csv", "R: fread + predict + fwrite", ["Rscript", rs, "csv", rds, csv,
                           os.path.join(self.tmp, "r.csv")], self.rows, 1, group="peer")
        except RuntimeError as e:
            self.skip("R CSV->CSV", str(e)[-300:])


# ---- readers and comparisons --------------------------------------------------------------

def read_csv_col(path):
    with open(path) as f:
        next(f)
        return array.array("d", (float(line) for line in f))


def read_npy(path):
    with open(path, "rb") as f:
        pre = f.read(10)
        hlen = int.from_bytes(pre[8:10], "little")
        f.read(hlen)
        y = array.array("d")
        y.frombytes(f.read())
    if sys.byteorder != "little":
        y.byteswap()
    return y


def bits_equal(a, b):
    if len(a) != len(b):
        return 0
    ba, bb = a.tobytes(), b.tobytes()
    if ba == bb:
        return len(a)
    qa, qb = array.array("Q"), array.array("Q")
    qa.frombytes(ba)
    qb.frombytes(bb)
    return sum(1 for i in range(len(a)) if qa[i] == qb[i] or (a[i] != a[i] and b[i] != b[i]))


def max_abs_diff(a, b):
    return max((abs(x - y) for x, y in zip(a, b) if x == x and y == y), default=0.0)


def head_csv(path, rows, tmp):
    out = os.path.join(tmp, "head-%d.csv" % rows)
    with open(path) as f, open(out, "w") as g:
        for i, line in enumerate(f):
            if i > rows:
                break
            g.write(line)
    return out


# ---- meta ---------------------------------------------------------------------------------

def meta(b):
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    git = ["git", "-C", b.root, "--no-optional-locks"]
    commit = sh(git + ["rev-parse", "HEAD"]) or "unknown"
    dirty = bool(sh(git + ["status", "--porcelain", "--untracked-files=no"]))
    m = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cpu_model": cpu,
        "cpus": b.nproc,
        "kernel": platform.release(),
        "compiler": sh(["cc", "--version"]).splitlines()[0] if sh(["cc", "--version"]) else "unknown",
        "commit": commit,
        "commit_short": commit[:10],
        "dirty": dirty,
        "mars_replay_version": sh([b.mr, "--version"]).splitlines()[0] if sh([b.mr, "--version"]) else "",
        "rows": b.rows,
        "runs": b.runs,
        "runs_in_process": b.runs_inproc,
        "seed": SEED,
        "python": platform.python_version(),
        "loadavg_before": open("/proc/loadavg").read().split()[:3],
        "flags": {
            "library": "meson buildtype=release (-O3), project -ffp-contract=off",
            "floors": "scalar: -O3 -march=native -ffp-contract=off -fno-tree-vectorize -fno-tree-slp-vectorize; "
                      "vector variants: -O3 -march=native -ffp-contract=off (their own translation unit)",
        },
    }
    if b.a.venv_python:
        m["pymars"] = sh([b.a.venv_python, "-c", "import importlib.metadata as m; print(' '.join("
                          "p + '=' + m.version(p) for p in ('mars-earth','numpy','pandas','scikit-learn')))"])
    if b.a.r_ok:
        m["r"] = sh(["Rscript", "-e", "cat(R.version.string, '/ earth', format(packageVersion('earth')),"
                     "'/ data.table', format(packageVersion('data.table')))"])
    return m


# ---- report -------------------------------------------------------------------------------

def fmt_rate(r):
    if r is None:
        return "-"
    for div, suf in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if r >= div:
            return "%.3g%s" % (r / div, suf)
    return "%.3g" % r


def find(legs, lid, model="bench_model", threads=1):
    for l in legs:
        if l["id"] == lid and l["model"] == model and l["threads"] == threads:
            return l
    return None


def ratios(b):
    """Annotate each leg: ours ÷ this (speed ratio against the comparable ours leg), Nt ÷ 1t."""
    legs = b.legs
    T = b.nproc
    for l in legs:
        one = find(legs, l["id"], l["model"], 1)
        if l["threads"] > 1 and one and one["rows_per_s"]:
            l["speedup_vs_1t"] = l["rows_per_s"] / one["rows_per_s"]
        ours = None
        if l["id"].startswith("ours"):
            continue
        if l["group"] in ("floor", "peer") and l["id"] in ("floor_naive_csv", "pymars_csv_csv", "r_csv_csv"):
            ours = find(legs, "ours_csv_csv", "bench_model", 1)
        elif l["group"] in ("floor", "peer"):
            ours = find(legs, "ours_mem", l["model"], l["threads"])
        elif l["id"] == "phys_memcpy":
            ours = find(legs, "ours_npy_npy", "bench_model", T if l["threads"] > 1 else 1)
        elif l["id"] in ("phys_strtod", "phys_printf"):
            ours = find(legs, "ours_csv_csv", "bench_model", 1)
        if ours and ours["rows_per_s"] and l["rows_per_s"]:
            l["ours_vs_this"] = ours["rows_per_s"] / l["rows_per_s"]
            l["ours_vs_this_leg"] = "%s %dt" % (ours["id"], ours["threads"])


def targets(b):
    legs, T, t = b.legs, b.nproc, []

    def add(name, measured, target, ok, detail=""):
        t.append({"name": name, "measured": measured, "target": target,
                  "result": "SKIP" if ok is None else ("PASS" if ok else "FAIL"), "detail": detail})

    for model in ("bench_model", "bench_model_cat"):
        o1, o2 = find(legs, "ours_mem", model, 1), find(legs, "ours_mem", model, 2)
        f1, f2 = find(legs, "floor_best", model, 1), find(legs, "floor_best", model, 2)
        if o1 and f1:
            # issue 4's target, now against the fastest floor (issue 10 item 7): not met, reported
            r = o1["seconds"] / f1["seconds"]
            add("mem_1t_vs_best_floor[%s]" % model,
                "%.2fx the floor's time (%.1f vs %.1f ns/row, floor %s)" % (r, o1["ns_per_row"], f1["ns_per_row"],
                                                                          f1["variant"]),
                "<= 1.5x", r <= 1.5)
        if o1 and o2 and f1 and f2:
            so, sf = o1["seconds"] / o2["seconds"], f1["seconds"] / f2["seconds"]
            add("mem_2t_speedup_vs_floor[%s]" % model,
                "%.2f (ours 2t/1t %.2fx, %s floor 2t/1t %.2fx)" % (so / sf, so, f1["variant"], sf),
                ">= 0.90 of the floor's speed-up", so / sf >= 0.9)
    c1, cT = find(legs, "ours_csv_csv", "bench_model", 1), find(legs, "ours_csv_csv", "bench_model", T)
    nv = find(legs, "floor_naive_csv")
    if c1 and nv:
        r = c1["rows_per_s"] / nv["rows_per_s"]
        add("csv_1t_vs_naive_floor", "%.2fx (%s vs %s rows/s)" % (r, fmt_rate(c1["rows_per_s"]),
            fmt_rate(nv["rows_per_s"])), ">= 2.0x", r >= 2.0)
    if c1 and cT and T > 1:
        r = cT["rows_per_s"] / c1["rows_per_s"]
        add("csv_%dt_vs_1t" % T, "%.2fx" % r, ">= 1.8x", r >= 1.8)
    elif c1:
        add("csv_Nt_vs_1t", "1 CPU only", ">= 1.8x", None)
    n1 = find(legs, "ours_npy_npy", "bench_model", 1)
    if n1 and c1:
        r = n1["rows_per_s"] / c1["rows_per_s"]
        add("npy_vs_csv_1t", "%.1fx (%s vs %s rows/s)" % (r, fmt_rate(n1["rows_per_s"]),
            fmt_rate(c1["rows_per_s"])), ">= 10x", r >= 10)
    sets = getattr(b, "numbers", {}).get("sets", {})
    if sets:
        # the worst ratio over both value sets and both spellings (%.17g and shortest)
        parse = min((st["strtod_%s_ns" % k] / st["parse_%s_ns" % k], name, k)
                    for name, st in sets.items() for k in ("17g", "shortest"))
        add("numparse_vs_strtod", "%.2fx (worst case: %s, %s text)" % parse, ">= 3x", parse[0] >= 3)
        fmt = min((st["printf_ns"] / st["format_ns"], name) for name, st in sets.items())
        add("numfmt_vs_printf_17g", "%.2fx (worst case: %s)" % fmt, ">= 3x", fmt[0] >= 3)
    big = [x for x in b.rss if x["rows"] == 10 * b.rows]
    base = [x for x in b.rss if x["rows"] == b.rows][0]
    small = [x for x in b.rss if x["rows"] == max(b.rows // 10, 1)][0]
    name = "rss_flat_%s_vs_%s" % (fmt_rate(b.rows).replace(" ", ""), fmt_rate(10 * b.rows).replace(" ", ""))
    if big:
        d = (big[0]["peak_rss_bytes"] - base["peak_rss_bytes"]) / MIB
        add(name, "%+.2f MiB (%.2f -> %.2f MiB)" % (d, base["peak_rss_bytes"] / MIB, big[0]["peak_rss_bytes"] / MIB),
            "within 5 MiB", abs(d) <= 5)
    else:
        d = (base["peak_rss_bytes"] - small["peak_rss_bytes"]) / MIB
        add(name, "not run (BENCH_BIG=1 runs it; %s -> %s rows: %+.2f MiB)" % (
            fmt_rate(small["rows"]).replace(" ", ""), fmt_rate(b.rows).replace(" ", ""), d), "within 5 MiB", None)
    peak = max(x["peak_rss_bytes"] for x in b.rss)
    add("rss_max_default", "%.2f MiB (largest input: %s rows, %s threads)" % (
        peak / MIB, fmt_rate(max(x["rows"] for x in b.rss)).replace(" ", ""), b.rss[-1]["threads"]),
        "<= 64 MiB", peak <= 64 * MIB)
    # the ring fills only after 2 x threads chunks: compare sizes of >= 1e5 rows
    full = [x for x in b.rss if x["rows"] >= 100000]
    bufs = sorted({x["pipeline_buffer_bytes"] for x in full})
    add("pipeline_buffer_bytes", ", ".join("%.2f MiB at %s rows" % (x["pipeline_buffer_bytes"] / MIB,
        fmt_rate(x["rows"]).replace(" ", "")) for x in b.rss),
        "flat in input size (inputs >= 100k rows) and <= 64 MiB",
        (len(bufs) == 1 and bufs[0] <= 64 * MIB) if len(full) >= 2 else (None if not full else bufs[0] <= 64 * MIB))
    return t


def warnings(b):
    """A compute-bound floor that does not speed up on 2 threads means the CPUs were shared."""
    out = []
    for model in ("bench_model", "bench_model_cat"):
        f2 = find(b.legs, "floor_scalar", model, 2)
        if f2 and f2.get("speedup_vs_1t", 2.0) < 1.5:
            out.append("the scalar floor's own 2-thread speed-up on %s is %.2fx (compute-bound: ~2x on 2 idle "
                       "CPUs): other work shared the CPUs, so 2-thread figures and targets of this run "
                       "understate scaling" % (model, f2["speedup_vs_1t"]))
    return out


def numbers_lines(b, markdown=False):
    """num_bench: mr_parse_double vs strtod and mr_format_double vs snprintf("%.17g")."""
    sets = (getattr(b, "numbers", None) or {}).get("sets", {})
    head = ["set", "strtod %.17g", "ours", "strtod shortest", "ours", "printf %.17g", "ours shortest",
            "parse x", "format x"]
    rows = []
    for name, st in sets.items():
        px = min(st["strtod_17g_ns"] / st["parse_17g_ns"], st["strtod_shortest_ns"] / st["parse_shortest_ns"])
        rows.append([name, "%.1f" % st["strtod_17g_ns"], "%.1f" % st["parse_17g_ns"],
                     "%.1f" % st["strtod_shortest_ns"], "%.1f" % st["parse_shortest_ns"],
                     "%.1f" % st["printf_ns"], "%.1f" % st["format_ns"], "%.2f" % px,
                     "%.2f" % (st["printf_ns"] / st["format_ns"])])
    if not rows:
        return []
    if markdown:
        return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]
    w = [max(len(x[i]) for x in [head] + rows) for i in range(len(head))]
    return ["numbers (ns per value, median of %d; x = glibc time / ours, worst of the two spellings):"
            % b.numbers["runs"]] + ["  " + "  ".join(x[i].rjust(w[i]) for i in range(len(head))) for x in [head] + rows]


def floor_lines(b, markdown=False):
    """Every vector floor variant (floor_bench.c), ns/row on 1 and 2 threads."""
    out = []
    for l in b.legs:
        if l["id"] != "floor_best" or l["threads"] != 1:
            continue
        cells = ["%s %.1f / %.1f" % (v, t["1t_s"] * 1e9 / l["rows"], t["2t_s"] * 1e9 / l["rows"])
                 for v, t in l["variants"].items()]
        out.append(("- `%s`: " if markdown else "  %s: ") % l["model"] + ", ".join(cells))
    if out:
        out.insert(0, "vector floor variants, ns/row on 1 / 2 threads (the fastest on 1 thread is floor_best):")
    return out


def table_rows(b):
    out = []
    for l in b.legs:
        out.append([
            l["id"] + ("" if l["model"] == "bench_model" else " [cat]"),
            l["what"],
            str(l["threads"]),
            "%.4f" % l["seconds"],
            fmt_rate(l["rows_per_s"]),
            "%.1f" % l["ns_per_row"] if l["ns_per_row"] is not None else "-",
            "%.1f" % (l["peak_rss_bytes"] / MIB) if l.get("peak_rss_bytes") else "",
            "%.3g" % l["ours_vs_this"] if "ours_vs_this" in l else "",
            "%.2f" % l["speedup_vs_1t"] if "speedup_vs_1t" in l else "",
        ])
    return out


HEAD = ["leg", "what", "thr", "median s", "rows/s", "ns/row", "RSS MiB", "ours÷this", "Nt÷1t"]


def text_table(rows):
    w = [max(len(str(r[i])) for r in rows + [HEAD]) for i in range(len(HEAD))]
    line = lambda r: "  ".join(str(c).ljust(w[i]) if i < 2 else str(c).rjust(w[i]) for i, c in enumerate(r))
    return "\n".join([line(HEAD), line(["-" * x for x in w])] + [line(r) for r in rows])


def md_table(rows):
    out = ["| " + " | ".join(HEAD) + " |", "|" + "|".join(["---", "---"] + ["---:"] * (len(HEAD) - 2)) + "|"]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(out)


NOTES = """\
ours÷this = rows/s of the comparable mars-replay leg ÷ rows/s of this leg (> 1: mars-replay is faster):
in-memory peers and floors against `ours_mem` of the same model and thread count; CSV peers and the
naive floor against `ours_csv_csv` 1 thread; memcpy against `ours_npy_npy` (same threads); strtod and
printf against `ours_csv_csv` 1 thread. Nt÷1t = this leg's rows/s ÷ its own 1-thread rows/s.
End-to-end legs (ours_csv_csv, ours_npy_npy, pymars_csv_csv, r_csv_csv, floor_naive_csv) are the wall
time of the whole process (start, model load, read, write); in-memory legs time predict only.
Physical rows: memcpy of the input-sized array (rows/s = rows ÷ copy time); strtod/printf scaled to
per-row cost (10 parses or 1 print per row)."""


def report(b):
    ratios(b)
    ts = targets(b)
    rows = table_rows(b)
    m = b.meta
    head = ("mars-replay benchmark: %s rows, median of %d (in-process C legs: %d); %s, %d CPUs; %s; commit %s%s"
            % (fmt_rate(b.rows).replace(" ", ""), b.runs, b.runs_inproc, m["cpu_model"], b.nproc, m["compiler"],
               m["commit_short"], " (dirty)" if m["dirty"] else ""))
    print(head)
    print("load average before %s, after %s (%d CPUs: other work on them slows the 2-thread legs most)"
          % (" ".join(m["loadavg_before"]), " ".join(m.get("loadavg_after", [])), b.nproc))
    print(text_table(rows))
    print()
    for line in floor_lines(b):
        print(line)
    print()
    for line in numbers_lines(b):
        print(line)
    print()
    for c in b.checks:
        print("CHECK %s: %s (%s)" % (c["name"], "info" if c.get("info") else ("ok" if c["ok"] else "FAILED"),
                                     c["detail"]))
    for s in b.skipped:
        print("SKIPPED %s: %s" % (s["what"], s["why"]))
    for t in ts:
        print("TARGET %s: measured %s, target %s, %s" % (t["name"], t["measured"], t["target"], t["result"]))
    for w in warnings(b):
        print("WARNING " + w)
    npass = sum(t["result"] == "PASS" for t in ts)
    nfail = sum(t["result"] == "FAIL" for t in ts)
    print("targets: %d passed, %d failed, %d skipped" % (npass, nfail, len(ts) - npass - nfail))

    # files
    os.makedirs(b.a.out_dir, exist_ok=True)
    day = m["date"][:10]
    name = "%s-%s%s" % (day, m["commit_short"][:7], "" if b.rows == 1000000 else "-%drows" % b.rows)
    doc = {"meta": m, "numbers": getattr(b, "numbers", None), "warnings": warnings(b), "legs": b.legs, "default_settings_rss": b.rss, "checks": b.checks, "skipped": b.skipped,
           "targets": ts, "data_generation_s": b.gen_times, "notes": NOTES}
    jp = os.path.join(b.a.out_dir, name + ".json")
    with open(jp + ".tmp", "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.rename(jp + ".tmp", jp)
    md = ["# mars-replay benchmark %s" % name, "",
          "- date: %s" % m["date"],
          "- machine: %s, %d CPUs (affinity), kernel %s, load average before %s, after %s"
          % (m["cpu_model"], b.nproc, m["kernel"], " ".join(m["loadavg_before"]), " ".join(m.get("loadavg_after", []))),
          "- compiler: %s; library: %s; floors: %s" % (m["compiler"], m["flags"]["library"], m["flags"]["floors"]),
          "- commit: %s%s (%s)" % (m["commit"], " + uncommitted changes" if m["dirty"] else "", m["mars_replay_version"]),
          "- rows: %d (gen_data.py --seed %d), median of %d runs (in-process C legs: %d)"
          % (b.rows, SEED, b.runs, b.runs_inproc)]
    if "pymars" in m:
        md.append("- pymars venv: %s" % m["pymars"])
    if "r" in m:
        md.append("- R: %s" % m["r"])
    md += ["", md_table(rows), "", NOTES, ""] + floor_lines(b, markdown=True)
    md += ["", "## Number parsing and printing (ns per value)", ""]
    md += numbers_lines(b, markdown=True)
    md += ["", "## Targets", ""]
    md += ["- **%s** %s: measured %s, target %s" % (t["result"], t["name"], t["measured"], t["target"]) for t in ts]
    md += [""] + ["Warning: " + w for w in warnings(b)]
    md += ["", "## Checks", ""]
    md += ["- %s %s: %s" % ("info" if c.get("info") else ("ok" if c["ok"] else "**FAILED**"), c["name"], c["detail"])
           for c in b.checks]
    md += ["", "## Peak RSS at default settings (mars-replay --report)", "",
           "| rows | threads | peak RSS MiB | pipeline buffers MiB |", "|---:|---:|---:|---:|"]
    md += ["| %d | %s | %.2f | %.2f |" % (x["rows"], x["threads"], x["peak_rss_bytes"] / MIB,
                                         x["pipeline_buffer_bytes"] / MIB) for x in b.rss]
    if b.skipped:
        md += ["", "## Skipped", ""] + ["- %s: %s" % (s["what"], s["why"]) for s in b.skipped]
    with open(os.path.join(b.a.out_dir, name + ".md.tmp"), "w") as f:
        f.write("\n".join(md) + "\n")
    os.rename(os.path.join(b.a.out_dir, name + ".md.tmp"), os.path.join(b.a.out_dir, name + ".md"))
    print("results: %s, %s" % (os.path.relpath(jp, b.root), os.path.relpath(jp[:-5] + ".md", b.root)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--rows", type=int, default=1000000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--big", type=int, default=0)
    ap.add_argument("--venv-python", default="")
    ap.add_argument("--venv-reason", default="")
    ap.add_argument("--r-ok", type=int, default=0)
    ap.add_argument("--r-reason", default="")
    ap.add_argument("--out-dir", required=True)
    a = ap.parse_args()
    if a.runs < 3:
        sys.exit("bench: --runs must be at least 3")
    b = Bench(a)
    try:
        b.run()
    except (RuntimeError, subprocess.CalledProcessError) as e:
        log("FAILED: %s" % e)
        return 1
    report(b)
    return 0 if all(c["ok"] or c.get("info") for c in b.checks) else 3


if __name__ == "__main__":
    sys.exit(main())
