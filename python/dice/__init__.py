"""dice: segmentation overlap losses and their gradients on numpy arrays, over the dice C library.

    import dice
    loss, grad = dice.dice_loss(logits, labels, softmax=True, to_onehot_y=True, return_grad=True)

Drop-in layers for code written against other libraries live in `dice.compat` (numpy in,
numpy out) and, with torch installed, `dice.torch` (autograd modules).
"""

import importlib

from ._errors import (
    DeviceError,
    DiceError,
    DtypeError,
    EmptyMaskError,
    InternalError,
    LabelError,
    LayoutError,
    LengthError,
    LimitError,
    NdimError,
    NotANumberError,
    NullPointerError,
    OptionError,
    OutOfMemoryError,
    ShapeError,
    ThreadPoolError,
    VersionError,
    WeightError,
)
from . import metrics
from ._lib import get_num_threads, set_num_threads
from ._lib import path as library_path
from ._lib import version as library_version
from .losses import (
    dice_backward_from_stats,
    dice_finalize,
    dice_loss,
    dice_stats,
    loss,
    ramp,
)

__version__ = "0.3.0"


def __getattr__(name):
    """`dice.compat` is imported on first use (it is not needed by the core API)."""
    if name == "compat":
        return importlib.import_module(".compat", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DeviceError",
    "DiceError",
    "DtypeError",
    "InternalError",
    "LabelError",
    "LayoutError",
    "LengthError",
    "LimitError",
    "NdimError",
    "OutOfMemoryError",
    "NullPointerError",
    "EmptyMaskError",
    "NotANumberError",
    "OptionError",
    "ShapeError",
    "ThreadPoolError",
    "VersionError",
    "WeightError",
    "compat",
    "metrics",
    "get_num_threads",
    "set_num_threads",
    "library_path",
    "library_version",
    "dice_loss",
    "dice_stats",
    "dice_finalize",
    "dice_backward_from_stats",
    "loss",
    "ramp",
]
