"""Export pymars (mars-earth 1.0.4) models, replay them with mars-replay, compare
with the estimator's own predict bit for bit.

    python tests/test_from_pymars.py MARS_REPLAY WORKDIR [CASE_FILTER]

Cases: scikit-learn's diabetes, wine and breast_cancer data at degrees 1, 2 and 3,
with allow_missing off and on (on: about 4% of the cells missing, in training and
held-out rows, plus rows with +-inf); diabetes with allow_missing on also treats its
`sex` column as categorical. Held-out rows: rows not used for the fit, rows outside
the training range, rows exactly on every knot, and, for a categorical column, an
unseen level. pymars is pure Python and slow, so each fit uses a subset of rows and
a term limit (the cases still reach their degree: checked).

Bit-identity needs a BLAS whose dgemv sums in column order, like Debian's reference
BLAS (numpy from Debian, python3-numpy): pymars predicts with `B @ coef`. With the
OpenBLAS inside numpy's PyPI wheels the order differs (see README); the test then
fails and says so.

Prints "PASS name" / "FAIL name: why" and exits 1 on any failure.
"""

import copy
import json
import math
import os
import struct
import subprocess
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from marsreplay_export import ExportError, from_pymars  # noqa: E402

warnings.filterwarnings("ignore")
import pymars  # noqa: E402
from sklearn import datasets  # noqa: E402

BIN = os.path.abspath(sys.argv[1])
WORK = sys.argv[2]
ONLY = sys.argv[3] if len(sys.argv) > 3 else ""
os.makedirs(WORK, exist_ok=True)
results = {"pass": 0, "fail": 0}


def result(name, why):
    if why is None:
        print("PASS", name, flush=True)
        results["pass"] += 1
    else:
        print("FAIL %s: %s" % (name, why), flush=True)
        results["fail"] += 1


def bits(a):
    return np.asarray(a, dtype="<f8").view("<u8")


