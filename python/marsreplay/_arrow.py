"""Arrow C interfaces from Python: the PyCapsule protocol (producers' streams
and batches), and record batches over NumPy columns built here, so that a
NumPy array needs no Arrow library."""
import ctypes

from ._lib import ArrowArray, ArrowArrayStream, ArrowSchema

_get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_get_pointer.restype = ctypes.c_void_p
_get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]

_RELEASE_OFFSET = ArrowArrayStream.release.offset


def take_stream(obj):
    """Move the ArrowArrayStream out of obj.__arrow_c_stream__()'s capsule (the
    protocol's rule: the consumer moves it and marks the capsule's copy
    released, so the capsule's destructor does nothing). The returned struct
    is the caller's to release (the library does, in mr_arrow_stream_collect)."""
    capsule = obj.__arrow_c_stream__()
    ptr = _get_pointer(capsule, b"arrow_array_stream")
    stream = ArrowArrayStream()
    ctypes.memmove(ctypes.addressof(stream), ptr, ctypes.sizeof(ArrowArrayStream))
    ctypes.c_void_p.from_address(ptr + _RELEASE_OFFSET).value = None
    return stream


def borrow_array(obj):
    """(schema pointer, array pointer, rows, keep-alive) of obj.__arrow_c_array__():
    borrowed, released by the capsules when they go."""
    schema_cap, array_cap = obj.__arrow_c_array__()
    sp = _get_pointer(schema_cap, b"arrow_schema")
    ap = _get_pointer(array_cap, b"arrow_array")
    rows = ArrowArray.from_address(ap).length
    return sp, ap, rows, (schema_cap, array_cap)


_NOOP_SCHEMA = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(lambda p: None)
_NOOP_ARRAY = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(lambda p: None)


class ColumnBatch:
    """A struct batch of float64 fields over contiguous NumPy columns: Arrow
    structs in ctypes memory, pointing at the columns (no copy). The library's
    batch calls read it and release nothing; the release callbacks only mark
    it as not released, as the interface requires them to exist."""

    def __init__(self, names, columns, rows):
        n = len(columns)
        self._keep = list(columns)
        self._names = [nm.encode() for nm in names]
        self.fields = (ArrowSchema * max(n, 1))()
        self.arrays = (ArrowArray * max(n, 1))()
        self.field_ptrs = (ctypes.c_void_p * max(n, 1))()
        self.array_ptrs = (ctypes.c_void_p * max(n, 1))()
        self.bufs = (ctypes.c_void_p * (2 * max(n, 1)))()
        release_s = ctypes.cast(_NOOP_SCHEMA, ctypes.c_void_p).value
        release_a = ctypes.cast(_NOOP_ARRAY, ctypes.c_void_p).value
        for j, col in enumerate(columns):
            self.fields[j].format = b"g"
            self.fields[j].name = self._names[j]
            self.fields[j].flags = 2
            self.fields[j].release = release_s
            self.bufs[2 * j + 1] = col.ctypes.data
            a = self.arrays[j]
            a.length = rows
            a.n_buffers = 2
            a.buffers = ctypes.addressof(self.bufs) + 2 * j * ctypes.sizeof(ctypes.c_void_p)
            a.release = release_a
            self.field_ptrs[j] = ctypes.addressof(self.fields[j])
            self.array_ptrs[j] = ctypes.addressof(self.arrays[j])
        self.sbufs = (ctypes.c_void_p * 1)()
        self.schema = ArrowSchema(format=b"+s", name=b"", flags=0, n_children=n,
                                  children=ctypes.addressof(self.field_ptrs), release=release_s)
        self.array = ArrowArray(length=rows, null_count=0, offset=0, n_buffers=1, n_children=n,
                                buffers=ctypes.addressof(self.sbufs),
                                children=ctypes.addressof(self.array_ptrs), release=release_a)


class RowBatch:
    """A row-major float64 array (C order) as a record batch of one
    fixed_size_list<float64>[n_features] field: the library reads row r's
    values j as feature j (as in a .npy file) and checks each cell as the CLI
    does, in the same pass. No copy. `view(r0, r1)` is rows [r0, r1) (the
    struct's offset), for one engine per thread."""

    def __init__(self, X):
        n, nf = X.shape
        self._keep = X
        release_s = ctypes.cast(_NOOP_SCHEMA, ctypes.c_void_p).value
        release_a = ctypes.cast(_NOOP_ARRAY, ctypes.c_void_p).value
        self._fmt = f"+w:{nf}".encode()
        self.value_schema = ArrowSchema(format=b"g", name=b"item", flags=2, release=release_s)
        self.value_ptrs = (ctypes.c_void_p * 1)(ctypes.addressof(self.value_schema))
        self.list_schema = ArrowSchema(format=self._fmt, name=b"rows", flags=0, n_children=1,
                                       children=ctypes.addressof(self.value_ptrs), release=release_s)
        self.list_ptrs = (ctypes.c_void_p * 1)(ctypes.addressof(self.list_schema))
        self.schema = ArrowSchema(format=b"+s", name=b"", flags=0, n_children=1,
                                  children=ctypes.addressof(self.list_ptrs), release=release_s)
        self.vbufs = (ctypes.c_void_p * 2)(None, X.ctypes.data if X.size else None)
        self.values = ArrowArray(length=n * nf, n_buffers=2, buffers=ctypes.addressof(self.vbufs),
                                 release=release_a)
        self.vptrs = (ctypes.c_void_p * 1)(ctypes.addressof(self.values))
        self.lbufs = (ctypes.c_void_p * 1)()
        self.list = ArrowArray(length=n, n_buffers=1, n_children=1, buffers=ctypes.addressof(self.lbufs),
                               children=ctypes.addressof(self.vptrs), release=release_a)
        self.lptrs = (ctypes.c_void_p * 1)(ctypes.addressof(self.list))
        self.sbufs = (ctypes.c_void_p * 1)()
        self._views = []
        self.array = self.view(0, n)

    def view(self, r0, r1):
        a = ArrowArray(length=r1 - r0, offset=r0, n_buffers=1, n_children=1,
                       buffers=ctypes.addressof(self.sbufs), children=ctypes.addressof(self.lptrs),
                       release=self.list.release)
        self._views.append(a)
        return a
