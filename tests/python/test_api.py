#!/usr/bin/env python3
"""The marsreplay package against its promises, without the conformance
corpus: nulls, sliced and chunked inputs, wrong types and missing columns,
a producer that fails mid-stream, release called exactly once (a counting
producer written here over the C stream interface), validate's counts from
every producer, NumPy paths and threads (NumPy and Arrow inputs), Parquet
streamed in bounded memory, errors as MarsReplayError.

    python3 tests/python/test_api.py      (unittest; needs numpy and pyarrow,
                                           pandas/polars/duckdb where used)
"""
import ctypes
import gc
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

import numpy as np
import pyarrow as pa

import marsreplay

MODEL = {
    "spec_version": "1.0", "params": {"allow_missing": True},
    "feature_schema": {"n_features": 3, "feature_names": ["colour", "b", "c"]},
    "basis_terms": [
        {"kind": "constant"},
        {"kind": "categorical", "variable_idx": 0, "category": 2.0},
        {"kind": "hinge", "variable_idx": 1, "knot_val": 0.3, "is_right_hinge": True,
         "parent1": {"kind": "categorical", "variable_idx": 0, "category": 0.0}},
        {"kind": "missingness", "variable_idx": 2},
        {"kind": "linear", "variable_idx": 2,
         "parent1": {"kind": "hinge", "variable_idx": 1, "knot_val": -0.2, "is_right_hinge": False}},
    ],
    "coefficients": [0.1, -2.5, 3.25, 0.7, 1.125],
    "categorical_imputer": {"encoders": {"0": ["blue", "green", "red"]},
                            "most_frequent": {"0": "blue"}},
}
NUMERIC = {
    "spec_version": "1.0", "params": {"allow_missing": False},
    "feature_schema": {"n_features": 2, "feature_names": ["x0", "x1"]},
    "basis_terms": [
        {"kind": "constant"},
        {"kind": "hinge", "variable_idx": 0, "knot_val": 0.5, "is_right_hinge": True},
        {"kind": "linear", "variable_idx": 1,
         "parent1": {"kind": "hinge", "variable_idx": 0, "knot_val": 0.1, "is_right_hinge": False}},
    ],
    "coefficients": [1.5, -2.0, 0.25],
}


def write(spec, allow_missing=None):
    spec = json.loads(json.dumps(spec))
    if allow_missing is not None:
        spec["params"]["allow_missing"] = allow_missing
    f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump(spec, f)
    f.close()
    return f.name


def bits(a):
    return np.asarray(a, dtype=np.float64).view(np.int64)


def table(n=500, seed=1, nulls=True):
    rng = np.random.default_rng(seed)
    labels = np.array(["blue", "green", "red", "purple", "NA"])
    colour = labels[rng.integers(0, 5 if nulls else 3, n)].astype(object)
    b = rng.uniform(-1, 1, n)
    c = rng.uniform(-5, 5, n)
    cmask = rng.random(n) < (0.2 if nulls else 0)
    if nulls:
        colour[rng.random(n) < 0.1] = None
    return pa.table({"b": pa.array(b), "colour": pa.array(colour, type=pa.string()),
                     "c": pa.array(c, mask=cmask)})


def reference(model, t):
    """The same cells one row at a time through the text path: each row as a
    one-row table of strings (CSV's decoding), one batch per row."""
    out = []
    for r in t.to_pylist():
        cells = {k: pa.array(["" if v is None else repr(v) if isinstance(v, float) else v],
                             type=pa.string()) for k, v in r.items()}
        out.append(model.predict(pa.table(cells))[0])
    return np.array(out)


