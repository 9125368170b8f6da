"""Write a fitted pymars ``Earth`` (mars-earth 1.0.4 from PyPI) as ModelSpec v1 JSON.

    from marsreplay.export import from_pymars          # the installed package
    # or, from a checkout without building it (standard library only):
    import sys; sys.path.insert(0, "exporters/python")
    from marsreplay_export import from_pymars
    from_pymars(fitted_earth, "model.json")

mars-earth 1.0.4, the release on PyPI, has no ModelSpec export (only pymars's git
version has ``export_model("json")``). This module reads the fitted estimator's own
objects (``basis_``, ``coef_``, ``categorical_imputer_``, ``record_``) and translates
their structure: one ModelSpec term per basis function, parents as nested objects,
coefficients copied. It computes no prediction; ``mars-replay`` is the judge
(exporters/python/README.md).

Standard library only (pymars is imported lazily, to recognise its basis classes).
Written to become ``marsreplay.export`` (``from_pymars``) once the Python package of
mars-replay exists.
"""

import json
import math
import numbers
import os
import platform
import tempfile

__all__ = ["from_pymars", "modelspec_from_pymars", "ExportError", "EXPORTER", "EXPORTER_VERSION"]

EXPORTER = "marsreplay-export-pymars"
EXPORTER_VERSION = "0.1.0"
MAX_DEPTH = 64  # mars-replay's parent nesting limit


class ExportError(ValueError):
    """The estimator cannot be written as ModelSpec v1; nothing was written."""


def _finite(v, what):
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise ExportError("%s is not a number (%r)" % (what, v))
    f = float(v)
    if not math.isfinite(f):
        raise ExportError("%s is not finite (%r)" % (what, f))
    return f


def _index(v, n_features, what):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise ExportError("%s: variable_idx %r is not an integer" % (what, v))
    j = int(v)
    if not 0 <= j < n_features:
        raise ExportError("%s: variable_idx %d is outside 0..%d" % (what, j, n_features - 1))
    return j


def _classes():
    from pymars import _basis as B  # noqa: PLC0415 (lazy: only for a fitted model)

    return B


def _term(bf, n_features, what, depth=0):
    """One basis function as a ModelSpec term (a dict), parents nested."""
    if depth > MAX_DEPTH:
        raise ExportError("%s: parents nested deeper than %d" % (what, MAX_DEPTH))
    B = _classes()
    kind = type(bf)
    parent1 = getattr(bf, "parent1", None)
    parent2 = getattr(bf, "parent2", None)

    def parent(p, key):
        return None if p is None else _term(p, n_features, "%s.%s" % (what, key), depth + 1)

    if kind is B.ConstantBasisFunction:
        if parent1 is not None or parent2 is not None:
            raise ExportError("%s: a constant with a parent" % what)
        return {"kind": "constant"}
    if kind is B.InteractionBasisFunction:
        if parent1 is None or parent2 is None:
            raise ExportError("%s: an interaction without both parents" % what)
        return {"kind": "interaction", "parent1": parent(parent1, "parent1"),
                "parent2": parent(parent2, "parent2")}
    if kind is B.MissingnessBasisFunction:
        # pymars's transform ignores any parent: none may be written
        if parent1 is not None or parent2 is not None:
            raise ExportError("%s: a missingness term with a parent" % what)
        j = _index(bf.variable_idx, n_features, what)
        return {"kind": "missingness", "variable_idx": j, "variable_name": bf.variable_name}
    if parent2 is not None:
        # pymars's hinge/linear/categorical transforms ignore parent2
        raise ExportError("%s: parent2 on a %s term" % (what, kind.__name__))
    j = _index(bf.variable_idx, n_features, what)
    if kind is B.HingeBasisFunction:
        right = bf.is_right_hinge
        if not isinstance(right, bool):
            import numpy as np  # noqa: PLC0415

            if not isinstance(right, np.bool_):
                raise ExportError("%s: is_right_hinge %r is not a boolean" % (what, right))
            right = bool(right)
        t = {"kind": "hinge", "variable_idx": j, "variable_name": bf.variable_name,
             "is_right_hinge": right, "knot_val": _finite(bf.knot_val, what + ".knot_val")}
    elif kind is B.LinearBasisFunction:
        t = {"kind": "linear", "variable_idx": j, "variable_name": bf.variable_name}
    elif kind is B.CategoricalBasisFunction:
        t = {"kind": "categorical", "variable_idx": j, "variable_name": bf.variable_name,
             "category": _finite(bf.category, what + ".category")}
    else:
        raise ExportError("%s: basis function type %s is not one ModelSpec v1 knows"
                          % (what, kind.__name__))
    t["parent1"] = parent(parent1, "parent1")
    return t


