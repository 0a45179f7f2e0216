"""Loads libdice and declares the C ABI of include/dice.h for ctypes.

Lookup order: $DICE_LIBRARY (used alone when set), the package directory, then
target/release of a Cargo workspace above the package or above the current directory.
ctypes.CDLL releases the GIL for the duration of every call.
"""

import ctypes
import os
import sys
import threading
from pathlib import Path

from ._errors import UINT32, ThreadPoolError, c_int, error_for

ABI_VERSION = 1  # DICE_ABI_VERSION of the header these declarations follow

if sys.platform == "darwin":
    LIB_NAME = "libdice.dylib"
elif sys.platform == "win32":
    LIB_NAME = "dice.dll"
else:
    LIB_NAME = "libdice.so"


def _workspace_candidates(start):
    """target/release/LIB_NAME of every directory above `start` that holds a Cargo.toml."""
    for d in [start, *start.parents]:
        if (d / "Cargo.toml").is_file():
            yield d / "target" / "release" / LIB_NAME


def candidates():
    """The paths tried, in order (the environment variable alone when it is set)."""
    env = os.environ.get("DICE_LIBRARY")
    if env:
        return [Path(env)]
    here = Path(__file__).resolve().parent
    found = [here / LIB_NAME]
    for start in (here, Path.cwd().resolve()):
        for p in _workspace_candidates(start):
            if p not in found:
                found.append(p)
    return found


def _load():
    tried = []
    for path in candidates():
        if not path.is_file():
            tried.append(f"{path} (not found)")
            continue
        try:
            return ctypes.CDLL(str(path)), path
        except OSError as e:
            tried.append(f"{path} ({e})")
    raise ImportError(
        "dice: cannot load the shared library "
        + LIB_NAME
        + ". Tried:\n  "
        + "\n  ".join(tried)
        + "\nBuild it with `cargo build --release -p dice-ffi` in the dice workspace, or set "
        "DICE_LIBRARY to its path."
    )


class DiceDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DiceDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DiceTensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", DiceDevice),
        ("ndim", ctypes.c_int32),
        ("dtype", DiceDataType),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


class DiceLossOptions(ctypes.Structure):
    """Mirror of the header's struct, fields in order; new fields are appended by the library."""

    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("activation", ctypes.c_int32),
        ("reduction", ctypes.c_int32),
        ("include_background", ctypes.c_uint8),
        ("squared_pred", ctypes.c_uint8),
        ("jaccard", ctypes.c_uint8),
        ("batch", ctypes.c_uint8),
        ("smooth_nr", ctypes.c_double),
        ("smooth_dr", ctypes.c_double),
        ("weight", ctypes.POINTER(ctypes.c_double)),
        ("weight_len", ctypes.c_size_t),
        ("ignore_index", ctypes.c_int64),
        ("has_ignore_index", ctypes.c_uint8),
        ("soft_label", ctypes.c_uint8),
        ("reserved", ctypes.c_uint8 * 6),
        # since 0.2: the loss family (appended)
        ("overlap", ctypes.c_int32),
        ("gdl_weight", ctypes.c_int32),
        ("tversky_alpha", ctypes.c_double),
        ("tversky_beta", ctypes.c_double),
        ("clamp_dr", ctypes.c_double),
        ("form", ctypes.c_int32),
        ("weight_mode", ctypes.c_int32),
        ("form_eps", ctypes.c_double),
        ("gamma", ctypes.c_double),
        ("gamma_on_mean", ctypes.c_uint8),
        ("zero_absent", ctypes.c_uint8),
        ("pool_classes", ctypes.c_uint8),
        ("dense_ignore", ctypes.c_uint8),
        ("pointwise", ctypes.c_int32),
        ("classes", ctypes.POINTER(ctypes.c_uint32)),
        ("classes_len", ctypes.c_size_t),
        ("lambda_overlap", ctypes.c_double),
        ("pw_lambda", ctypes.c_double),
        ("pw_weight", ctypes.POINTER(ctypes.c_double)),
        ("pw_weight_len", ctypes.c_size_t),
        ("label_smoothing", ctypes.c_double),
        ("focal_gamma", ctypes.c_double),
        ("focal_alpha", ctypes.c_double),
        ("focal_alpha_values", ctypes.POINTER(ctypes.c_double)),
        ("focal_alpha_len", ctypes.c_size_t),
        ("focal_alpha_kind", ctypes.c_int32),
        ("frames", ctypes.c_uint8),
        ("reserved2", ctypes.c_uint8 * 3),
        ("temporal", ctypes.c_double),
        # since 0.3
        ("loss_mask", ctypes.POINTER(DiceTensor)),
    ]


FAMILY_OFFSET = DiceLossOptions.overlap.offset  # 64: the size of the 0.1 struct