class CountingStream:
    """An ArrowArrayStream written here (ctypes) over a pyarrow reader: it
    counts release calls, and can fail get_next at batch `fail_at`."""

    SCHEMA_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
    NEXT_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
    ERR_FN = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)
    REL_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p)

    def __init__(self, t, chunk=64, fail_at=-1):
        self.batches = t.to_batches(max_chunksize=chunk)
        self.schema = t.schema
        self.k = 0
        self.fail_at = fail_at
        self.releases = 0
        self.msg = ctypes.create_string_buffer(b"counting producer: the disk is on fire")
        self._fns = (self.SCHEMA_FN(self._get_schema), self.NEXT_FN(self._get_next),
                     self.ERR_FN(self._last_error), self.REL_FN(self._release))
        self.struct = marsreplay._lib.ArrowArrayStream(
            *[ctypes.cast(f, ctypes.c_void_p).value for f in self._fns], None)

    def _get_schema(self, st, out):
        self.schema._export_to_c(out)
        return 0

    def _get_next(self, st, out):
        if self.k == self.fail_at:
            return 5  # EIO
        if self.k >= len(self.batches):
            ctypes.memset(out, 0, ctypes.sizeof(marsreplay._lib.ArrowArray))
            return 0
        self.batches[self.k]._export_to_c(out)
        self.k += 1
        return 0

    def _last_error(self, st):
        return ctypes.addressof(self.msg)

    def _release(self, st):
        self.releases += 1
        ctypes.c_void_p.from_address(st + marsreplay._lib.ArrowArrayStream.release.offset).value = None

    def __arrow_c_stream__(self, requested_schema=None):
        new = ctypes.pythonapi.PyCapsule_New
        new.restype = ctypes.py_object
        new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
        return new(ctypes.addressof(self.struct), b"arrow_array_stream", None)


class ArrowInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.path = write(MODEL)
        cls.m = marsreplay.Model(cls.path)

    def test_nulls_are_missing(self):
        t = table()
        self.assertTrue(t.column("c").null_count > 0 and t.column("colour").null_count > 0)
        y = self.m.predict(t)
        self.assertTrue(np.array_equal(bits(y), bits(reference(self.m, t))))
        strict = marsreplay.Model(write(MODEL, allow_missing=False))
        with self.assertRaises(marsreplay.MarsReplayError) as cm:
            strict.predict(t)
        e = cm.exception
        first = min(t.column("colour").to_pylist().index(None) if None in t.column("colour").to_pylist() else 10**9,
                    t.column("c").to_pylist().index(None) if None in t.column("c").to_pylist() else 10**9,
                    next(i for i, v in enumerate(t.column("colour").to_pylist()) if v == "NA"))
        self.assertEqual((e.status, e.row), ("MR_E_DATA", first + 1))
        self.assertIn(e.field, ("colour", "c"))
        self.assertEqual(e.column, t.column_names.index(e.field) + 1)

    def test_sliced_and_chunked(self):
        t = table(700, seed=2)
        y = self.m.predict(t)
        for off, n in ((1, 300), (129, 571), (650, 50)):
            s = t.slice(off, n)
            self.assertTrue(np.array_equal(bits(self.m.predict(s)), bits(y[off:off + n])))
        chunks = pa.Table.from_batches(t.to_batches(max_chunksize=37))
        self.assertGreater(chunks.column("b").num_chunks, 10)
        self.assertTrue(np.array_equal(bits(self.m.predict(chunks)), bits(y)))
        reader = pa.RecordBatchReader.from_batches(
            t.schema, [t.slice(0, 1).to_batches()[0]] + t.slice(1).to_batches(max_chunksize=100))
        self.assertTrue(np.array_equal(bits(self.m.predict(reader)), bits(y)))
        d = self.m.design(chunks)
        self.assertEqual(d.shape, (700, len(self.m.term_names)))
        self.assertTrue(np.array_equal(bits(d), bits(self.m.design(t))))

    def test_types(self):
        t = table(200, seed=3, nulls=False)
        y = self.m.predict(t)
        pc = pa.compute
        for typ in (pa.float32(), pa.int8(), pa.int64(), pa.uint16()):
            whole = pc.round(pc.multiply(t.column("b"), 3.0))
            if str(typ).startswith("uint"):
                whole = pc.abs(whole)
            tt = t.set_column(0, "b", pc.cast(whole, typ))
            want = self.m.predict(t.set_column(0, "b", whole))
            self.assertTrue(np.array_equal(bits(self.m.predict(tt)), bits(want)), typ)
        for col in (t.column("colour").cast(pa.large_string()),
                    t.column("colour").dictionary_encode()):
            self.assertTrue(np.array_equal(bits(self.m.predict(t.set_column(1, "colour", col))), bits(y)))

    def test_wrong_types_and_missing_columns(self):
        t = table(50, seed=4)
        for bad in (pa.array([True] * 50), pa.array([[1.0]] * 50),
                    pa.array(np.arange(50), type=pa.timestamp("s"))):
            with self.assertRaises(marsreplay.MarsReplayError) as cm:
                self.m.predict(t.set_column(0, "b", bad))
            e = cm.exception
            self.assertEqual((e.status, e.field, e.column), ("MR_E_SHAPE", "b", 1))
            self.assertIn("is not supported for a feature", e.message)
        with self.assertRaises(marsreplay.MarsReplayError) as cm:
            self.m.predict(t.drop(["c"]))
        self.assertEqual((cm.exception.status, cm.exception.field), ("MR_E_SHAPE", "c"))
        with self.assertRaises(marsreplay.MarsReplayError) as cm:
            self.m.predict(t.set_column(0, "b", pa.array(["1.5", "x"] * 25)))
        self.assertEqual((cm.exception.status, cm.exception.row, cm.exception.field),
                         ("MR_E_PARSE", 2, "b"))
        v = self.m.validate(t.drop(["c"]))
        self.assertFalse(v)
        self.assertEqual(v.error.status, "MR_E_SHAPE")
        self.assertTrue(self.m.validate(t))

    def test_producer_fails_mid_stream(self):
        t = table(300, seed=5)

        def gen():
            yield from t.to_batches(max_chunksize=100)[:2]
            raise ValueError("the upstream query died")

        with self.assertRaises(marsreplay.MarsReplayError) as cm:
            self.m.predict(pa.RecordBatchReader.from_batches(t.schema, gen()))
        e = cm.exception
        self.assertEqual((e.status, e.row), ("MR_E_IO", 201))
        self.assertIn("the upstream query died", e.message)
        s = CountingStream(t, chunk=64, fail_at=2)
        with self.assertRaises(marsreplay.MarsReplayError) as cm:
            self.m.predict(s)
        self.assertIn("the disk is on fire", cm.exception.message)
        self.assertEqual(cm.exception.row, 129)
        self.assertEqual(s.releases, 1)

    def test_release_exactly_once(self):
        t = table(300, seed=6)
        y = self.m.predict(t)
        for fail in (False, True):
            s = CountingStream(t.drop(["c"]) if fail else t, chunk=50)
            if fail:
                with self.assertRaises(marsreplay.MarsReplayError):
                    self.m.predict(s)
            else:
                self.assertTrue(np.array_equal(bits(self.m.predict(s)), bits(y)))
            gc.collect()
            self.assertEqual(s.releases, 1)

    def test_producers(self):
        t = table(400, seed=7)
        y = self.m.predict(t)
        import pandas as pd
        self.assertTrue(np.array_equal(bits(self.m.predict(t.to_pandas())), bits(y)))
        self.assertTrue(np.array_equal(bits(self.m.predict(pd.DataFrame(t.to_pandas()))), bits(y)))
        try:
            import polars as pl
            self.assertTrue(np.array_equal(bits(self.m.predict(pl.from_arrow(t))), bits(y)))
        except ImportError:
            pass
        try:
            import duckdb
            con = duckdb.connect()
            con.register("t", t)
            self.assertTrue(np.array_equal(bits(self.m.predict(con.sql("select * from t"))), bits(y)))
        except ImportError:
            pass

    def test_result_is_the_library_buffer(self):
        y = self.m.predict(table(100))
        self.assertFalse(y.flags.owndata)  # a view of the library's buffer, no copy
        self.assertIsInstance(y.base.obj if isinstance(y.base, memoryview) else y.base,
                              (ctypes.Array, memoryview, np.ndarray))


def expected_counts(t):
    """What validate must count in table(): per feature, in the model's order
    (colour, b, c), missing cells and unseen labels."""
    colour = t.column("colour").to_pylist()
    unseen = [i for i, v in enumerate(colour) if v is not None and v not in ("blue", "green", "red", "NA")]
    return [
        {"name": "colour", "missing": sum(v is None or v == "NA" for v in colour), "unseen": len(unseen),
         "first_unseen": colour[unseen[0]] if unseen else None,
         "first_unseen_row": unseen[0] + 1 if unseen else None},
        {"name": "b", "missing": t.column("b").null_count, "unseen": 0, "first_unseen": None,
         "first_unseen_row": None},
        {"name": "c", "missing": t.column("c").null_count, "unseen": 0, "first_unseen": None,
         "first_unseen_row": None},
    ]


