"""marsreplay: replay fitted MARS models (ModelSpec v1) bit-exactly.

    import marsreplay
    m = marsreplay.Model("model.json")
    y = m.predict(X)          # X: NumPy 2-D array, pandas DataFrame, or any
                              # Arrow producer (__arrow_c_stream__ / __arrow_c_array__)
    B = m.design(X)           # rows x terms

A thin ctypes layer over libmarsreplay's public ABI (the library ships inside
this package). Values are those of the mars-replay CLI, bit for bit: the same
decoding (column names matched as CSV headers are, labels, missing values,
unseen levels) and the same evaluator.
"""
import ctypes
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import _arrow
from ._lib import (MODE_DESIGN, MODE_PREDICT, OPT_THREADS, OPT_UNKNOWN_LEVEL, STATUS_NAMES,
                   UNKNOWN_LEVELS, MrBatch, MrColumnStats, MrError, lib, version)

__all__ = ["Model", "MarsReplayError", "Validation", "version"]
__version__ = "0.1.0"


class MarsReplayError(Exception):
    """An error the library reported: `status` (e.g. "MR_E_DATA"), `message`,
    the 1-based `row` and `column` where they apply (0 otherwise), the `field`
    (feature or column name) and, for model files, `json_path`."""

    def __init__(self, status, message, row=0, column=0, field="", json_path=""):
        self.status = status
        self.message = message
        self.row = row
        self.column = column
        self.field = field
        self.json_path = json_path
        where = []
        if row:
            where.append(f"row {row}")
        if column:
            where.append(f"column {column}")
        if field:
            where.append(f"field {field!r}")
        if json_path:
            where.append(json_path)
        super().__init__(f"{status}: {message}" + (f" ({', '.join(where)})" if where else ""))


def _error(status, err):
    return MarsReplayError(STATUS_NAMES.get(status, str(status)), err.text.decode(errors="replace"),
                           err.row, err.column, err.field.decode(errors="replace"),
                           err.json_path.decode(errors="replace"))


def _raise(status, err):
    raise _error(status, err)


class Validation:
    """What Model.validate found: `ok`, `rows` read, `error` (the first bad
    cell or column as a MarsReplayError, or None: the error predict would
    raise) and `columns`: per feature, in the model's order, a dict with
    "name", "missing" (missing cells, also those the model does not allow),
    "unseen" (unseen labels, also with unknown_level="error"),
    "first_unseen" and "first_unseen_row" (1-based), over every row read; None
    when the input could not be read at all (a missing column, a wrong type)."""

    def __init__(self, ok, rows, error, columns=None):
        self.ok, self.rows, self.error, self.columns = ok, rows, error, columns

    def __bool__(self):
        return self.ok

    def __repr__(self):
        return f"Validation(ok={self.ok}, rows={self.rows}, error={self.error!r})"


def _owned(ptr, n, width, design):
    """The library's buffer as a NumPy array (no copy), freed with it."""
    shape = (n, width) if design else (n,)
    if not ptr or n == 0:
        return np.empty(shape)
    buf = (ctypes.c_double * (n * width)).from_address(ptr)
    weakref.finalize(buf, lib.mr_buffer_free, ptr)
    return np.frombuffer(buf, dtype=np.float64).reshape(shape)


