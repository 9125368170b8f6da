#!/usr/bin/env python3
"""scaling.py — how far more threads can take mars-replay: the serial fraction.

    bench/scaling.py --bin BUILD/cli/mars-replay [--rows N] [--runs R] [--out-dir DIR]

For CSV->CSV and npy->npy, from a file and from stdin, it runs `predict` with 1 and 2
threads (--runs times each, medians) and reads `--report`'s `run_seconds` (the replay
itself: not the model's loading or the report's hash of the output, which take the same
time with any thread count) and its `cpu` object: the calling
thread's CPU seconds (reading and cutting, ordering and writing) and all jobs' seconds.
serial_fraction = calling thread / total CPU; by Amdahl's law no number of workers can
make the run more than 1 / serial_fraction times faster than one worker, and P workers
at most 1 / (f + (1 - f) / P). It prints the measured 2-thread speed-up, the ceiling and
that projection up to 64 workers, the TARGET lines of the pipeline issue, and writes
DIR/<date>-<commit>-scaling.{json,md}. Data: bench/gen_data.py --seed 12345 on
bench_model.json, cached in bench/build/data. Benchmark figures, never a test.

What the machine allows: for the file cases it also runs two one-thread processes at once
(the same work twice, nothing shared) and reports their speed-up over one, 2 x T(1 process)
/ T(2 at once), both timed from process start to exit; "of machine" is the 2-thread run's
speed-up on that same clock divided by it. That is the most any 2-thread run can gain on this machine: a VM whose two
vCPUs share a core, or are taken by a neighbour, gives less than 2x for perfectly
independent work. The three kinds of run are interleaved, so that they share the noise.
"""
import argparse, datetime, json, os, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SEED = 12345
TARGETS = {  # case: (max serial fraction, min 2-thread speed-up or None)
    "csv->csv file": (0.03, 1.9),
    "npy->npy file": (0.05, 1.6),
    "csv->csv stdin": (0.08, None),
    "npy->npy stdin": (None, None),
}


def gen(model, rows, npy, data_dir):
    os.makedirs(data_dir, exist_ok=True)
    path = os.path.join(data_dir, "scaling-%s-%d-s%d.%s" % (os.path.basename(model)[:-5], rows, SEED,
                                                          "npy" if npy else "csv"))
    if not os.path.exists(path):
        argv = [sys.executable, os.path.join(HERE, "gen_data.py"), "--rows", str(rows), "--model", model,
                "--seed", str(SEED), "--out", path + ".tmp"] + (["--npy"] if npy else [])
        subprocess.run(argv, check=True)
        os.rename(path + ".tmp", path)
    return path


def one(binary, model, inp, npy, stdin, threads, tmp):
    out = os.path.join(tmp, "out.npy" if npy else "out.csv")
    rep = os.path.join(tmp, "rep.json")
    argv = [binary, "predict", "-q", "-m", model, "-@", str(threads), "-o", out, "--report", rep]
    argv += ["-O", "npy"] if npy else []
    t0 = time.monotonic()
    if stdin:  # a real pipe: cat writes into it
        cat = subprocess.Popen(["cat", inp], stdout=subprocess.PIPE)
        subprocess.run(argv + ["-"], stdin=cat.stdout, check=True)
        cat.stdout.close()
        if cat.wait() != 0:
            raise RuntimeError("cat %s failed" % inp)
    else:
        subprocess.run(argv + [inp], check=True)
    wall = time.monotonic() - t0  # as pair() measures: process start to exit
    with open(rep) as f:
        r = json.load(f)
    return r["run_seconds"], r["cpu"], r["threads"], wall


def pair(binary, model, inp, npy, tmp):
    """Two one-thread processes on the same input at once: their wall-clock seconds."""
    t0 = time.monotonic()
    procs = []
    for k in (0, 1):
        out = os.path.join(tmp, "pair%d.%s" % (k, "npy" if npy else "csv"))
        argv = [binary, "predict", "-q", "-m", model, "-@", "1", "-o", out,  # as one() runs it
                "--report", os.path.join(tmp, "pair%d.json" % k)] + (["-O", "npy"] if npy else [])
        procs.append(subprocess.Popen(argv + [inp]))
    for p in procs:
        if p.wait() != 0:
            raise RuntimeError("%s failed" % binary)
    return time.monotonic() - t0


def amdahl(f, p):
    return 1.0 / (f + (1.0 - f) / p)


