"""Model families, one file each, found through the registry (``drawlab models``)."""
from __future__ import annotations

from . import cgan, conv_mse, dcgan, gan, mlp_mse  # noqa: F401  (each registers itself)
from .base import REGISTRY, Family, check_known, get_family

__all__ = ["REGISTRY", "Family", "build_family", "get_family", "list_models"]


def list_models() -> list[tuple[str, str]]:
    """(name, one-line summary) of every registered model, in ladder order."""
    order = ["mlp-mse", "conv-mse", "gan", "dcgan", "cgan"]
    names = sorted(REGISTRY, key=lambda n: (order.index(n) if n in order else len(order), n))
    return [(n, REGISTRY[n].summary) for n in names]


def build_family(cfg, shape: tuple[int, int, int], num_classes: int) -> Family:
    """Instantiate the family named in ``cfg`` (a ModelConfig) for images of ``shape`` (C, H, W)."""
    check_known(cfg)
    return get_family(cfg.name)(cfg, shape, num_classes)
