"""MkDocs hooks of drawlab's manual (mkdocs.yml ``hooks``).

- ``on_pre_build``: writes docs/index.md from the README (the front page, its links made relative to docs/) and
  docs/cli.md, the CLI reference, from the parser itself (every command, its options and their help), so neither
  can drift (both are build outputs, not committed);
- ``on_files``: adds the pictures under benchmarks/ that the pages link to, so the links written for the
  repository (``benchmarks/issue20/x.png``) work in the site too and strict mode checks them.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
PICTURE = re.compile(r"\]\(((?:benchmarks|src/drawlab/pretrained)/[^)\s]+\.(?:png|gif|jpg|svg))\)")


def cli_reference() -> str:
    """The CLI reference as markdown: `drawlab COMMAND --help` of every command."""
    from drawlab.cli import build_parser

    ap = build_parser()
    sub = next(a for a in ap._actions if isinstance(a, argparse._SubParsersAction))
    out = [
        "# CLI reference",
        "",
        "Generated from the parser (`docs/hooks.py`) each time the manual is built: what `drawlab COMMAND --help` "
        "prints.",
        "",
    ]
    for name, p in sub.choices.items():
        p.formatter_class = lambda prog: argparse.HelpFormatter(prog, width=100)
        out += [f"## drawlab {name}", "", "```text", p.format_help().rstrip(), "```", ""]
    return "\n".join(out)


def front_page() -> str:
    """The README as the site's home page: links into docs/ made relative to it; the results file (outside the
    site) named rather than linked."""
    text = (ROOT / "README.md").read_text()
    text = text.replace("](docs/", "](")
    return re.sub(r"\[([^\]]+)\]\(benchmarks/RESULTS\.md\)", r"`\1` (in the repository)", text)


def _write(target: Path, text: str) -> None:
    if not target.is_file() or target.read_text() != text:
        target.write_text(text)


def on_pre_build(config, **kwargs) -> None:
    docs = Path(config["docs_dir"])
    _write(docs / "index.md", front_page())
    _write(docs / "cli.md", cli_reference())


def on_files(files, config, **kwargs):
    wanted: set[str] = set()
    for page in Path(config["docs_dir"]).glob("*.md"):
        wanted |= set(PICTURE.findall(page.read_text()))
    for rel in sorted(wanted):
        if (ROOT / rel).is_file():
            files.append(File(rel, str(ROOT), config["site_dir"], config["use_directory_urls"]))
    return files