def same(a, b):
    """Bitwise equality, NaN == NaN whatever its sign or payload."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return np.where(np.isnan(a) | np.isnan(b), np.isnan(a) & np.isnan(b), bits(a) == bits(b))


def ulps(a, b):
    def key(x):
        k = bits(x).astype(np.int64)
        return np.where(k < 0, np.int64(-(2**63)) - k, k)

    return np.abs(key(a) - key(b))


def write_csv(path, names, X):
    with open(path, "w", encoding="utf-8") as f:
        f.write(",".join(names) + "\n")
        for row in X:
            f.write(",".join("" if (isinstance(v, float) and math.isnan(v)) else repr(float(v)) for v in row))
            f.write("\n")


def replay(cmd, model, csv, out):
    if os.path.exists(out):
        os.unlink(out)
    p = subprocess.run([BIN, cmd, "-m", model, "-O", "f64", "-o", out, csv],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise AssertionError("mars-replay %s exit %d: %s" % (cmd, p.returncode, p.stderr.strip()))
    return np.fromfile(out, dtype="<f8")


def chain_degree(t):
    if t is None or t["kind"] == "constant":
        return 0
    if t["kind"] == "interaction":
        return chain_degree(t["parent1"]) + chain_degree(t["parent2"])
    if t["kind"] == "missingness":
        return 1
    return 1 + chain_degree(t.get("parent1"))


def knots(t, out):
    if t is None:
        return out
    if t["kind"] == "hinge":
        out.append((t["variable_idx"], t["knot_val"]))
    knots(t.get("parent1"), out)
    knots(t.get("parent2"), out)
    return out


def held_out(X_test, X_train, spec, allow_missing, cat_cols, rng):
    rows = [X_test]
    lo, hi = np.nanmin(X_train, axis=0), np.nanmax(X_train, axis=0)
    width = hi - lo + 1.0
    base = X_test[: min(len(X_test), 6)]
    for j in range(X_train.shape[1]):
        if j in cat_cols:
            continue
        vals = [lo[j] - 10 * width[j], lo[j] - 1e-9, hi[j] + 1e-9, hi[j] + 10 * width[j]]
        vals += [k for (v, k) in knots_all(spec) if v == j]
        ex = base[np.arange(len(vals)) % len(base)].copy()
        ex[:, j] = vals
        rows.append(ex)
    for j in cat_cols:  # an unseen level: pymars and mars-replay both use the most frequent
        ex = base.copy()
        ex[:, j] = 12345.0
        rows.append(ex)
    if allow_missing:
        ex = base.copy()
        ex[0, 0] = np.inf
        ex[1, 0] = -np.inf
        ex[2, X_train.shape[1] - 1] = np.inf
        rows.append(ex)
    return np.vstack(rows)


def knots_all(spec):
    out = []
    for t in spec["basis_terms"]:
        knots(t, out)
    return out


SEEN = set()  # term kinds met in the exported models (coverage check at the end)


def seen(t):
    if t is None:
        return
    k = t["kind"]
    SEEN.add(k + ("-right" if t.get("is_right_hinge") else "-left") if k == "hinge" else k)
    if k != "constant" and t.get("parent1") and t["parent1"]["kind"] != "constant":
        SEEN.add("parent-chain")
    seen(t.get("parent1"))
    seen(t.get("parent2"))


def case(name, X, y, degree, allow_missing, n_train, max_terms, cat_cols=(), seed=0,
         allow_linear=True, extend=None):
    if ONLY and ONLY not in name:
        return
    t0 = time.time()
    try:
        X0 = X.astype(float)
        # pymars's forward pass sometimes stops early (mostly with missing cells): then
        # another random subset, up to 6 tries, until the model reaches the degree
        for attempt in range(6):
            rng = np.random.default_rng(seed + 100 * attempt)
            X = X0.copy()
            idx = rng.permutation(len(X))
            tr, te = idx[:n_train], idx[n_train:n_train + 60]
            if allow_missing:
                holes = rng.random(X.shape) < 0.04
                for j in cat_cols:
                    holes[:, j] = False
                X[holes] = np.nan
            # minspan/endspan alpha 0.05 (py-earth's defaults): fewer candidate knots, a
            # fit about 8 times faster than with every data value as a candidate
            est = pymars.Earth(max_degree=degree, max_terms=max_terms, allow_missing=allow_missing,
                               categorical_features=list(cat_cols) or None, allow_linear=allow_linear,
                               minspan_alpha=0.05, endspan_alpha=0.05)
            est.fit(X[tr], y[tr].astype(float))
            if extend:
                extend(est)
            model = os.path.join(WORK, name + ".json")
            names = ["f%d_%s" % (j, "c" if j in cat_cols else "n") for j in range(X.shape[1])]
            from_pymars(est, model, feature_names=names)
            spec = json.load(open(model, encoding="utf-8"))
            deg = max(chain_degree(t) for t in spec["basis_terms"])
            if deg >= degree:
                break
        else:
            raise AssertionError("6 fits stopped below degree %d" % degree)
        if spec["params"]["allow_missing"] is not allow_missing:
            raise AssertionError("params.allow_missing is not %s" % allow_missing)
        Xh = held_out(X[te], X[tr], spec, allow_missing, cat_cols, rng)
        want = est.predict(Xh)
        csv = os.path.join(WORK, name + ".csv")
        write_csv(csv, names, Xh)
        got = replay("predict", model, csv, os.path.join(WORK, name + ".f64"))
        if len(got) != len(want):
            raise AssertionError("%d predictions for %d rows" % (len(got), len(want)))
        ok = same(got, want)
        if not ok.all():
            bad = np.flatnonzero(~ok)
            fin = bad[np.isfinite(got[bad]) & np.isfinite(want[bad])]
            raise AssertionError("%d of %d rows differ (max %s ULP); row %d: mars-replay %r, pymars %r"
                                 % (len(bad), len(ok), ulps(got[fin], want[fin]).max() if len(fin) else "-",
                                    bad[0], float(got[bad[0]]), float(want[bad[0]])))
        for t in spec["basis_terms"]:
            seen(t)
        why = None
        extra = " (%d terms, %d rows, %d NaN, %.1fs)" % (len(spec["basis_terms"]), len(want),
                                                        int(np.isnan(want).sum()), time.time() - t0)
    except Exception as e:  # noqa: BLE001
        why = "%s: %s" % (type(e).__name__, e)
        extra = ""
    result(name + extra, why)


def refused(name, fn, pattern):
    if ONLY and ONLY not in name:
        return
    model = os.path.join(WORK, name + ".json")
    if os.path.exists(model):
        os.unlink(model)
    try:
        fn(model)
        why = "exported, expected a refusal"
    except ExportError as e:
        if pattern not in str(e):
            why = "message %r lacks %r" % (str(e), pattern)
        elif os.path.exists(model):
            why = "a file was left behind"
        elif any(f.startswith(".from_pymars-") for f in os.listdir(WORK)):
            why = "a temporary file was left behind"
        else:
            why = None
    except Exception as e:  # noqa: BLE001
        why = "%s instead of ExportError: %s" % (type(e).__name__, e)
    result(name, why)


def main():
    diabetes = datasets.load_diabetes(return_X_y=True)
    wine = datasets.load_wine(return_X_y=True)
    cancer = datasets.load_breast_cancer(return_X_y=True)
    # (rows, max_terms) per degree: small enough for pure-Python pymars in CI
    size = {1: (110, 9), 2: (110, 13), 3: (110, 17)}
    # diabetes: column 1 (sex, two values) recoded 0/1, categorical when missing cells
    # are on (pymars's fitter compares the raw value with the encoded index, so only
    # codes 0..k-1 give categorical terms that ever fire); at degrees 1 and 2 no linear
    # terms, so that its models are made of hinges (with linear terms pymars fits almost
    # only those; without them it stops below degree 3)
    Xd, yd = diabetes
    Xd = Xd.copy()
    Xd[:, 1] = (Xd[:, 1] > 0).astype(float)
    for data_name, (X, y) in (("diabetes", (Xd, yd)), ("wine", wine), ("breast_cancer", cancer)):
        for degree in (1, 2, 3):
            for am in (False, True):
                cat = (1,) if (data_name == "diabetes" and am) else ()
                n, mt = size[degree]
                case("%s-degree%d-missing-%s%s" % (data_name, degree, "on" if am else "off", "-categorical" if cat else ""),
                     X, y, degree, am, n, mt, cat_cols=cat, seed=degree,
                     allow_linear=data_name != "diabetes" or degree == 3)

    def handmade(est):
        """Terms pymars's fitter does not make (missingness, interaction, a missingness
        parent) appended to a fitted model: pymars's predict still evaluates them."""
        from pymars import _basis as B

        c = B.ConstantBasisFunction()
        est.basis_ = list(est.basis_) + [
            B.MissingnessBasisFunction(0),
            B.InteractionBasisFunction(B.HingeBasisFunction(2, 0.01, False, parent_bf=c),
                                       B.CategoricalBasisFunction(1, 1.0, parent_bf=c)),
            B.LinearBasisFunction(3, parent_bf=B.MissingnessBasisFunction(4)),
            B.HingeBasisFunction(5, -0.02, True, parent_bf=B.LinearBasisFunction(6, parent_bf=c)),
        ]
        est.coef_ = np.append(est.coef_, [3.25, -17.5, 0.375, 1e3 / 3])

    case("diabetes-handmade-kinds", Xd, yd, 1, True, 110, 9, cat_cols=(1,), seed=7, allow_linear=False,
         extend=handmade)
    want = {"constant", "hinge-right", "hinge-left", "linear", "categorical", "missingness", "interaction",
            "parent-chain"}
    if not ONLY:
        result("coverage: every term kind exported and replayed",
               None if want <= SEEN else "never met: %s" % sorted(want - SEEN))

    # the scikit-learn wrapper: exported through its inner Earth, its column names kept
    if not ONLY or "regressor" in ONLY:
        why = None
        try:
            reg = pymars.EarthRegressor(max_degree=2, max_terms=9, minspan_alpha=0.05, endspan_alpha=0.05)
            reg.fit(wine[0][:110], wine[1][:110].astype(float))
            model = os.path.join(WORK, "wine-EarthRegressor.json")
            from_pymars(reg, model)
            spec = json.load(open(model, encoding="utf-8"))
            if spec["feature_schema"]["feature_names"][:2] != ["x0", "x1"]:
                raise AssertionError("feature names %r" % spec["feature_schema"]["feature_names"][:2])
            Xh = wine[0][110:]
            csv = os.path.join(WORK, "wine-EarthRegressor.csv")
            write_csv(csv, spec["feature_schema"]["feature_names"], Xh)
            got = replay("predict", model, csv, os.path.join(WORK, "reg.f64"))
            if not same(got, reg.predict(Xh)).all():
                raise AssertionError("predictions differ")
        except Exception as e:  # noqa: BLE001
            why = "%s: %s" % (type(e).__name__, e)
        result("wine-EarthRegressor", why)

    X, y = diabetes
    small = pymars.Earth(max_degree=1, max_terms=7).fit(X[:80], y[:80])
    refused("refuse-unfitted", lambda p: from_pymars(pymars.Earth(), p), "not fitted")
    refused("refuse-not-earth", lambda p: from_pymars(object(), p), "not a pymars Earth")
    refused("refuse-feature-names", lambda p: from_pymars(small, p, feature_names=["a"]), "feature_names")

    def bad_knot(p):
        from pymars import _basis as B

        e = copy.deepcopy(small)
        e.basis_.append(B.HingeBasisFunction(0, float("nan"), True, parent_bf=B.ConstantBasisFunction()))
        e.coef_ = np.append(e.coef_, 1.0)
        from_pymars(e, p)

    def nan_coef(p):
        e = copy.deepcopy(small)
        e.coef_ = e.coef_.copy()
        e.coef_[-1] = np.nan
        from_pymars(e, p)

    def unknown_basis(p):
        from pymars import _basis as B

        class Squared(B.LinearBasisFunction):
            pass

        e = copy.deepcopy(small)
        e.basis_.append(Squared(0))
        e.coef_ = np.append(e.coef_, 1.0)
        from_pymars(e, p)

    refused("refuse-nan-knot", bad_knot, "knot_val is not finite")
    refused("refuse-nan-coefficient", nan_coef, "is not finite")
    refused("refuse-unknown-basis-type", unknown_basis, "Squared")

    cls = pymars.EarthClassifier(max_degree=1, max_terms=5)
    cls.fit(X[:60], (y[:60] > 140).astype(int))
    refused("refuse-classifier", lambda p: from_pymars(cls, p), "EarthClassifier")

    print("%d passed, %d failed" % (results["pass"], results["fail"]))
    sys.exit(1 if results["fail"] else 0)


main()
