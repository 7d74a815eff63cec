"""drawlab's version (the bottom floor: every module may say which drawlab wrote a file)."""

__version__ = "0.1.0"
