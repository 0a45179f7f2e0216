"""Narrowing of metric inputs to what the kernels read: masks as bool/uint8, label maps as integers.

A bool or uint8 array passes through untouched (no copy). Any other integer dtype is narrowed in
ONE pass (`np.not_equal(a, 0, out=bool buffer)`): nonzero = member. Floats must hold only 0 and 1
(anything else raises DtypeError: binarise first) and are narrowed the same way.
"""

import numpy as np

from ._errors import DtypeError, NullPointerError

_LABEL_DTYPES = tuple(np.dtype(t) for t in (np.bool_, np.uint8, np.uint16, np.int32, np.int64))


def as_mask(array, name):
    """`array` as a bool/uint8 mask of the same shape (the array itself when it already is one)."""
    if array is None:
        raise NullPointerError(f"{name} is None")
    a = array if isinstance(array, np.ndarray) else np.asarray(array)
    kind = a.dtype.kind
    if kind == "b" or a.dtype == np.uint8:
        return a
    if kind not in "iuf":
        raise DtypeError(f"{name}.dtype = {a.dtype} is not a mask type (bool, integers, or floats holding 0 and 1)")
    out = np.empty(a.shape, dtype=np.bool_)
    np.not_equal(a, 0, out=out)
    if kind == "f" and a.size and np.count_nonzero(a == 1) != np.count_nonzero(out):
        raise DtypeError(
            f"{name} holds values other than 0 and 1: binarise it first (e.g. argmax + one-hot, or a threshold)"
        )
    return out


def as_labels(array, name):
    """`array` as integer class indices of a dtype the kernels read (bool, uint8, uint16, int32,
    int64 pass through); other integers are widened to int64, floats truncated to int64 as torch's
    `.long()` does (label maps stored as float)."""
    if array is None:
        raise NullPointerError(f"{name} is None")
    a = array if isinstance(array, np.ndarray) else np.asarray(array)
    if a.dtype.kind == "f":
        if a.size and not np.isfinite(a).all():
            raise DtypeError(f"{name} is a float label map holding a non-finite value")
        return a.astype(np.int64)
    if a.dtype.kind not in "biu":
        raise DtypeError(f"{name}.dtype = {a.dtype} is not a label type (integers, or floats holding integers)")
    return a if a.dtype in _LABEL_DTYPES else a.astype(np.int64)
