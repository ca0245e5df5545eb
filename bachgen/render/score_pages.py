"""An engraved score's pages: verovio writes one top-level ``<svg>`` element per page, all
in one string; the page shows them one under the other, so it needs them apart.

Plain text work (no page, no engraver), kept apart so it can be tested on its own.
"""

from __future__ import annotations

import re

#: An opening ``<svg ...>`` (or empty ``<svg/>``) tag, or a closing ``</svg>`` tag.
SVG_TAG = re.compile(r"<svg\b[^>]*>|</svg\s*>")


def score_pages(svg: str) -> list[str]:
    """The engraved score split into its pages (top-level ``<svg>`` elements); the whole
    text as one page when it holds none."""
    pages, depth, start = [], 0, 0
    for match in SVG_TAG.finditer(svg):
        tag = match.group()
        if tag.startswith("</"):
            depth -= 1
            if depth == 0:
                pages.append(svg[start:match.end()])
        elif tag.endswith("/>"):  # an empty <svg/> opens and closes nothing
            if depth == 0:
                pages.append(tag)
        else:
            if depth == 0:
                start = match.start()
            depth += 1
    return pages or [svg]
