#!/usr/bin/env python3
"""pipecmp.py — piped mode against stream mode, on random CSV.

    pipecmp.py BIN MODEL CASES SEED

A pipe read with worker threads is cut by the workers (src/pipe_feed.c): at
the last '\\n' of each raw block, whatever the quote state, with the open
record carried on by the writer. Each case is random CSV for the example model
(fixtures/example) with a kept text column full of quotes, commas, CRs and
line ends inside quotes, records near --max-record-bytes, a missing last line
end, and now and then one error (a bad number, a short row, an unterminated
quote, an over-long record). It is piped into `predict --keep note -@ T
--chunk-bytes K` for small K and T = 2..4, and the exit status, stderr and
stdout must equal those of the same bytes read by one thread from a pipe
(stream mode, cut by the calling thread); on an error, stdout must be a prefix
of the output for the same rows without it. Four runs in ten write `-o FILE`
instead (the workers then write their own chunks): the file must hold that
output, and must not exist after a failure. Prints one line per failing case.
"""
import json
import os
import random
import subprocess
import sys

COLOURS = ["red", "blue", "green", "UNSEEN"]


def text(rnd, maxlen):
    out = []
    for _ in range(rnd.randrange(maxlen + 1)):
        c = rnd.random()
        out.append('""' if c < 0.1 else "\n" if c < 0.2 else "," if c < 0.25 else "\r\n" if c < 0.27
                   else chr(rnd.randrange(97, 123)))
    return "".join(out)


def field(rnd, s):
    return '"' + s + '"' if (rnd.random() < 0.5 or any(ch in s for ch in '",\r\n')) else s


def case(rnd):
    long_text = rnd.random() < 0.3
    # mostly more than the header's read (64 KiB), which goes to chunk 0 whole
    rows = rnd.randrange(0, 200 if long_text else 2500)
    lines = ["note,c,b,colour,id"]
    for i in range(rows):
        note = text(rnd, 1500 if long_text else 20)
        c = "%.6g" % rnd.uniform(-3, 3) if rnd.random() > 0.05 else ""
        b = "%.6g" % rnd.uniform(-3, 3)
        rec = [field(rnd, note), field(rnd, c) if rnd.random() < 0.3 else c, b,
               field(rnd, rnd.choice(COLOURS)), str(i)]
        lines.append(",".join(rec))
    clean = list(lines)
    err = rnd.random()
    if rows and err < 0.08:
        lines[rnd.randrange(1, rows + 1)] = "x,notanumber,1,red,0"
    elif rows and err < 0.14:
        lines[rnd.randrange(1, rows + 1)] = "x,1,red"
    eol = "\r\n" if rnd.random() < 0.2 else "\n"
    body, clean = eol.join(lines), eol.join(clean)
    if err > 0.9 and err < 0.95:
        body += '\n"unterminated,1,2,red,9'
    elif rnd.random() < 0.7:
        body += "\n"
        clean += "\n"
    return body.encode(), clean.encode()


def run(argv, data, timeout=10):
    try:
        p = subprocess.run(argv, input=data, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "hung", b"", b""
    return p.returncode, p.stdout, p.stderr


def settle(got, out_path, report_path):
    """A piped run's (status, output, stderr) with the output from out_path when it wrote
    -o FILE (None: stdout), which must exist only after a success; and whether its report
    says the workers read the pipe. Removes both files."""
    if out_path:
        have = os.path.exists(out_path)
        if have:
            with open(out_path, "rb") as f:
                got = (got[0], f.read(), got[2])
            os.unlink(out_path)
        if have != (got[0] == 0):
            got = ("output file %s after exit %s" % ("left" if have else "missing", got[0]), got[1], got[2])
    piped = False
    try:
        with open(report_path) as f:
            piped = json.load(f).get("cpu", {}).get("input_read_by") == "workers (pipe)"
        os.unlink(report_path)
    except FileNotFoundError:
        pass
    return got, piped


def main():
    binary, model, cases, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    rnd = random.Random(seed)
    bad = 0
    piped = 0
    for n in range(cases):
        data, clean = case(rnd)
        maxrec = rnd.choice([1024, 2000, 100000])
        base = [binary, "predict", "-q", "-m", model, "--keep", "note", "--max-record-bytes", str(maxrec)]
        want = run(base + ["-@", "1", "-"], data)
        k = rnd.choice([3, 7, 64, 200, 1000, 4096, 65536])
        t = rnd.choice([2, 3, 4])
        to_file = rnd.random() < 0.4  # -o FILE: the workers write their own chunks (chained)
        out = ["-o", "pipecmp-out.csv"] if to_file else []
        got = run(base + ["-@", str(t), "--chunk-bytes", str(k), "--report", "pipecmp-report.json"] + out + ["-"],
                  data)
        got, was_piped = settle(got, "pipecmp-out.csv" if to_file else None, "pipecmp-report.json")
        piped += was_piped
        # on an error, stdout holds some chunks before the bad one: a prefix
        # of the output of the same rows without the error
        # (a record too long there too is read: --max-record-bytes changes no row before it)
        whole = [binary, "predict", "-q", "-m", model, "--keep", "note", "-@", "1", "-"]
        same_out = got[1] == want[1] if want[0] == 0 else run(whole, clean)[1].startswith(got[1])
        if got[0] != want[0] or got[2] != want[2] or not same_out:
            bad += 1
            print("case %d (seed %d, chunk-bytes %d, threads %d, max-record %d): rc %s vs %s, stdout %s, stderr %r vs %r"
                  % (n, seed, k, t, maxrec, got[0], want[0], "same" if got[1] == want[1] else "differs",
                     got[2][-300:], want[2][-300:]))
            with open("pipecmp-case-%d.csv" % n, "wb") as f:
                f.write(data)
    print("pipecmp: %d cases, %d piped, %d differ" % (cases, piped, bad))
    return 1 if bad or piped == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
