"""How a take's statistics read on the page: figures as short text, the real fugues' band
as "low – high", the inside marks and their colours, and the one-line summary.

Plain formatting (no page): the page (:mod:`bachgen.ui.quality_panel`) puts these into its
tables, and they can be tested without a running page. The statistics themselves come
from :mod:`bachgen.evaluation.statistics`.
"""

from __future__ import annotations

from typing import Any

#: The take's headline figures (keys of its ``stats``), in the order they are shown.
STAT_LABELS = {
    "events": "New events",
    "notes": "Notes",
    "seconds": "Length (s)",
    "loop_recoveries": "Loop recoveries",
    "longest_copied_run": "Longest copied run (events)",
}

#: The inside column: inside the real band, outside it, not measured.
INSIDE = {True: "✓", False: "✗", None: "–"}
INSIDE_COLOURS = {"✓": "color: #1b7f3b", "✗": "color: #c0392b; font-weight: bold"}


def format_value(value: Any) -> str:
    """Any value of a take's statistics as short text: a dash for none, yes or no, floats
    to three significant figures, lists joined by commas."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value)
    return str(value)


def stat_text(name: str, value: float | None) -> str:
    """A statistic for the table: shares as percentages, other figures to two decimals
    (whole numbers from 10 up)."""
    from bachgen.evaluation import statistics

    if value is None:
        return "–"
    if name not in statistics.SHARES:
        return f"{value:.0f}" if abs(value) >= 10 else f"{value:.2f}"
    percent = value * 100
    exact = percent in (0, 100) or 1 <= percent <= 99
    return f"{percent:.0f} %" if exact else f"{percent:.1f} %"


def band_text(name: str, low: float | None, high: float | None) -> str:
    """The real fugues' band of a statistic as "low – high" (a dash when unknown)."""
    if low is None or high is None:
        return "–"
    return f"{stat_text(name, low)} – {stat_text(name, high)}"


def statistic_label(text: str) -> str:
    """A statistic's label as the table shows it (``>=`` as ``≥``, ``> `` in words)."""
    return text.replace(">=", "≥").replace("> ", "more than ")


def styled_table(table: dict[str, list[str]]) -> Any:
    """The table as a frame, with the inside column in green (inside) and red (outside)."""
    import pandas as pd

    frame = pd.DataFrame(table)
    if "inside" not in frame:
        return frame
    try:
        return frame.style.map(lambda mark: INSIDE_COLOURS.get(mark, ""), subset=["inside"])
    except (ImportError, AttributeError):  # styling needs jinja2 and a recent pandas
        return frame


def quality_summary(report: dict[str, Any]) -> str:
    """One line: how many statistics are inside the real range (or measured, without it)."""
    total, measured = report["total"], report["measured"]
    missing = f" ({total - measured} could not be measured)" if measured < total else ""
    if report.get("band_events") is None:
        return f"{measured} of {total} statistics measured; the range of the real fugues " \
               f"needs the corpus"
    return f"{report['inside']} of {total} statistics inside the range of the real fugues{missing}"