def producers(t):
    """The same table from every producer the package takes, as (name, object),
    made one at a time (a generator: DuckDB's connection lives as long as its
    relation is in use; duckdb 1.1 closes it with its last reference)."""
    yield "pyarrow Table", t
    yield "chunked", pa.Table.from_batches(t.to_batches(max_chunksize=97))
    yield "RecordBatch", t.combine_chunks().to_batches()[0]
    yield "RecordBatchReader", pa.RecordBatchReader.from_batches(t.schema, t.to_batches(max_chunksize=50))
    yield "pandas", t.to_pandas()
    try:
        import polars as pl
    except ImportError:
        pl = None
    if pl is not None:
        yield "polars", pl.from_arrow(t)
    try:
        import duckdb
    except ImportError:
        return
    con = duckdb.connect()
    con.register("t", t)
    yield "duckdb", con.sql("select * from t")
    con.close()


class ArrowValidate(unittest.TestCase):
    """validate on DataFrames and Arrow producers: mr_arrow_stream_validate /
    mr_arrow_validate, the first bad cell (the error predict raises) and every
    feature's missing and unseen counts."""

    def test_counts_from_every_producer(self):
        t = table(600, seed=12)
        want = expected_counts(t)
        self.assertTrue(want[0]["missing"] and want[0]["unseen"] and want[2]["missing"])
        m = marsreplay.Model(write(MODEL))
        for name, X in producers(t):
            v = m.validate(X)
            self.assertTrue(v.ok, name)
            self.assertIsNone(v.error)
            self.assertEqual(v.rows, 600, name)
            self.assertEqual(v.columns, want, name)

    def test_the_error_predict_raises_and_whole_counts(self):
        t = table(600, seed=13)
        want = expected_counts(t)
        for spec, unknown in ((write(MODEL, allow_missing=False), "mode"), (write(MODEL), "error")):
            m = marsreplay.Model(spec, unknown_level=unknown)
            with self.assertRaises(marsreplay.MarsReplayError) as cm:
                m.predict(t)
            for name, X in producers(t):
                v = m.validate(X)
                self.assertFalse(v.ok, name)
                e = v.error
                self.assertEqual((e.status, e.row, e.column, e.field, e.message),
                                 (cm.exception.status, cm.exception.row, cm.exception.column,
                                  cm.exception.field, cm.exception.message), name)
                self.assertEqual(v.rows, 600, name)
                self.assertEqual(v.columns, want, name)  # a bad cell does not stop the counting

    def test_unreadable_input(self):
        t = table(50, seed=14)
        m = marsreplay.Model(write(MODEL))
        v = m.validate(t.drop(["c"]))
        self.assertFalse(v)
        self.assertEqual((v.error.status, v.error.field, v.rows, v.columns), ("MR_E_SHAPE", "c", 0, None))
        v = m.validate(t.set_column(0, "b", pa.array([True] * 50)))
        self.assertEqual((v.error.status, v.error.field, v.columns), ("MR_E_SHAPE", "b", None))
        s = CountingStream(t, chunk=10, fail_at=3)
        v = m.validate(s)
        self.assertEqual((v.error.status, v.error.row, v.rows), ("MR_E_IO", 31, 30))
        self.assertIn("the disk is on fire", v.error.message)
        self.assertEqual(s.releases, 1)
        self.assertEqual(v.columns, expected_counts(t.slice(0, 30)))


class Threads(unittest.TestCase):
    """predict(X, threads=N) for Arrow input: the library's MR_OPT_THREADS
    workers split each batch's rows; the values, errors and counts are those
    of one thread."""

    def test_arrow_threads_same_bits(self):
        t = table(40_000, seed=15)
        m = marsreplay.Model(write(MODEL))
        y = m.predict(t)
        d = m.design(t)
        for th in (2, 3, 4):
            for name, X in producers(t):
                self.assertTrue(np.array_equal(bits(m.predict(X, threads=th)), bits(y)), (name, th))
            self.assertTrue(np.array_equal(bits(m.design(t, threads=th)), bits(d)), th)
            self.assertEqual(m.validate(t, threads=th).columns, m.validate(t).columns)

    def test_threads_errors(self):
        t = table(40_000, seed=16, nulls=False)
        col = t.column("colour").to_pylist()
        col[33_333] = "mauve"
        col[37_000] = "taupe"
        t = t.set_column(1, "colour", pa.array(col))
        m = marsreplay.Model(write(MODEL), unknown_level="error")
        for th in (1, 2, 3):
            with self.assertRaises(marsreplay.MarsReplayError) as cm:
                m.predict(t, threads=th)
            self.assertEqual((cm.exception.status, cm.exception.row, cm.exception.field),
                             ("MR_E_DATA", 33_334, "colour"), th)
            self.assertIn("mauve", cm.exception.message)
        strict = marsreplay.Model(write(NUMERIC))
        X = np.random.default_rng(17).uniform(-1, 1, (40_000, 2))
        X[39_000, 0] = np.nan
        X[20_500, 1] = np.inf
        for th in (1, 2, 4):
            for A in (X, np.asfortranarray(X)):
                with self.assertRaises(marsreplay.MarsReplayError) as cm:
                    strict.predict(A, threads=th)
                self.assertEqual((cm.exception.row, cm.exception.column), (20_501, 2), th)


