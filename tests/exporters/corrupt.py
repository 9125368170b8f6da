#!/usr/bin/env python3
"""Corrupted exports must be caught by mars-replay's own validation.

    corrupt.py MARS_REPLAY MODEL.json INPUT.csv WORKDIR

Takes a good exported model, breaks it in ways an exporter bug could (a knot that
is null, a string coefficient, a variable_idx past the features, a hinge without
its direction, a coefficient missing, a NaN token, a categorical imputer whose most
frequent level is not a class), and checks each: `mars-replay predict` exits 3,
writes nothing, and its one-line message names the JSON path of the defect.
Python 3 standard library only. Exit 0 when every corruption was caught.
"""
import copy
import json
import os
import re
import subprocess
import sys

BIN, MODEL, CSV, WORK = sys.argv[1:5]
os.makedirs(WORK, exist_ok=True)
good = json.load(open(MODEL, encoding="utf-8"))


def first(m, pred):
    """(term, JSON path) of the first node of m, depth first, that satisfies pred."""
    def walk(t, path):
        if not isinstance(t, dict):
            return None
        if pred(t):
            return t, path
        for key in ("parent1", "parent2"):
            r = walk(t.get(key), path + "." + key)
            if r:
                return r
        return None
    for i, t in enumerate(m["basis_terms"]):
        r = walk(t, "basis_terms[%d]" % i)
        if r:
            return r
    return None, None


def knot_null(m):
    t, p = first(m, lambda t: t.get("kind") == "hinge")
    t["knot_val"] = None
    return p + ".knot_val"


def coef_string(m):
    m["coefficients"][-1] = str(m["coefficients"][-1])
    return "coefficients[%d]" % (len(m["coefficients"]) - 1)


def idx_past_end(m):
    t, p = first(m, lambda t: "variable_idx" in t)
    t["variable_idx"] = m["feature_schema"]["n_features"]
    return p + ".variable_idx"


def hinge_no_direction(m):
    t, p = first(m, lambda t: t.get("kind") == "hinge")
    del t["is_right_hinge"]
    return p + ".is_right_hinge"


def coef_missing(m):
    m["coefficients"].pop()
    return "coefficients"


def most_frequent_unknown(m):
    imp = m.get("categorical_imputer")
    if not imp:
        return None
    key = sorted(imp["most_frequent"])[0]
    imp["most_frequent"][key] = "no such level"
    return "categorical_imputer.most_frequent." + key


corruptions = [knot_null, coef_string, idx_past_end, hinge_no_direction, coef_missing, most_frequent_unknown]
failed = 0
ran = 0
for fn in corruptions:
    m = copy.deepcopy(good)
    try:
        path = fn(m)
    except (TypeError, KeyError, AttributeError):  # the model has no such part
        path = None
    if path is None:
        continue
    ran += 1
    bad = os.path.join(WORK, fn.__name__ + ".json")
    out = os.path.join(WORK, fn.__name__ + ".out")
    with open(bad, "w", encoding="utf-8") as f:
        json.dump(m, f)
    p = subprocess.run([BIN, "predict", "-m", bad, "-o", out, CSV], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    err = p.stderr.strip()
    want = re.escape(bad) + r": " + re.escape(path) + r"(\b|:)"
    why = None
    if p.returncode != 3:
        why = "exit %d, expected 3 (%s)" % (p.returncode, err)
    elif p.stdout or os.path.exists(out):
        why = "output written"
    elif len(p.stderr.splitlines()) != 1 or not re.search(want, err):
        why = "message does not name %s: %s" % (path, err)
    print("%s corrupt/%s (%s)%s" % ("PASS" if why is None else "FAIL", fn.__name__, path,
                                      "" if why is None else ": " + why))
    failed += why is not None

# the NaN token that Python's json writes by default, and R's NA as a string
text = open(MODEL, encoding="utf-8").read()
m = re.search(r'"coefficients": \[\s*([^,\s\]]+)', text)
if m:
    ran += 1
    bad = os.path.join(WORK, "nan_token.json")
    with open(bad, "w", encoding="utf-8") as f:
        f.write(text[:m.start(1)] + "NaN" + text[m.end(1):])
    p = subprocess.run([BIN, "predict", "-m", bad, CSV], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ok = p.returncode == 3 and not p.stdout and re.search(re.escape(bad) + r":\d+:\d+: invalid JSON", p.stderr)
    print("%s corrupt/nan_token%s" % ("PASS" if ok else "FAIL", "" if ok else ": exit %d %s" % (p.returncode, p.stderr.strip())))
    failed += not ok

if ran < 5:
    print("FAIL corrupt: only %d corruptions applied to %s" % (ran, MODEL))
    failed += 1
sys.exit(1 if failed else 0)
