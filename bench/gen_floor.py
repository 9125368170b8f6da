#!/usr/bin/env python3
"""gen_floor.py — straight-line C for one ModelSpec v1 model (the benchmark's "floor").

  gen_floor.py MODEL.json [-o OUT.h] [--name NAME]

Writes a header with
  FLOOR_NAME, FLOOR_NF (features), FLOOR_NAMES (feature names, for CSV header matching)
  double floor_row(const double *x)                         one row, x[j] = feature j
  void   floor_rowW_shared(const double *x, size_t ld, double *o)
  void   floor_rowW_inline(const double *x, size_t ld, double *o)
                                  W = 4 or 8 rows (x, x+ld, ..., x+(W-1)ld) in one W-lane
                                  vector each step (GCC vector extensions: AVX2 registers for
                                  4 lanes; the 8-lane functions exist only with __AVX512F__,
                                  since GCC lowers 8-lane vectors badly without it)
"shared": every distinct sub-term (a hinge, a parent product) is computed once into a
temporary, all temporaries first, then the sum (as the library's plan shares them).
"inline": no shared temporaries: each term's value is written out where the sum adds it
(a parent used by several terms is written again; the compiler may or may not share it).
The fastest of these is the floor bench/run compares the library with (floor_bench.c).
All of them do, per row, exactly the IEEE operations of docs/SEMANTICS.md in the same order:
  term value: constant 1.0; linear x; hinge d = x - k (right) or k - x (left),
  d <= 0 ? +0.0 : d (NaN stays NaN); categorical isnan(x) ? x : (x == cat ? 1 : 0) on the
  decoded class index; missingness isnan(x) ? 1 : 0; a parent multiplies on the left
  (P1 * own); interaction P1 * P2; then acc = 0.0; acc = acc + coef[i] * b[i] left to right.
Compile with -ffp-contract=off (no FMA): then every variant is bit-identical to
libmarsreplay's mr_predict, which the floor driver checks on every row.
Input is the decoded row-major array of mr_predict: NaN = missing, categorical = index.
Python 3 stdlib only.
"""
import argparse
import json
import re
import sys


def c_double(v):
    """An exact C99 hex-float literal for v (finite only)."""
    v = float(v)
    if v != v or v in (float("inf"), float("-inf")):
        raise ValueError("non-finite constant %r" % v)
    return "%s /* %r */" % (v.hex(), v)


class Gen:
    """Expressions of one variant: lanes 1 (scalar) or 4/8 (vectors); share: temporaries."""

    def __init__(self, lanes, share):
        self.lanes = lanes
        self.share = share
        self.lines = []
        self.memo = {}   # structural key -> temp name (pure sub-terms shared, as plan.c does)
        self.n = 0

    def tmp(self, key, expr):
        if not self.share:
            return "(%s)" % expr
        if key in self.memo:
            return self.memo[key]
        self.n += 1
        name = "t%d" % self.n
        typ = "fl_v%dd" % self.lanes if self.lanes > 1 else "double"
        self.lines.append("    const %s %s = %s;" % (typ, name, expr))
        self.memo[key] = name
        return name

    def fn(self, f):
        return "fl_v%s%d" % (f, self.lanes) if self.lanes > 1 else "fl_" + f

    def K(self, v):
        return ("FL_BC%d(%s)" % (self.lanes, c_double(v))) if self.lanes > 1 else c_double(v)

    def x(self, j):
        return "x%d" % j

    def term(self, t):
        """Returns (key, C name or expression) of the term's value."""
        k = t["kind"]
        if k == "constant":
            return ("1",), ("FL_ONE%d" % self.lanes if self.lanes > 1 else "1.0")
        if k == "interaction":
            k1, n1 = self.term(t["parent1"])
            k2, n2 = self.term(t["parent2"])
            key = ("*", k1, k2)
            return key, self.tmp(key, "%s * %s" % (n1, n2))
        j = int(t["variable_idx"])
        if k == "linear":
            okey, own = ("x", j), self.x(j)
        elif k == "hinge":
            kv = float(t["knot_val"])
            right = t["is_right_hinge"]
            if not isinstance(right, bool):
                raise ValueError("hinge without boolean is_right_hinge")
            d = ("%s - %s" % (self.x(j), self.K(kv))) if right else ("%s - %s" % (self.K(kv), self.x(j)))
            okey = ("h", right, j, kv.hex())
            own = self.tmp(okey, "%s(%s)" % (self.fn("hinge"), d))
        elif k == "categorical":
            cv = float(t["category"])
            okey = ("c", j, cv.hex())
            own = self.tmp(okey, "%s(%s, %s)" % (self.fn("cat"), self.x(j), self.K(cv)))
        elif k == "missingness":
            okey = ("m", j)
            return okey, self.tmp(okey, "%s(%s)" % (self.fn("miss"), self.x(j)))
        else:
            raise ValueError("unknown term kind %r" % k)
        p = t.get("parent1")
        if p is None:
            return okey, own
        pk, pn = self.term(p)
        key = ("*", pk, okey)
        # P1 * own, parent on the left; 1.0 * v stays written (the compiler drops it: exact)
        return key, self.tmp(key, "%s * %s" % (pn, own))