class DiceDecisions(ctypes.Structure):
    """A source of hard decisions for the metrics: a tensor and how to read it (DECISIONS)."""

    _fields_ = [("tensor", ctypes.POINTER(DiceTensor)), ("kind", ctypes.c_int32), ("threshold", ctypes.c_double)]


class DiceSurfaceOptions(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("distance_metric", ctypes.c_int32),
        ("include_background", ctypes.c_uint8),
        ("directed", ctypes.c_uint8),
        ("symmetric", ctypes.c_uint8),
        ("reserved", ctypes.c_uint8),
        ("percentile", ctypes.c_double),
        ("tolerance", ctypes.c_double),
        ("spacing", ctypes.POINTER(ctypes.c_double)),
        ("spacing_len", ctypes.c_size_t),
        ("class_thresholds", ctypes.POINTER(ctypes.c_double)),
        ("class_thresholds_len", ctypes.c_size_t),
    ]


DECISIONS = {"labels": 0, "masks": 1, "argmax": 2, "threshold": 3}
METRIC = {
    "dice": 0,
    "iou": 1,
    "precision": 2,
    "recall": 3,
    "specificity": 4,
    "npv": 5,
    "accuracy": 6,
    "fbeta": 7,
    "volume_similarity": 8,
    "mcc": 9,
}
EMPTY_GT = {"nan": 0, "one_if_both_empty": 1, "zero": 2}
METRIC_REDUCTION = {
    "none": 0,
    "mean": 1,
    "sum": 2,
    "mean_batch": 3,
    "sum_batch": 4,
    "mean_channel": 5,
    "sum_channel": 6,
}
SURFACE = {
    "hausdorff": 0,
    "average_distance": 1,
    "surface_dice": 2,
    "medpy": 3,
    "boundary_f": 4,
    "surface_dice_subvoxels": 5,
}
DISTANCE_METRIC = {"euclidean": 0, "chessboard": 1, "taxicab": 2}
DEEPMIND = {"average_surface_distance": 0, "robust_hausdorff": 1, "surface_overlap": 2, "surface_dice": 3}

ACTIVATION = {"none": 0, "sigmoid": 1, "softmax": 2}
RAMP = {"constant": 0, "linear": 1, "cosine": 2}
REDUCTION = {"mean": 0, "sum": 1, "none": 2}

lib, path = _load()

_P = ctypes.POINTER
_T = _P(DiceTensor)
_O = _P(DiceLossOptions)
_D = _P(ctypes.c_double)
_S = ctypes.c_size_t
_ST = ctypes.c_int32  # DiceStatus
_CTX = ctypes.c_void_p

_PROTOTYPES = {
    "dice_version": (ctypes.c_char_p, []),
    "dice_abi_version": (ctypes.c_uint32, []),
    "dice_status_string": (ctypes.c_char_p, [ctypes.c_int32]),
    "dice_last_error_copy": (_S, [ctypes.c_char_p, _S]),
    "dice_loss_options_init": (_ST, [_O, _S]),
    "dice_loss_shape": (_ST, [_T, _O, _P(_S), _P(_S)]),
    "dice_loss": (_ST, [_CTX, _T, _T, _O, _D, _D, _S]),
    "dice_loss_grad": (_ST, [_CTX, _T, _T, _O, _D, _S, _T, _D, _D, _S]),
    "dice_stats": (_ST, [_CTX, _T, _T, _O, _D, _S]),
    "dice_finalize": (_ST, [_D, _S, _S, _S, _O, _D, _D, _S]),
    "dice_backward_from_stats": (_ST, [_CTX, _T, _T, _O, _D, _S, _S, _S, _D, _S, _T]),
    "dice_pointwise_map": (_ST, [_CTX, _T, _T, _O, _T]),
    "dice_confusion": (_ST, [_CTX, _P(DiceDecisions), _P(DiceDecisions), ctypes.c_int64, _P(ctypes.c_uint64), _S]),
    "dice_overlap_values": (
        _ST,
        [_P(ctypes.c_uint64), _S, _S, ctypes.c_int32, ctypes.c_double, ctypes.c_int32, ctypes.c_uint8, _D, _S],
    ),
    "dice_metric_reduce": (_ST, [_D, _S, _S, ctypes.c_int32, _D, _D, _S]),
    "dice_generalized_dice_score": (
        _ST,
        [_P(ctypes.c_uint64), _S, _S, ctypes.c_uint8, ctypes.c_int32, ctypes.c_uint8, _D, _S],
    ),
    "dice_distance_transform": (_ST, [_CTX, _T, _D, _S, ctypes.c_int32, ctypes.c_uint8, _D, _S]),
    "dice_surface_options_init": (_ST, [_P(DiceSurfaceOptions), _S]),
    "dice_surface_metric": (
        _ST,
        [_CTX, _P(DiceDecisions), _P(DiceDecisions), ctypes.c_int64, ctypes.c_int32, _P(DiceSurfaceOptions), _D, _S],
    ),
    "dice_signed_distance_maps": (_ST, [_CTX, _P(DiceDecisions), ctypes.c_int64, _D, _S, _D, _S]),
    "dice_boundary_loss": (_ST, [_CTX, _T, _T, ctypes.c_int32, ctypes.c_uint8, _D, _T]),
    "dice_surfel_counts": (_ST, [_CTX, _T, _T, _D, _S, _P(ctypes.c_uint64), _S]),
    "dice_surface_distances": (_ST, [_CTX, _T, _T, _D, _S, _D, _D, _S, _D, _D, _S]),
    "dice_surface_distance_metric": (_ST, [_D, _D, _S, _D, _D, _S, ctypes.c_int32, ctypes.c_double, _D, _S]),
    "dice_ramp": (_ST, [ctypes.c_int32, ctypes.c_double, ctypes.c_double, ctypes.c_uint64, ctypes.c_uint64, _D]),
    "dice_context_create": (_ST, [ctypes.c_uint32, _P(_CTX)]),
    "dice_context_destroy": (None, [_CTX]),
    "dice_context_num_threads": (ctypes.c_uint32, [_CTX]),
}
missing = []  # entry points an older library lacks: calling one raises AttributeError naming it
for _name, (_res, _args) in _PROTOTYPES.items():
    try:
        _fn = getattr(lib, _name)
    except AttributeError:
        missing.append(_name)
        continue
    _fn.restype = _res
    _fn.argtypes = _args