def _label(v, what):
    """A categorical class: a JSON string or a JSON number."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool) or v is None:
        raise ExportError("%s: class %r is neither a string nor a number" % (what, v))
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return _finite(v, what)
    if type(v).__name__ == "str_":  # numpy.str_
        return str(v)
    raise ExportError("%s: class %r is neither a string nor a number" % (what, v))


def _imputer(est, n_features):
    imp = getattr(est, "categorical_imputer_", None)
    if imp is None:
        return None
    encoders, most_frequent = {}, {}
    for idx, le in sorted(imp.encoders.items()):
        what = "categorical_imputer_ feature %r" % (idx,)
        j = _index(idx, n_features, what)
        classes = [_label(c, what) for c in list(le.classes_)]
        if not classes:
            raise ExportError("%s: no classes" % what)
        mf = imp.most_frequent_.get(idx)
        if mf is None:
            raise ExportError("%s: no most frequent level (the column was all missing)" % what)
        mf = _label(mf, what)
        if mf not in classes:
            raise ExportError("%s: most frequent level %r is not among the classes" % (what, mf))
        encoders[str(j)] = classes
        most_frequent[str(j)] = mf
    return {"encoders": encoders, "most_frequent": most_frequent}


def _json_value(v):
    """get_params() values as JSON (informational), or their repr."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        f = float(v)
        return f if math.isfinite(f) else None
    if isinstance(v, (list, tuple)):
        return [_json_value(x) for x in v]
    return repr(v)


def _runtime():
    parts = ["Python " + platform.python_version()]
    for mod in ("numpy", "sklearn"):
        try:
            m = __import__(mod)
            parts.append("%s %s" % ("scikit-learn" if mod == "sklearn" else mod, m.__version__))
        except Exception:  # noqa: BLE001 (informational only)
            pass
    return "; ".join(parts)


def modelspec_from_pymars(earth_estimator, feature_names=None):
    """The ModelSpec v1 document (a dict) of a fitted pymars ``Earth``.

    feature_names: optional column names, in the order of the columns the model was
    fitted on (pymars keeps none: without them the features are x0, x1, ...).
    Raises ExportError for anything ModelSpec v1 cannot express.
    """
    import pymars  # noqa: PLC0415

    est = earth_estimator
    if isinstance(est, pymars.EarthRegressor):
        # scikit-learn wrapper: its predict is check_array (no NaN, no inf) and then
        # the inner Earth's predict, whose allow_missing is False
        if not hasattr(est, "earth_"):
            raise ExportError("the EarthRegressor is not fitted")
        if feature_names is None and getattr(est, "feature_names_in_", None) is not None:
            feature_names = [str(n) for n in est.feature_names_in_]
        est = est.earth_
    if type(est).__name__ in ("EarthClassifier", "GLMEarth", "EarthCV"):
        raise ExportError("%s: only a fitted Earth regressor is supported (a classifier or GLM "
                          "adds a link function that ModelSpec v1 has no term for)" % type(est).__name__)
    if not isinstance(est, pymars.Earth):
        raise ExportError("not a pymars Earth estimator (%s)" % type(est).__name__)
    if not getattr(est, "fitted_", False) or est.basis_ is None or est.coef_ is None:
        raise ExportError("the Earth estimator is not fitted")
    record = getattr(est, "record_", None)
    n_features = getattr(record, "n_features", None)
    if isinstance(n_features, bool) or not isinstance(n_features, numbers.Integral) or n_features < 0:
        raise ExportError("the fitted estimator has no feature count (record_.n_features)")
    n_features = int(n_features)
    basis = list(est.basis_)
    try:
        coef = [float(c) for c in list(est.coef_)]
    except TypeError as e:
        raise ExportError("coef_ is not one coefficient per basis function (multi-output?)") from e
    if len(coef) != len(basis) or not basis:
        # pymars's predict then falls back to other rules (an intercept or a stored mean)
        raise ExportError("coef_ has %d values for %d basis functions" % (len(coef), len(basis)))
    for i, c in enumerate(coef):
        if not math.isfinite(c):
            raise ExportError("coef_[%d] is not finite (%r)" % (i, c))
    if feature_names is None:
        names = ["x%d" % j for j in range(n_features)]
    else:
        names = [str(n) for n in feature_names]
        if len(names) != n_features:
            raise ExportError("%d feature_names for a model of %d features" % (len(names), n_features))
        if len(set(names)) != len(names):
            raise ExportError("duplicate feature_names")
    params = {k: _json_value(v) for k, v in sorted(est.get_params().items())}
    params["allow_missing"] = bool(est.allow_missing)
    metrics = {k: _json_value(getattr(est, k + "_", None)) for k in ("rss", "mse", "gcv")}
    return {
        "spec_version": "1.0",
        "model_type": "Earth",
        "module_version": pymars.__version__,
        "params": params,
        "feature_schema": {"n_features": n_features, "feature_names": names},
        "basis_terms": [_term(bf, n_features, "basis_[%d]" % i) for i, bf in enumerate(basis)],
        "coefficients": coef,
        "categorical_imputer": _imputer(est, n_features),
        "metrics": metrics,
        "provenance": {
            "exporter": EXPORTER,
            "exporter_version": EXPORTER_VERSION,
            "source_tool": "pymars (mars-earth)",
            "source_tool_version": pymars.__version__,
            "source_runtime": _runtime(),
        },
    }


def from_pymars(earth_estimator, path, feature_names=None):
    """Write a fitted pymars ``Earth`` to ``path`` as ModelSpec v1 JSON.

    The file appears complete or not at all (a temporary file beside it is renamed);
    a model that ModelSpec v1 cannot express raises ExportError and writes nothing.
    Returns the path.
    """
    spec = modelspec_from_pymars(earth_estimator, feature_names)
    text = json.dumps(spec, indent=1, allow_nan=False, ensure_ascii=False) + "\n"
    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".from_pymars-", suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # as a plain open() would create it
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path
