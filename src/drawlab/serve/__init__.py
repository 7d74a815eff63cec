"""The explorer: a local web page to play with trained runs (`drawlab serve`)."""

from .explorer import Explorer, View
from .server import make_server, serve

__all__ = ["Explorer", "View", "make_server", "serve"]
