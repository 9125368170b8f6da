#!/usr/bin/env python3
"""gen_floor.py — straight-line C for one ModelSpec v1 model (the benchmark's "floor").

  gen_floor.py MODEL.json [-o OUT.h] [--name NAME]

Writes a header with
  FLOOR_NAME, FLOOR_NF (features), FLOOR_NAMES (feature names, for CSV header matching)
  double floor_row(const double *x)                       one row, x[j] = feature j
  void   floor_row4(const double *x, size_t ld, double *o) 4 rows (x, x+ld, x+2ld, x+3ld)
                                                          in one 4-lane vector each step
Both do, per row, exactly the IEEE operations of docs/SEMANTICS.md in the same order:
  term value: constant 1.0; linear x; hinge d = x - k (right) or k - x (left),
  d <= 0 ? +0.0 : d (NaN stays NaN); categorical isnan(x) ? x : (x == cat ? 1 : 0) on the
  decoded class index; missingness isnan(x) ? 1 : 0; a parent multiplies on the left
  (P1 * own); interaction P1 * P2; then acc = 0.0; acc = acc + coef[i] * b[i] left to right.
Compile with -ffp-contract=off (no FMA): then floor_row and floor_row4 are bit-identical
to libmarsreplay's mr_predict, which the floor drivers check on every row.
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
    def __init__(self, vec):
        self.vec = vec
        self.lines = []
        self.memo = {}   # structural key -> temp name (pure sub-terms shared, as plan.c does)
        self.n = 0

    def tmp(self, key, expr):
        if key in self.memo:
            return self.memo[key]
        self.n += 1
        name = "t%d" % self.n
        typ = "fl_v4d" if self.vec else "double"
        self.lines.append("    const %s %s = %s;" % (typ, name, expr))
        self.memo[key] = name
        return name

    def K(self, v):
        return ("FL_BC(%s)" if self.vec else "%s") % c_double(v)

    def x(self, j):
        return "x%d" % j

    def term(self, t):
        """Returns (key, C name) of the term's value."""
        k = t["kind"]
        if k == "constant":
            return ("1",), ("FL_ONE" if self.vec else "1.0")
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
            own = self.tmp(okey, ("fl_vhinge(%s)" if self.vec else "fl_hinge(%s)") % d)
        elif k == "categorical":
            cv = float(t["category"])
            okey = ("c", j, cv.hex())
            own = self.tmp(okey, ("fl_vcat(%s, %s)" if self.vec else "fl_cat(%s, %s)") % (self.x(j), self.K(cv)))
        elif k == "missingness":
            okey = ("m", j)
            return okey, self.tmp(okey, ("fl_vmiss(%s)" if self.vec else "fl_miss(%s)") % self.x(j))
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


def body(spec, vec):
    g = Gen(vec)
    terms = spec["basis_terms"]
    coefs = spec["coefficients"]
    out = []
    for j in used_features(terms):
        if vec:
            out.append("    const fl_v4d x%d = {x[%d], x[ld + %d], x[2 * ld + %d], x[3 * ld + %d]};"
                       % (j, j, j, j, j))
        else:
            out.append("    const double x%d = x[%d];" % (j, j))
    names = [g.term(t)[1] for t in terms]
    out += g.lines
    out.append("    %s acc = %s;" % ("fl_v4d" if vec else "double", "FL_BC(0.0)" if vec else "0.0"))
    for i, (c, n) in enumerate(zip(coefs, names)):
        out.append("    acc = acc + %s * %s; /* term %d */" % (g.K(c), n, i))
    if vec:
        out.append("    o[0] = acc[0]; o[1] = acc[1]; o[2] = acc[2]; o[3] = acc[3];")
    else:
        out.append("    return acc;")
    return "\n".join(out)


PRELUDE = r"""
#include <stddef.h>

typedef double fl_v4d __attribute__((vector_size(32)));
typedef long long fl_v4i __attribute__((vector_size(32)));
#define FL_BC(v) ((fl_v4d){(v), (v), (v), (v)})
#define FL_ONE FL_BC(1.0)

/* maximum(0, d): d <= 0 (also -0.0) gives +0.0, NaN stays NaN */
static inline double fl_hinge(double d) { return d <= 0.0 ? 0.0 : d; }
static inline double fl_cat(double v, double k) { return v != v ? v : (v == k ? 1.0 : 0.0); }
static inline double fl_miss(double v) { return v != v ? 1.0 : 0.0; }

/* the same per lane, by bit masks (all-ones where the compare holds) */
static inline fl_v4d fl_vhinge(fl_v4d d)
{
    const fl_v4i le = d <= FL_BC(0.0);
    return (fl_v4d)((fl_v4i)d & ~le);
}
static inline fl_v4d fl_vcat(fl_v4d v, fl_v4d k)
{
    const fl_v4i nan = v != v, eq = v == k;
    return (fl_v4d)((nan & (fl_v4i)v) | (~nan & eq & (fl_v4i)FL_ONE));
}
static inline fl_v4d fl_vmiss(fl_v4d v)
{
    return (fl_v4d)((v != v) & (fl_v4i)FL_ONE);
}
"""


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
    src.append('#define FLOOR_NAME "%s"' % name)
    src.append("#define FLOOR_NF %d" % nf)
    src.append("#define FLOOR_NTERMS %d" % len(spec["basis_terms"]))
    src.append("static const char *const FLOOR_NAMES[FLOOR_NF] = {%s};"
               % ", ".join(json.dumps(n) for n in names))
    src.append("\nstatic inline __attribute__((always_inline)) double floor_row(const double *x)\n{")
    src.append(body(spec, False))
    src.append("}\n")
    src.append("static inline __attribute__((always_inline)) void floor_row4(const double *x, size_t ld, double *o)\n{")
    src.append(body(spec, True))
    src.append("}\n\n#endif")
    text = "\n".join(src) + "\n"
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
