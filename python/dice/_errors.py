"""Exceptions: one class per family of DiceStatus codes, all deriving from DiceError (a ValueError).

The library's thread-local message (naming the argument and value) becomes the exception text.
Checks done in Python before a call (dtype, alignment, byte order) raise the same classes.
"""


class DiceError(ValueError):
    """An error reported by the dice library (or caught before calling it).

    ``status`` is the DiceStatus code (None for checks done in Python), ``status_name`` its name.
    """

    def __init__(self, message, status=None, status_name=None):
        super().__init__(message)
        self.status = status
        self.status_name = status_name


class NullPointerError(DiceError):
    """A required array or output is missing (DICE_STATUS_NULL_POINTER)."""


class DtypeError(DiceError, TypeError):
    """Unsupported element type, or input/target/grad dtypes that do not fit (BAD_DTYPE)."""


class DeviceError(DiceError):
    """The data does not live in host memory (BAD_DEVICE)."""


class NdimError(DiceError):
    """A rank outside what the call accepts (BAD_NDIM)."""


class ShapeError(DiceError):
    """Shapes that do not agree, a negative extent, or N or C of 0 (SHAPE_MISMATCH, BAD_SHAPE)."""


class LayoutError(DiceError):
    """Strides or memory the library cannot use: overflow, out of bounds, overlapping or aliased
    output, misaligned data, non-native byte order (STRIDE_OVERFLOW .. ALIASED_OUTPUT, MISALIGNED)."""


class LabelError(DiceError):
    """A label outside [0, C) that is not ignore_index, or a non-integral float label (LABEL_OUT_OF_RANGE)."""


class OptionError(DiceError):
    """An option out of its domain: unknown activation or reduction, negative smoothing... (BAD_OPTION)."""


class WeightError(DiceError):
    """A class weight that is negative or not finite, or a count fitting no class count (BAD_WEIGHT)."""


class VersionError(DiceError):
    """Options struct size (STRUCT_SIZE) or ABI version the loaded library does not accept."""


class LengthError(DiceError):
    """Output, statistics or upstream lengths that do not match the call (BAD_LENGTH, STATS_MISMATCH)."""


class ThreadPoolError(DiceError, RuntimeError):
    """The library could not create its worker threads (THREAD_POOL)."""


class NotANumberError(DiceError):
    """A value that must be a number is NaN: probabilities, spacing, tolerances (NOT_A_NUMBER)."""


class EmptyMaskError(DiceError, RuntimeError):
    """A mask the metric convention requires to be non-empty is empty, e.g. medpy's hd (EMPTY_MASK)."""


class InternalError(DiceError, RuntimeError):
    """A panic caught at the library boundary: a bug in dice, please report it (PANIC)."""


class OutOfMemoryError(DiceError, MemoryError):
    """The library could not allocate its working memory (OUT_OF_MEMORY)."""


class LimitError(DiceError, OverflowError):
    """A size or count beyond what the library or the C types accept: more than DICE_MAX_CLASSES
    classes, element counts overflowing, or a Python int outside its C argument's range (TOO_LARGE)."""


# DiceStatus code -> (name, class). Codes are part of the C ABI and never renumbered.
STATUS = {
    1: ("NULL_POINTER", NullPointerError),
    2: ("BAD_DTYPE", DtypeError),
    3: ("BAD_DEVICE", DeviceError),
    4: ("BAD_NDIM", NdimError),
    5: ("SHAPE_MISMATCH", ShapeError),
    6: ("BAD_SHAPE", ShapeError),
    7: ("STRIDE_OVERFLOW", LayoutError),
    8: ("OUT_OF_BOUNDS", LayoutError),
    9: ("OVERLAPPING_OUTPUT", LayoutError),
    10: ("ALIASED_OUTPUT", LayoutError),
    11: ("LABEL_OUT_OF_RANGE", LabelError),
    12: ("BAD_OPTION", OptionError),
    13: ("BAD_WEIGHT", WeightError),
    14: ("STRUCT_SIZE", VersionError),
    15: ("BAD_LENGTH", LengthError),
    16: ("STATS_MISMATCH", LengthError),
    17: ("MISALIGNED", LayoutError),
    18: ("THREAD_POOL", ThreadPoolError),
    19: ("PANIC", InternalError),
    20: ("NOT_A_NUMBER", NotANumberError),
    21: ("EMPTY_MASK", EmptyMaskError),
    22: ("OUT_OF_MEMORY", OutOfMemoryError),
    23: ("TOO_LARGE", LimitError),
}

MAX_CLASSES = 65536  # DICE_MAX_CLASSES
MAX_THREADS = 1024  # DICE_MAX_THREADS


def c_int(name, value, lo, hi):
    """`value` as a Python int for a C integer argument of range [lo, hi]; never truncated.

    Raises DtypeError for a non-integer (bools included) and LimitError outside the range."""
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise DtypeError(f"{name} = {value!r} must be an integer")
    v = value.__index__()
    if not lo <= v <= hi:
        raise LimitError(f"{name} = {v} is outside [{lo}, {hi}]")
    return v


INT64 = (-(2**63), 2**63 - 1)
UINT32 = (0, 2**32 - 1)
UINT64 = (0, 2**64 - 1)


def error_for(status, message):
    """The exception for a non-zero status and the library's message."""
    name, cls = STATUS.get(status, ("UNKNOWN", DiceError))
    return cls(f"{message} [DICE_STATUS_{name} = {status}]", status, name)