def commit():
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "nogit"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--model", default=os.path.join(HERE, "bench_model.json"))
    ap.add_argument("--rows", type=int, default=1000000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data-dir", default=os.path.join(HERE, "build", "data"))
    ap.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    a = ap.parse_args()
    csv = gen(a.model, a.rows, False, a.data_dir)
    npy = gen(a.model, a.rows, True, a.data_dir)
    cases = [("csv->csv file", csv, False, False), ("npy->npy file", npy, True, False),
             ("csv->csv stdin", csv, False, True), ("npy->npy stdin", npy, True, True)]
    res = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, inp, is_npy, stdin in cases:
            row = {"case": name, "rows": a.rows}
            runs = {1: [], 2: []}
            pairs = []
            for _ in range(a.runs):  # interleaved: 1 thread, 2 threads, 2 processes
                for t in (1, 2):
                    runs[t].append(one(a.bin, a.model, inp, is_npy, stdin, t, tmp))
                if not stdin:
                    pairs.append(pair(a.bin, a.model, inp, is_npy, tmp))
            for t in (1, 2):
                row["seconds_%dt" % t] = statistics.median(r[0] for r in runs[t])
                row["threads_used_%dt" % t] = runs[t][0][2]
                for k in ("read_cut_seconds", "write_seconds", "workers_seconds", "serial_fraction"):
                    row["%s_%dt" % (k, t)] = statistics.median(r[1][k] for r in runs[t])
                row["input_split"] = runs[t][0][1]["input_split"]
                row["input_read_by_%dt" % t] = runs[t][0][1].get("input_read_by", "?")
            # the machine's own 2-way speed-up, from the 1-thread run next to each pair, both
            # timed from process start to exit (the report's seconds leave out start and exit)
            row["machine_2way"] = (statistics.median(2 * runs[1][i][3] / pairs[i] for i in range(a.runs))
                                   if pairs else None)
            row["wall_1t"] = statistics.median(r[3] for r in runs[1])
            row["wall_2t"] = statistics.median(r[3] for r in runs[2])
            row["wall_speedup_2t"] = row["wall_1t"] / row["wall_2t"]
            row["speedup_2t"] = row["seconds_1t"] / row["seconds_2t"]
            row["speedup_of_machine"] = (row["wall_speedup_2t"] / row["machine_2way"]
                                         if row["machine_2way"] else None)
            f = row["serial_fraction_2t"]
            row["ceiling"] = 1.0 / f if f > 0 else None
            row["projected"] = {str(p): amdahl(f, p) for p in (2, 4, 8, 16, 32, 64)}
            res.append(row)
    lines = ["| case | read by (2t) | 1t s | 2t s | 2t speed-up | same, process wall clock | machine 2-way | of machine | "
             "calling thread CPU s (read+cut / write) | "
             "workers CPU s | serial fraction | ceiling | projected 8 / 16 / 32 / 64 workers |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in res:
        p = r["projected"]
        mach = r["machine_2way"]
        lines.append("| %s | %s | %.3f | %.3f | %.2fx | %.2fx | %s | %s | %.4f / %.4f | %.3f | %.2f%% | %s | %.1f / %.1f / %.1f / %.1f |" % (
            r["case"], r["input_read_by_2t"], r["seconds_1t"], r["seconds_2t"], r["speedup_2t"], r["wall_speedup_2t"],
            "%.2fx" % mach if mach else "-", "%.0f%%" % (100 * r["speedup_of_machine"]) if mach else "-",
            r["read_cut_seconds_2t"], r["write_seconds_2t"], r["workers_seconds_2t"],
            100 * r["serial_fraction_2t"], "%.0fx" % r["ceiling"] if r["ceiling"] else "-",
            p["8"], p["16"], p["32"], p["64"]))
    targets = []
    for r in res:
        fmax, smin = TARGETS[r["case"]]
        if fmax is not None:
            ok = r["serial_fraction_2t"] <= fmax
            targets.append("TARGET %-5s serial fraction, %s: %.2f%% (<= %.0f%%)" % (
                "PASS" if ok else "FAIL", r["case"], 100 * r["serial_fraction_2t"], 100 * fmax))
        if smin is not None:
            ok = r["speedup_2t"] >= smin
            targets.append("TARGET %-5s 2 threads / 1 thread, %s: %.2fx (>= %.1fx); two 1-thread processes "
                           "at once on this machine: %s" % ("PASS" if ok else "FAIL", r["case"], r["speedup_2t"], smin,
                                                            "%.2fx" % r["machine_2way"] if r["machine_2way"] else "-"))
    print("\n".join(lines))
    print("\n".join(targets))
    os.makedirs(a.out_dir, exist_ok=True)
    stem = os.path.join(a.out_dir, "%s-%s-scaling" % (datetime.date.today().isoformat(), commit()))
    meta = {"rows": a.rows, "runs": a.runs, "nproc": os.cpu_count(), "model": os.path.basename(a.model)}
    with open(stem + ".json", "w") as f:
        json.dump({"meta": meta, "cases": res, "targets": targets}, f, indent=2)
    with open(stem + ".md", "w") as f:
        f.write("# Scaling (bench/scaling.py), %d rows, median of %d, %d CPUs\n\n" % (a.rows, a.runs, os.cpu_count()))
        f.write("\n".join(lines) + "\n\n" + "\n".join("- " + t for t in targets) + "\n")
    print("scaling: wrote %s.{json,md}" % stem, file=sys.stderr)


if __name__ == "__main__":
    main()