class Model:
    """A loaded ModelSpec v1 file. `unknown_level` is what an unseen
    categorical label becomes: "mode" (the most frequent class, pymars'
    rule: the default), "nan", or "error"."""

    def __init__(self, path, unknown_level="mode"):
        if unknown_level not in UNKNOWN_LEVELS:
            raise ValueError(f"unknown_level must be one of {sorted(UNKNOWN_LEVELS)}")
        self._model = ctypes.c_void_p()
        err = MrError()
        st = lib.mr_model_load_file(str(path).encode(), ctypes.byref(self._model), ctypes.byref(err))
        if st:
            _raise(st, err)
        self._unknown = UNKNOWN_LEVELS[unknown_level]
        self._lock = threading.Lock()
        self._engine = self._new_engine(1)
        self._engines = {}  # threads -> an engine with MR_OPT_THREADS workers
        m = self._model
        self.feature_names = [lib.mr_model_feature_name(m, j).decode()
                              for j in range(lib.mr_model_n_features(m))]
        self.term_names = [lib.mr_model_term_name(m, i).decode()
                           for i in range(lib.mr_model_n_terms(m))]
        self.allow_missing = bool(lib.mr_model_allow_missing(m))
        self.categorical = [bool(lib.mr_model_feature_is_categorical(m, j))
                            for j in range(len(self.feature_names))]

    def _new_engine(self, threads):
        opts = ctypes.c_void_p()
        if lib.mr_options_create(ctypes.byref(opts)):
            raise MemoryError("mr_options_create")
        try:
            lib.mr_options_set_int(opts, OPT_UNKNOWN_LEVEL, self._unknown)
            lib.mr_options_set_int(opts, OPT_THREADS, threads)
            eng = ctypes.c_void_p()
            err = MrError()
            st = lib.mr_engine_create(self._model, opts, ctypes.byref(eng), ctypes.byref(err))
            if st:
                _raise(st, err)
            return eng
        finally:
            lib.mr_options_free(opts)

    def __del__(self):
        for eng in getattr(self, "_engines", {}).values():
            lib.mr_engine_free(eng)
        self._engines = {}
        if getattr(self, "_engine", None):
            lib.mr_engine_free(self._engine)
            self._engine = None
        if getattr(self, "_model", None):
            lib.mr_model_free(self._model)
            self._model = None

    # ---- the three calls ---------------------------------------------------

    def predict(self, X, threads=1):
        """Predictions, one per row, as a float64 NumPy array. `threads` > 1
        splits the rows over that many threads (the library's MR_OPT_THREADS
        workers; for a NumPy array of a model with nothing to check, that many
        engines): the values do not change."""
        return self._run(X, MODE_PREDICT, threads)

    def design(self, X, threads=1):
        """The basis matrix: rows x len(term_names), float64."""
        return self._run(X, MODE_DESIGN, threads)

    def validate(self, X, threads=1):
        """Check X against the model without keeping any output: the first
        problem (missing column, wrong type, bad or disallowed cell, unseen
        level with unknown_level="error") is returned, not raised, with every
        feature's missing and unseen counts over the whole input
        (Validation.columns). A NumPy array goes to mr_validate over its own
        strides; a DataFrame or an Arrow producer to mr_arrow_stream_validate
        (or mr_arrow_validate for a single batch)."""
        if isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1] == len(self.feature_names) \
                and X.dtype.kind in "fiub":
            return self._validate_numpy(X.astype(np.float64, copy=False))
        if isinstance(X, np.ndarray):
            try:
                y = self._run(X, MODE_PREDICT, 1)
            except MarsReplayError as e:
                return Validation(False, 0, e)
            return Validation(True, len(y), None)
        X = self._arrow_input(X)
        nf = len(self.feature_names)
        cols = (MrColumnStats * max(nf, 1))()
        err = MrError()
        with self._engine_for(threads) as eng:
            if hasattr(X, "__arrow_c_stream__"):
                stream = _arrow.take_stream(X)
                n = ctypes.c_uint64()
                st = lib.mr_arrow_stream_validate(eng, ctypes.byref(stream), cols, ctypes.byref(n),
                                                  ctypes.byref(err))
                rows = n.value
            else:
                sp, ap, rows, keep = _arrow.borrow_array(X)
                st = lib.mr_arrow_validate(eng, sp, ap, cols, ctypes.byref(err))
                del keep
        # a schema that does not fit: nothing was read, nothing counted
        read = not (st and err.row == 0)
        return Validation(st == 0, rows if read else 0, _error(st, err) if st else None,
                          self._columns(cols) if read else None)

    def _columns(self, cols):
        return [{"name": self.feature_names[j], "missing": cols[j].missing, "unseen": cols[j].unknown,
                 "first_unseen": cols[j].first_unknown.decode(errors="replace") if cols[j].unknown else None,
                 "first_unseen_row": cols[j].first_unknown_row or None}
                for j in range(len(self.feature_names))]

    def _validate_numpy(self, X):
        """mr_validate on the array's own strides (no copy): the first bad
        cell and every column's counts."""
        nf = len(self.feature_names)
        b = MrBatch(X.ctypes.data, X.shape[0], nf, X.strides[0] // 8, X.strides[1] // 8, 0)
        cols = (MrColumnStats * max(nf, 1))()
        err = MrError()
        with self._lock:
            st = lib.mr_validate(self._engine, ctypes.byref(b), cols, ctypes.byref(err))
        return Validation(st == 0, X.shape[0], _error(st, err) if st else None, self._columns(cols))

    def _engine_for(self, threads):
        """The engine for `threads` workers (MR_OPT_THREADS), held under the
        model's lock for one call: the library splits a batch's rows over
        them (the values do not change)."""
        threads = max(int(threads), 1)
        model = self

        class _Held:
            def __enter__(self_):
                model._lock.acquire()
                try:
                    if threads == 1:
                        return model._engine
                    eng = model._engines.get(threads)
                    if eng is None:
                        eng = model._engines[threads] = model._new_engine(threads)
                    return eng
                except BaseException:
                    model._lock.release()
                    raise

            def __exit__(self_, *exc):
                model._lock.release()

        return _Held()

    # ---- routing -------------------------------------------------------------

    def _arrow_input(self, X):
        if type(X).__module__.split(".")[0] == "pandas" and not hasattr(X, "__arrow_c_stream__"):
            import pyarrow as pa  # older pandas: through pyarrow
            X = pa.Table.from_pandas(X, preserve_index=False)
        if not hasattr(X, "__arrow_c_stream__") and not hasattr(X, "__arrow_c_array__"):
            raise TypeError("X must be a NumPy 2-D array, a pandas DataFrame, or an object with "
                            f"__arrow_c_stream__ or __arrow_c_array__ (got {type(X).__name__})")
        return X

    def _run(self, X, mode, threads):
        if isinstance(X, np.ndarray):
            return self._numpy(X, mode, int(threads))
        X = self._arrow_input(X)
        if hasattr(X, "__arrow_c_stream__"):
            return self._stream(X, mode, threads)
        sp, ap, rows, keep = _arrow.borrow_array(X)
        out = self._batch(sp, ap, rows, mode, threads)
        del keep
        return out

    def _width(self, mode):
        return len(self.term_names) if mode == MODE_DESIGN else 1

    def _stream(self, X, mode, threads=1):
        stream = _arrow.take_stream(X)
        out = ctypes.c_void_p()
        n = ctypes.c_size_t()
        err = MrError()
        with self._engine_for(threads) as eng:
            st = lib.mr_arrow_stream_collect(eng, ctypes.byref(stream), mode,
                                             ctypes.byref(out), ctypes.byref(n), ctypes.byref(err))
        if st:
            _raise(st, err)
        return _owned(out.value, n.value, self._width(mode), mode == MODE_DESIGN)

    def _batch(self, schema_ptr, array_ptr, rows, mode, threads=1):
        w = self._width(mode)
        out = np.empty((rows, w) if mode == MODE_DESIGN else (rows,))
        err = MrError()
        with self._engine_for(threads) as eng:
            if mode == MODE_DESIGN:
                st = lib.mr_arrow_design(eng, schema_ptr, array_ptr, out.ctypes.data, w,
                                         ctypes.byref(err))
            else:
                st = lib.mr_arrow_predict(eng, schema_ptr, array_ptr, out.ctypes.data,
                                          ctypes.byref(err))
        if st:
            _raise(st, err)
        return out

    def _numpy(self, X, mode, threads):
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (rows x features), got {X.ndim}-D")
        nf = len(self.feature_names)
        if X.shape[1] != nf:
            raise ValueError(f"X has {X.shape[1]} columns, the model has {nf} features "
                             f"({', '.join(self.feature_names)}), in that order")
        if X.dtype.kind not in "fiub":
            raise TypeError(f"X must hold numbers, not {X.dtype}: use a DataFrame or an Arrow "
                            "table for text columns")
        X = X.astype(np.float64, copy=False)
        if X.flags.c_contiguous and self.allow_missing and not any(self.categorical):
            return self._rows(X, mode, max(threads, 1))  # nothing to check: mr_predict itself
        if X.flags.c_contiguous:
            # rows as one fixed_size_list field: the library checks the cells
            # (allow_missing, categorical labels as in a .npy file) in its pass
            rb = _arrow.RowBatch(X)
            return self._batch(ctypes.addressof(rb.schema), ctypes.addressof(rb.array),
                               X.shape[0], mode, threads)
        # columns (a Fortran-ordered array's are views), as an Arrow batch
        cols = [np.ascontiguousarray(X[:, j]) for j in range(nf)]
        batch = _arrow.ColumnBatch(self.feature_names, cols, X.shape[0])
        return self._batch(ctypes.addressof(batch.schema), ctypes.addressof(batch.array),
                           X.shape[0], mode, threads)

    def _parts(self, part, n, threads):
        """part(engine, r0, r1) over [0, n): on this thread, or split over
        `threads` engines (ctypes releases the GIL during each call); the
        first failing part in row order raises."""
        if threads <= 1 or n < 2 * threads:
            with self._lock:
                part(self._engine, 0, n)
            return
        bounds = [n * k // threads for k in range(threads + 1)]
        engines = [self._new_engine(1) for _ in range(threads)]
        try:
            with ThreadPoolExecutor(threads) as ex:
                for f in [ex.submit(part, engines[k], bounds[k], bounds[k + 1])
                          for k in range(threads)]:
                    f.result()
        finally:
            for e in engines:
                lib.mr_engine_free(e)

    def _rows(self, X, mode, threads):
        """Numeric features, missing values allowed, rows contiguous:
        mr_predict / mr_design on X itself."""
        n, nf = X.shape
        w = self._width(mode)
        out = np.empty((n, w) if mode == MODE_DESIGN else (n,))

        def part(engine, r0, r1):
            err = MrError()
            xp = X.ctypes.data + r0 * nf * 8
            if mode == MODE_DESIGN:
                st = lib.mr_design(engine, xp, r1 - r0, nf, out.ctypes.data + r0 * w * 8, w,
                                   ctypes.byref(err))
            else:
                st = lib.mr_predict(engine, xp, r1 - r0, nf, out.ctypes.data + r0 * 8,
                                    ctypes.byref(err))
            if st:
                _raise(st, err)

        self._parts(part, n, threads)
        return out
