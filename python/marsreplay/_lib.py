"""ctypes bindings to libmarsreplay's public ABI (src/include/marsreplay.h).

Only functions the public header declares are used. The library is the one
shipped inside this package (or the one named by MARSREPLAY_LIBRARY, for
testing a build tree); its major version is checked on load.
"""
import ctypes
import os

# The ABI this package was built against: MR_VERSION_MAJOR / MINOR of the
# header, written into _abi.py by the build. While the major is 0, every minor
# may break the ABI (the soname carries it), so both must match; from 1.0 on,
# the same major and a library minor at least the package's (docs/abi.md).
try:
    from ._abi import ABI_MAJOR, ABI_MINOR
except ImportError:
    raise ImportError("marsreplay: the package is not built (pip install ./python)") from None

MR_OK = 0
STATUS_NAMES = {
    0: "MR_OK", 1: "MR_AGAIN", 2: "MR_E_NOMEM", 3: "MR_E_IO", 4: "MR_E_MODEL",
    5: "MR_E_PARSE", 6: "MR_E_SHAPE", 7: "MR_E_BACKEND", 8: "MR_E_INVAL", 9: "MR_E_DATA",
    10: "MR_E_INTERNAL", 11: "MR_E_VERSION",
}
MODE_PREDICT, MODE_DESIGN = 0, 1
OPT_THREADS, OPT_UNKNOWN_LEVEL = 1, 12
UNKNOWN_LEVELS = {"mode": 0, "nan": 1, "error": 2}


class MrColumnStats(ctypes.Structure):
    """mr_column_stats of the header."""
    _fields_ = [
        ("missing", ctypes.c_uint64),
        ("unknown", ctypes.c_uint64),
        ("first_unknown_row", ctypes.c_uint64),
        ("first_unknown", ctypes.c_char * 64),
        ("absent", ctypes.c_uint64),
        ("reserved", ctypes.c_uint64 * 3),
    ]


class MrBatch(ctypes.Structure):
    """mr_batch of the header: a strided view of doubles, labels for categories."""
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("n_rows", ctypes.c_size_t),
        ("n_cols", ctypes.c_size_t),
        ("row_stride", ctypes.c_ssize_t),
        ("col_stride", ctypes.c_ssize_t),
        ("categories", ctypes.c_int),
        ("reserved", ctypes.c_void_p * 4),
    ]


class MrError(ctypes.Structure):
    _fields_ = [
        ("status", ctypes.c_int),
        ("sys_errno", ctypes.c_int),
        ("line", ctypes.c_uint64),
        ("row", ctypes.c_uint64),
        ("column", ctypes.c_uint32),
        ("source", ctypes.c_char * 256),
        ("field", ctypes.c_char * 128),
        ("json_path", ctypes.c_char * 256),
        ("text", ctypes.c_char * 256),
    ]


class ArrowArrayStream(ctypes.Structure):
    # the layout only: five pointers (get_schema, get_next, get_last_error,
    # release, private_data); this package never calls them itself
    _fields_ = [("get_schema", ctypes.c_void_p), ("get_next", ctypes.c_void_p),
                ("get_last_error", ctypes.c_void_p), ("release", ctypes.c_void_p),
                ("private_data", ctypes.c_void_p)]


class ArrowSchema(ctypes.Structure):
    _fields_ = [("format", ctypes.c_char_p), ("name", ctypes.c_char_p),
                ("metadata", ctypes.c_void_p), ("flags", ctypes.c_int64),
                ("n_children", ctypes.c_int64), ("children", ctypes.c_void_p),
                ("dictionary", ctypes.c_void_p), ("release", ctypes.c_void_p),
                ("private_data", ctypes.c_void_p)]


class ArrowArray(ctypes.Structure):
    _fields_ = [("length", ctypes.c_int64), ("null_count", ctypes.c_int64),
                ("offset", ctypes.c_int64), ("n_buffers", ctypes.c_int64),
                ("n_children", ctypes.c_int64), ("buffers", ctypes.c_void_p),
                ("children", ctypes.c_void_p), ("dictionary", ctypes.c_void_p),
                ("release", ctypes.c_void_p), ("private_data", ctypes.c_void_p)]


def _library_path():
    env = os.environ.get("MARSREPLAY_LIBRARY")
    if env:
        return env
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "libmarsreplay.so")


def _load():
    path = _library_path()
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        raise ImportError(f"marsreplay: cannot load the library {path}: {e}") from None
    lib.mr_version.restype = ctypes.c_uint
    lib.mr_version.argtypes = []
    v = lib.mr_version()
    major, minor = v >> 16, (v >> 8) & 0xFF
    if major != ABI_MAJOR or minor < ABI_MINOR or (ABI_MAJOR == 0 and minor != ABI_MINOR):
        raise ImportError(
            f"marsreplay: the library {path} has ABI {major}.{minor}, this package needs "
            f"{ABI_MAJOR}.{ABI_MINOR}" + ("" if ABI_MAJOR else " (0.x: the minor must match too)"))
    P, E = ctypes.c_void_p, ctypes.POINTER(MrError)
    sig = {
        "mr_validate": (ctypes.c_int, [P, P, P, E]),
        "mr_version_string": (ctypes.c_char_p, []),
        "mr_strerror": (ctypes.c_char_p, [ctypes.c_int]),
        "mr_model_load_file": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(P), E]),
        "mr_model_free": (None, [P]),
        "mr_model_n_features": (ctypes.c_size_t, [P]),
        "mr_model_feature_name": (ctypes.c_char_p, [P, ctypes.c_size_t]),
        "mr_model_feature_is_categorical": (ctypes.c_int, [P, ctypes.c_size_t]),
        "mr_model_allow_missing": (ctypes.c_int, [P]),
        "mr_model_n_terms": (ctypes.c_size_t, [P]),
        "mr_model_term_name": (ctypes.c_char_p, [P, ctypes.c_size_t]),
        "mr_options_create": (ctypes.c_int, [ctypes.POINTER(P)]),
        "mr_options_free": (None, [P]),
        "mr_options_set_int": (ctypes.c_int, [P, ctypes.c_int, ctypes.c_int64]),
        "mr_engine_create": (ctypes.c_int, [P, P, ctypes.POINTER(P), E]),
        "mr_engine_free": (None, [P]),
        "mr_predict": (ctypes.c_int, [P, P, ctypes.c_size_t, ctypes.c_size_t, P, E]),
        "mr_design": (ctypes.c_int, [P, P, ctypes.c_size_t, ctypes.c_size_t, P, ctypes.c_size_t, E]),
        "mr_arrow_predict": (ctypes.c_int, [P, P, P, P, E]),
        "mr_arrow_design": (ctypes.c_int, [P, P, P, P, ctypes.c_size_t, E]),
        "mr_arrow_stream_collect": (ctypes.c_int, [P, P, ctypes.c_int, ctypes.POINTER(P),
                                                   ctypes.POINTER(ctypes.c_size_t), E]),
        "mr_arrow_validate": (ctypes.c_int, [P, P, P, P, E]),
        "mr_arrow_stream_validate": (ctypes.c_int, [P, P, P, ctypes.POINTER(ctypes.c_uint64), E]),
        "mr_buffer_free": (None, [P]),
    }
    for name, (res, args) in sig.items():
        f = getattr(lib, name)
        f.restype = res
        f.argtypes = args
    return lib


lib = _load()


def version():
    """The library's version string."""
    return lib.mr_version_string().decode()
