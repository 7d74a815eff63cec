"""Reading a run back: the monitor pictures, the ranked gallery and the HTML report (`drawlab report`)."""

from ..records.figures import write_figures
from .gallery import ranked_gallery
from .html import build_report

__all__ = ["build_report", "ranked_gallery", "write_figures"]
