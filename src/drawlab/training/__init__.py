"""Training: one loop for every model family."""

from .trainer import Trainer, TrainResult

__all__ = ["TrainResult", "Trainer"]
