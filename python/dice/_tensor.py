"""Array-likes -> numpy arrays -> DiceTensor, zero-copy for any layout numpy can describe.

`host_array` takes any object exposing its memory: `__dlpack__` (torch, JAX, CuPy...) through
numpy.from_dlpack, `__array_interface__` / `__array__` through numpy.asarray; strides are kept
as they are (a permuted or sliced view is read in place, never made contiguous).

numpy strides are in bytes; DiceTensor strides are in elements, so each byte stride must be a
multiple of the item size (always true except for views into structured arrays). Negative
strides are kept: `data` points at the lowest addressed byte and `byte_offset` is the distance
from there to element (0, ..., 0), so every addressed byte lies in the array's own buffer.
"""

import ctypes

import numpy as np

from ._errors import DeviceError, DtypeError, LayoutError, NullPointerError
from ._lib import DiceTensor

_DL_CPU = 1  # DLPack kDLCPU


def host_array(obj, name):
    """`obj` as a numpy array on the same memory: ndarrays as they are, DLPack producers through
    numpy.from_dlpack (a torch tensor that requires grad is read through .detach(), the same
    memory), anything else through numpy.asarray (zero-copy for `__array_interface__`). None
    stays None. A tensor on a non-CPU device raises DeviceError naming `.cpu()`."""
    if obj is None or isinstance(obj, np.ndarray):
        return obj
    if hasattr(obj, "__dlpack__"):
        try:
            device = int(obj.__dlpack_device__()[0]) if hasattr(obj, "__dlpack_device__") else _DL_CPU
        except (BufferError, RuntimeError, TypeError, ValueError):  # a device DLPack cannot name (torch "meta")
            device = None
        if device != _DL_CPU:
            where = getattr(obj, "device", f"DLPack device type {device}")
            raise DeviceError(
                f"{name} is on {where}: the library computes on the host; move it there "
                f"first ({name}.cpu() in torch, jax.device_get({name}) in JAX)"
            )
        if getattr(obj, "requires_grad", False):
            obj = obj.detach()
        return np.from_dlpack(obj)
    return np.asarray(obj)


# numpy dtype kind -> DLPack type code
_CODES = {"f": 2, "i": 0, "u": 1, "b": 6}


class Tensor:
    """A DiceTensor describing `array`; keeps the array and the shape/stride buffers alive."""

    __slots__ = ("array", "struct", "_shape", "_strides")

    def __init__(self, array, name):
        if array is None:
            raise NullPointerError(f"{name} is None")
        a = host_array(array, name)
        dt = a.dtype
        code = _CODES.get(dt.kind)
        if code is None or dt.fields is not None or dt.subdtype is not None:
            raise DtypeError(
                f"{name}.dtype = {dt} is not supported (float32/float64, or bool/uint8/uint16/int32/int64 labels)"
            )
        if not dt.isnative:
            raise DtypeError(
                f"{name}.dtype = {dt.str} is not in native byte order; "
                f"convert it with {name}.astype({name}.dtype.newbyteorder('='))"
            )
        if not a.flags.aligned:
            raise LayoutError(
                f"{name} is not aligned to its {dt.itemsize}-byte elements; pass a copy (np.ascontiguousarray)"
            )
        item = dt.itemsize
        bad = [s for s in a.strides if s % item]
        if bad:
            raise LayoutError(
                f"{name}.strides = {a.strides} bytes are not multiples of the "
                f"item size {item}; pass a copy (np.ascontiguousarray)"
            )
        estrides = [s // item for s in a.strides]
        first = a.ctypes.data
        low = first
        if a.size:
            low += item * sum(min(0, (n - 1) * s) for n, s in zip(a.shape, estrides))
        self.array = a
        self._shape = (ctypes.c_int64 * max(a.ndim, 1))(*a.shape)
        self._strides = (ctypes.c_int64 * max(a.ndim, 1))(*estrides)
        t = DiceTensor()
        t.data = low
        t.device.device_type = 1
        t.device.device_id = 0
        t.ndim = a.ndim
        t.dtype.code = code
        t.dtype.bits = 8 * item
        t.dtype.lanes = 1
        t.shape = self._shape
        t.strides = self._strides
        t.byte_offset = first - low
        self.struct = t

    @property
    def ref(self):
        return ctypes.byref(self.struct)


def doubles(values):
    """A contiguous float64 copy and a ctypes pointer to it (None for None/empty)."""
    if values is None:
        return None, None, 0
    a = np.ascontiguousarray(values, dtype=np.float64).reshape(-1)
    if a.size == 0:
        return a, None, 0
    return a, a.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), a.size
