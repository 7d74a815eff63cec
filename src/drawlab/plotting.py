"""matplotlib for drawing into files, without taking over the user's own plots."""

from __future__ import annotations

import sys
from typing import Any


def pyplot() -> Any:
    """``matplotlib.pyplot``, on the Agg backend unless pyplot is already in use: a notebook's inline backend
    (or a user's window) is left alone, since drawlab draws into files and closes its figures."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