class NumpyInput(unittest.TestCase):
    def test_numpy_paths_agree(self):
        m = marsreplay.Model(write(NUMERIC, allow_missing=True))
        rng = np.random.default_rng(8)
        X = rng.uniform(-1, 1, (1000, 2))
        X[::7, 1] = np.nan
        y = m.predict(X)
        t = pa.table({"x1": X[:, 1], "x0": X[:, 0]})  # columns in another order: by name
        self.assertTrue(np.array_equal(bits(m.predict(t)), bits(y)))
        self.assertTrue(np.array_equal(bits(m.predict(np.asfortranarray(X))), bits(y)))
        for th in (2, 3, 8):
            self.assertTrue(np.array_equal(bits(m.predict(X, threads=th)), bits(y)))
        self.assertTrue(np.array_equal(bits(m.design(X, threads=3)), bits(m.design(t))))
        self.assertTrue(np.array_equal(bits(m.predict(X.astype(np.float32))),
                                       bits(m.predict(X.astype(np.float32).astype(np.float64)))))
        with self.assertRaises(ValueError):
            m.predict(X[:, :1])
        with self.assertRaises(ValueError):
            m.predict(X[:, 0])
        with self.assertRaises(TypeError):
            m.predict(X.astype(str))

    def test_validate_counts_per_column(self):
        """validate on a NumPy array: mr_validate over the array's strides,
        the first bad cell and every column's missing count."""
        X = np.zeros((100, 2))
        X[::10, 1] = np.nan
        X[3, 0] = np.nan
        v = marsreplay.Model(write(NUMERIC, allow_missing=True)).validate(X)
        self.assertTrue(v.ok)
        self.assertEqual(v.rows, 100)
        self.assertEqual([c["missing"] for c in v.columns], [1, 10])
        v = marsreplay.Model(write(NUMERIC)).validate(np.asfortranarray(X))
        self.assertFalse(v.ok)
        self.assertEqual((v.error.status, v.error.row, v.error.column), ("MR_E_DATA", 1, 2))
        self.assertEqual([c["missing"] for c in v.columns], [1, 10])  # the whole array's counts

    def test_allow_missing_false(self):
        m = marsreplay.Model(write(NUMERIC))
        X = np.zeros((100, 2))
        X[42, 1] = np.inf
        for A, th in ((X, 1), (X, 3), (np.asfortranarray(X), 1)):  # rows (the middle part), columns
            with self.assertRaises(marsreplay.MarsReplayError) as cm:
                m.predict(A, threads=th)
            e = cm.exception
            self.assertEqual((e.status, e.row, e.column, e.field), ("MR_E_DATA", 43, 2, "x1"))
            self.assertIn("infinite value", e.message)
        Y = np.random.default_rng(11).uniform(-1, 1, (1000, 2))
        y = m.predict(pa.table({"x0": Y[:, 0], "x1": Y[:, 1]}))
        for th in (1, 2, 3):
            self.assertTrue(np.array_equal(bits(m.predict(Y, threads=th)), bits(y)))
            self.assertTrue(np.array_equal(bits(m.design(Y, threads=th)),
                                           bits(m.design(pa.table({"x0": Y[:, 0], "x1": Y[:, 1]})))))

    def test_unknown_level_error(self):
        m = marsreplay.Model(write(MODEL), unknown_level="error")
        t = table(100, seed=9, nulls=False)
        col = t.column("colour").to_pylist()
        col[57] = "mauve"
        with self.assertRaises(marsreplay.MarsReplayError) as cm:
            m.predict(t.set_column(1, "colour", pa.array(col)))
        self.assertEqual((cm.exception.status, cm.exception.row), ("MR_E_DATA", 58))
        self.assertIn("mauve", cm.exception.message)

    def test_bad_model_and_library(self):
        bad = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        bad.write('{"spec_version": "1.0", "coefficients": [1]}')
        bad.close()
        with self.assertRaises(marsreplay.MarsReplayError) as cm:
            marsreplay.Model(bad.name)
        self.assertEqual(cm.exception.status, "MR_E_MODEL")
        p = subprocess.run([sys.executable, "-c", "import marsreplay"], capture_output=True, text=True,
                           env=dict(os.environ, MARSREPLAY_LIBRARY="/nonexistent/libmarsreplay.so"))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("marsreplay: cannot load the library /nonexistent/libmarsreplay.so",
                      p.stderr)
        # a library of another ABI major: refused at import, with both versions named
        d = tempfile.mkdtemp()
        with open(f"{d}/other.c", "w") as f:
            f.write("unsigned mr_version(void) { return 0x00090000u; }\n")
        if subprocess.run(["cc", "-shared", "-fPIC", "-o", f"{d}/other.so", f"{d}/other.c"]).returncode:
            self.skipTest("no C compiler for the other-ABI library")
        p = subprocess.run([sys.executable, "-c", "import marsreplay"], capture_output=True, text=True,
                           env=dict(os.environ, MARSREPLAY_LIBRARY=f"{d}/other.so"))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(f"has ABI 9.0, this package needs {marsreplay._lib.ABI_MAJOR}.", p.stderr)
        self.assertIn("ImportError", p.stderr)


