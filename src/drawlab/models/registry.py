"""The families registry: every ``@register``ed family class by its name (registers nothing itself).

It sits under ``base.py`` and ``tricks.py`` so that both can name the registered families without
importing each other.
"""

from __future__ import annotations

from typing import Any

REGISTRY: dict[str, Any] = {}  # name -> Family subclass (``base.register`` fills it)


def adversarial_names() -> str:
    """The registered families with a discriminator, for messages: 'cgan, dcgan, gan, msggan'."""
    return ", ".join(sorted(n for n, cls in REGISTRY.items() if cls.adversarial))
