"""Build a fitted pymars Earth from a ModelSpec v1 JSON file (bench helper).

PyPI's mars-earth 1.0.4 has no ModelSpec loader (pymars git HEAD's runtime.load_model),
so this rebuilds the same objects by hand: one pymars basis function per spec term, parents
as nested basis functions, coefficients as coef_, the categorical encoders as a
CategoricalImputer. Earth.predict then runs pymars' own prediction code unchanged.

If the installed scikit-learn predates `ensure_all_finite` (< 1.6), check_array is wrapped
to map it to `force_all_finite` (the same shim as docs/SEMANTICS.md §8);
pymars itself is not modified.
"""
import json
import types

import numpy as np


def _sklearn_shim():
    import inspect

    import sklearn.utils.validation as v
    if "ensure_all_finite" in inspect.signature(v.check_array).parameters:
        return False
    orig = v.check_array

    def check_array(*a, **kw):
        if "ensure_all_finite" in kw:
            kw["force_all_finite"] = kw.pop("ensure_all_finite")
        return orig(*a, **kw)

    v.check_array = check_array
    return True


SHIMMED = _sklearn_shim()

from pymars import Earth  # noqa: E402
from pymars import _basis as B  # noqa: E402


def _bf(t):
    if t is None:
        return None
    k = t["kind"]
    p1 = _bf(t.get("parent1"))
    j = t.get("variable_idx")
    name = t.get("variable_name")
    if k == "constant":
        return B.ConstantBasisFunction()
    if k == "linear":
        return B.LinearBasisFunction(j, variable_name=name, parent_bf=p1)
    if k == "hinge":
        return B.HingeBasisFunction(j, float(t["knot_val"]), bool(t["is_right_hinge"]),
                                    variable_name=name, parent_bf=p1)
    if k == "categorical":
        return B.CategoricalBasisFunction(j, float(t["category"]), variable_name=name,
                                          parent_bf=p1)
    if k == "missingness":
        return B.MissingnessBasisFunction(j, variable_name=name)
    if k == "interaction":
        return B.InteractionBasisFunction(p1, _bf(t["parent2"]))
    raise ValueError("unknown term kind %r" % k)


def _allow_missing(spec):
    am = spec.get("params", {}).get("allow_missing")
    if am is not None:
        return bool(am)
    return any(t["kind"] in ("categorical", "missingness") for t in spec["basis_terms"])


def load(path):
    spec = json.load(open(path))
    names = spec["feature_schema"].get("feature_names") or []
    p = len(names) or int(spec["feature_schema"]["n_features"])
    e = Earth(max_degree=int(spec.get("params", {}).get("max_degree", 1) or 1),
              allow_missing=_allow_missing(spec))
    e.basis_ = [_bf(t) for t in spec["basis_terms"]]
    e.coef_ = np.asarray(spec["coefficients"], dtype=float)
    e.fitted_ = True
    e.record_ = types.SimpleNamespace(n_features=p)
    imp = spec.get("categorical_imputer")
    if imp:
        from sklearn.preprocessing import LabelEncoder

        from pymars._categorical import CategoricalImputer
        ci = CategoricalImputer()
        for key, classes in imp["encoders"].items():
            le = LabelEncoder()
            le.classes_ = np.asarray(classes)
            ci.encoders[int(key)] = le
            ci.most_frequent_[int(key)] = imp["most_frequent"][key]
        e.categorical_imputer_ = ci
    else:
        e.categorical_imputer_ = None
    return e, names
