"""Drop-in layers mirroring other libraries' names and conventions: monai, smp, kornia,
torchmetrics, surface_distance (DeepMind), medpy and nnunet. Each submodule is imported on first
use, so `import dice; dice.compat.monai.DiceLoss` works without importing the others."""

import importlib

__all__ = ["kornia", "medpy", "monai", "nnunet", "smp", "surface_distance", "torchmetrics"]


def __getattr__(name):
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