def used_features(terms):
    s = set()

    def walk(t):
        if t is None:
            return
        if t.get("variable_idx") is not None and t["kind"] != "constant":
            s.add(int(t["variable_idx"]))
        walk(t.get("parent1"))
        walk(t.get("parent2"))
    for t in terms:
        walk(t)
    return sorted(s)


def body(spec, lanes, share):
    g = Gen(lanes, share)
    terms = spec["basis_terms"]
    coefs = spec["coefficients"]
    out = []
    for j in used_features(terms):
        if lanes > 1:
            out.append("    const fl_v%dd x%d = {%s};" % (lanes, j, ", ".join(
                "x[%s%d]" % ("%d * ld + " % i if i > 1 else ("ld + " if i else ""), j) for i in range(lanes))))
        else:
            out.append("    const double x%d = x[%d];" % (j, j))
    names = [g.term(t)[1] for t in terms]
    out += g.lines
    typ = "fl_v%dd" % lanes if lanes > 1 else "double"
    out.append("    %s acc = %s;" % (typ, "FL_BC%d(0.0)" % lanes if lanes > 1 else "0.0"))
    for i, (c, n) in enumerate(zip(coefs, names)):
        out.append("    acc = acc + %s * %s; /* term %d */" % (g.K(c), n, i))
    if lanes > 1:
        out.append("    %s;" % "; ".join("o[%d] = acc[%d]" % (i, i) for i in range(lanes)))
    else:
        out.append("    return acc;")
    return "\n".join(out)


PRELUDE = r"""
#include <stddef.h>

/* maximum(0, d): d <= 0 (also -0.0) gives +0.0, NaN stays NaN */
static inline double fl_hinge(double d) { return d <= 0.0 ? 0.0 : d; }
static inline double fl_cat(double v, double k) { return v != v ? v : (v == k ? 1.0 : 0.0); }
static inline double fl_miss(double v) { return v != v ? 1.0 : 0.0; }
"""

# the same per lane, by bit masks (all-ones where the compare holds); W = lanes
VPRELUDE = r"""
typedef double fl_vWd __attribute__((vector_size(8 * W)));
typedef long long fl_vWi __attribute__((vector_size(8 * W)));
#define FL_BCW(v) ((fl_vWd){BCAST})
#define FL_ONEW FL_BCW(1.0)
static inline fl_vWd fl_vhingeW(fl_vWd d)
{
    const fl_vWi le = d <= FL_BCW(0.0);
    return (fl_vWd)((fl_vWi)d & ~le);
}
static inline fl_vWd fl_vcatW(fl_vWd v, fl_vWd k)
{
    const fl_vWi nan = v != v, eq = v == k;
    return (fl_vWd)((nan & (fl_vWi)v) | (~nan & eq & (fl_vWi)FL_ONEW));
}
static inline fl_vWd fl_vmissW(fl_vWd v)
{
    return (fl_vWd)((v != v) & (fl_vWi)FL_ONEW);
}
"""

LANES = (4, 8)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("-o", "--out")
    ap.add_argument("--name")
    a = ap.parse_args()
    spec = json.load(open(a.model))
    if len(spec["coefficients"]) != len(spec["basis_terms"]):
        sys.exit("gen_floor: coefficients and basis_terms differ in length")
    fs = spec["feature_schema"]
    names = list(fs.get("feature_names") or [])
    nf = len(names) if names else int(fs["n_features"])
    if not names:
        names = ["x%d" % j for j in range(nf)]
    name = a.name or re.sub(r"\W", "_", a.model.rsplit("/", 1)[-1].rsplit(".", 1)[0])
    src = []
    src.append("/* Generated by bench/gen_floor.py from %s: do not edit. */" % a.model.rsplit("/", 1)[-1])
    src.append("#ifndef FLOOR_MODEL_H\n#define FLOOR_MODEL_H")
    src.append(PRELUDE)
    for w in LANES:
        if w == 8:
            src.append("#ifdef __AVX512F__ /* else floor_kernels.c makes 8 rows of two 4-row calls */")
        src.append(VPRELUDE.replace("BCAST", ", ".join(["(v)"] * w)).replace("W", str(w)))
        if w == 8:
            src.append("#endif")
    src.append('#define FLOOR_NAME "%s"' % name)
    src.append("#define FLOOR_NF %d" % nf)
    src.append("#define FLOOR_NTERMS %d" % len(spec["basis_terms"]))
    src.append("static const char *const FLOOR_NAMES[FLOOR_NF] = {%s};"
               % ", ".join(json.dumps(n) for n in names))
    src.append("\nstatic inline __attribute__((always_inline)) double floor_row(const double *x)\n{")
    src.append(body(spec, 1, True))
    src.append("}")
    for w in LANES:
        if w == 8:
            src.append("\n#ifdef __AVX512F__")
        for share in (True, False):
            src.append("\nstatic inline __attribute__((always_inline)) void floor_row%d_%s(const double *x, "
                       "size_t ld, double *o)\n{" % (w, "shared" if share else "inline"))
            src.append(body(spec, w, share))
            src.append("}")
        if w == 8:
            src[-1] += "\n#endif"
    src.append("\n#endif")
    text = "\n".join(src) + "\n"
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