if lib.dice_abi_version() != ABI_VERSION:
    raise ImportError(f"dice: {path} has ABI version {lib.dice_abi_version()}, this package needs {ABI_VERSION}")

version = lib.dice_version().decode()


def _knows_family():
    """Whether the library fills the loss-family fields: an older one zero-fills the bytes past
    its own struct, so lambda_overlap (default 1) reads 0 there."""
    o = DiceLossOptions.from_buffer_copy(b"\xff" * ctypes.sizeof(DiceLossOptions))
    return lib.dice_loss_options_init(ctypes.byref(o), ctypes.sizeof(o)) == 0 and o.lambda_overlap == 1.0


FAMILY = _knows_family()


def last_error():
    """The calling thread's last error message from the library."""
    n = lib.dice_last_error_copy(None, 0)
    buf = ctypes.create_string_buffer(n + 1)
    lib.dice_last_error_copy(buf, n + 1)
    return buf.value.decode(errors="replace")


def check(status):
    """Raises the exception for a non-zero status, carrying the library's message."""
    if status != 0:
        raise error_for(status, last_error() or lib.dice_status_string(status).decode())


def options(**fields):
    """A DiceLossOptions initialised by the library, then the given fields set."""
    o = DiceLossOptions()
    status = lib.dice_loss_options_init(ctypes.byref(o), ctypes.sizeof(o))
    if status != 0:
        raise error_for(status, last_error())
    for k, v in fields.items():
        setattr(o, k, v)
    return o


class Context:
    """Owns a DiceContext; destroyed when the last reference (including in-flight calls) drops."""

    def __init__(self, num_threads):
        ptr = _CTX()
        check(lib.dice_context_create(num_threads, ctypes.byref(ptr)))
        self.ptr = ptr

    def num_threads(self):
        return lib.dice_context_num_threads(self.ptr)

    def __del__(self):
        destroy = getattr(lib, "dice_context_destroy", None)  # None late in interpreter shutdown
        if getattr(self, "ptr", None) and destroy is not None:
            destroy(self.ptr)
            self.ptr = None


_ctx_lock = threading.Lock()
_ctx = None  # None = the library's default context (every core)


def context():
    """The current Context (or None for the library default). Callers keep it for their call."""
    return _ctx


def context_ptr(ctx):
    return None if ctx is None else ctx.ptr


def set_num_threads(n):
    """Worker threads for subsequent calls: 1 <= n <= DICE_MAX_THREADS (1024), or 0 / None for one
    per core (the default). Results do not depend on it. Calls already running keep the context
    they started with. A non-integer n raises DtypeError, one beyond uint32 LimitError, one above
    the library's maximum ThreadPoolError (from the library)."""
    global _ctx
    n = 0 if n is None else c_int("n", n, *UINT32)
    new = None if n == 0 else Context(n)
    with _ctx_lock:
        _ctx = new


def get_num_threads():
    """Worker threads used by calls now."""
    ctx = _ctx
    n = lib.dice_context_num_threads(context_ptr(ctx))
    if n == 0:
        raise ThreadPoolError("dice_context_num_threads: the default context could not be created")
    return n