class Parquet(unittest.TestCase):
    def test_parquet_streamed_in_bounded_memory(self):
        """2e6 rows (48 MB decoded) in row groups of 1e5, streamed with
        iter_batches in a process of its own: its predictions equal the whole
        table's, and pyarrow's peak allocation there stays under a third of
        the decoded table. pre_buffer=False: pyarrow's default pre-buffers
        every row group's column chunks (it peaked at the table's size)."""
        import pyarrow.parquet as pq
        d = tempfile.mkdtemp()
        n = 2_000_000
        rng = np.random.default_rng(10)
        t = pa.table({"b": rng.uniform(-1, 1, n), "c": rng.uniform(-5, 5, n),
                      "colour": pa.array(np.array(["blue", "green", "red"])[rng.integers(0, 3, n)])})
        pq.write_table(t, f"{d}/x.parquet", row_group_size=100_000)
        path = write(MODEL)
        want = marsreplay.Model(path).predict(t)
        whole = t.nbytes
        del t
        code = textwrap.dedent(f"""
            import numpy as np, pyarrow as pa, pyarrow.parquet as pq, marsreplay
            f = pq.ParquetFile("{d}/x.parquet", pre_buffer=False)
            reader = pa.RecordBatchReader.from_batches(f.schema_arrow, f.iter_batches(batch_size=65536))
            y = marsreplay.Model("{path}").predict(reader)
            np.save("{d}/y.npy", y)
            print(pa.default_memory_pool().max_memory())
        """)
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        peak = int(p.stdout.split()[-1])
        self.assertTrue(np.array_equal(bits(np.load(f"{d}/y.npy")), bits(want)))
        self.assertGreater(whole, 40_000_000)
        self.assertLess(peak, whole // 3, f"streaming peaked at {peak} bytes of {whole}")


class Export(unittest.TestCase):
    def test_the_pymars_exporter_is_in_the_package(self):
        """marsreplay.export.from_pymars is the exporter of exporters/python
        (one copy: the checkout's marsreplay_export.py loads it); turning a
        model into ModelSpec imports pymars only when a model is given."""
        import marsreplay.export as ex
        self.assertTrue(callable(ex.from_pymars))
        self.assertEqual(ex.EXPORTER, "marsreplay-export-pymars")
        with self.assertRaises((ex.ExportError, ImportError)):  # no pymars in this venv, or not an Earth
            ex.from_pymars(object(), os.path.join(tempfile.mkdtemp(), "m.json"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
