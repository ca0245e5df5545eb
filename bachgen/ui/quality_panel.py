"""The statistics of the newest take: its headline figures, each statistic of its new music
beside the real fugues' band (lowest to highest over stretches of the take's length), and
all of its numbers and seconds in an expander.

The statistics are measured once per take and kept in it; the text of the tables comes
from :mod:`bachgen.evaluation.labels`.
"""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from bachgen.errors import BachgenError
from bachgen.evaluation.labels import (
    INSIDE,
    STAT_LABELS,
    band_text,
    format_value,
    quality_summary,
    stat_text,
    statistic_label,
    styled_table,
)
from bachgen.ui.corpus_panel import corpus_config, corpus_ready
from bachgen.ui.resources import real_bands

log = logging.getLogger("bachgen.app")


def take_bands(take: dict[str, Any]) -> tuple[dict[str, tuple[float, float]] | None, int]:
    """The real band for the take's length (stretches of as many events as it wrote) and
    that length; no band without the corpus."""
    from bachgen.evaluation import statistics

    events = int(take["stats"].get("events") or statistics.STRETCH_EVENTS)
    if not corpus_ready():
        return None, events
    config = corpus_config()
    try:
        return real_bands(config.corpus_dir or "", str(config.cache_path), events), events
    except BachgenError:
        log.warning("measuring the real fugues failed", exc_info=True)
        return None, events


def take_quality(take: dict[str, Any]) -> dict[str, Any]:
    """The take's statistics beside the real band, measured once and kept in the take
    (``take["quality"]``); measured again when the band was missing and is there now."""
    from bachgen.evaluation import statistics

    kept = take.get("quality")
    if kept is not None and (kept["band_events"] is not None or not corpus_ready()):
        return kept
    bands, events = take_bands(take)
    measured = statistics.take_statistics(take["piece"], take.get("seed_end_tick"), bands)
    take["quality"] = {**measured, "band_events": events if bands is not None else None}
    return take["quality"]


def quality_panel(take: dict[str, Any], where: Any) -> None:
    """Each statistic of the take's new music beside the real fugues' band (lowest to
    highest), and how many fall inside it. Never stops the page: a failure is a caption."""
    try:
        report = take_quality(take)
    except Exception as exc:  # noqa: BLE001 (the take stays; say what happened)
        log.exception("measuring the take failed")
        where.caption(f"The statistics of this piece could not be measured "
                      f"({type(exc).__name__}: {exc}).")
        return
    rows, events = report["rows"], report["band_events"]
    table = {"statistic": [statistic_label(r["label"]) for r in rows],
             "this piece": [stat_text(r["name"], r["value"]) for r in rows]}
    if events is not None:
        table["real fugues"] = [band_text(r["name"], r["low"], r["high"]) for r in rows]
        table["inside"] = [INSIDE[r["inside"]] for r in rows]
    where.markdown(f"**{quality_summary(report)}**")
    left, right = where.columns([3, 2])
    left.table(styled_table(table), hide_index=True)
    quality_notes(take, events, right)


def quality_notes(take: dict[str, Any], events: int | None, where: Any) -> None:
    """What the quality table measures and against what (or why the real range is
    missing), and, for a take snapped to C major, why its key statistics look so tidy."""
    if events is not None:
        where.caption(f"Measured on the new music only (the seed is left out). Real fugues: "
                      f"the lowest and highest value among the 48 fugues of the Well-Tempered "
                      f"Clavier, each over a stretch of {events} events (from its 51st), "
                      f"the length of this take.")
    else:
        where.caption("Measured on the new music only (the seed is left out). The range of the "
                      "real fugues needs the corpus of the 48 fugues: download it above to "
                      "see each statistic beside it.")
    if take.get("snap") == "c-major" and events is not None:
        where.caption("Snapping to C major puts every note on one scale, as the fugues never "
                      "do: it lowers the pitch-class entropy and raises the share in the best "
                      "major scale to 100 %. Set the key to Off to measure the model's own notes.")


def stats_panel(take: dict[str, Any], where: Any) -> None:
    """The take's headline figures, its quality beside the real fugues, and every number
    and stage's seconds in an expander."""
    stats = take["stats"]
    shown = [(label, stats[key]) for key, label in STAT_LABELS.items() if key in stats]
    if shown:
        cols = where.columns(len(shown))
        for col, (label, value) in zip(cols, shown):
            col.metric(label, format_value(value))
    quality_panel(take, where)
    rows = {k.replace("_", " "): format_value(v) for k, v in stats.items() if not isinstance(v, dict)}
    timings = {f"seconds: {k}": f"{v:.2f}" for k, v in take["timings"].items()}
    with where.expander("All statistics of this piece"):
        st.table({"": list(rows) + list(timings),
                  "value": list(rows.values()) + list(timings.values())})
