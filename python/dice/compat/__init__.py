"""Drop-in layers mirroring other libraries' names and conventions: monai, smp, kornia,
torchmetrics, surface_distance (DeepMind) and medpy; import the submodule you need."""

__all__ = ["kornia", "medpy", "monai", "smp", "surface_distance", "torchmetrics"]
