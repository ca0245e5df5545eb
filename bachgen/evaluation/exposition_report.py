"""The figures of :mod:`bachgen.evaluation.expositions` as the tables of ``docs/expositions.md``:
:func:`to_markdown`."""

from __future__ import annotations

from collections.abc import Sequence

from .expositions import Figures


def _pairs(counts: dict) -> str:
    """``key: count`` pairs, comma-separated (tuples written ``2-1-0``, −1 as ``?``)."""
    def name(key) -> str:
        return "-".join(str(k) if k >= 0 else "?" for k in key) if isinstance(key, tuple) else str(key)
    return ", ".join(f"{name(k)}: {v}" for k, v in counts.items())


def _table(rows: Sequence[tuple[str, str]]) -> list[str]:
    return ["| | 48 fugues |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)]


def _exposition_rows(fig: Figures) -> list[tuple[str, str]]:
    rows = [(f"order of first entries, {n} voices (ranks, 0 = lowest: fugues)", _pairs(c))
            for n, c in fig.orders.items()]
    rows += [(f"first voice's rank, {n} voices", _pairs(c)) for n, c in fig.first_rank.items()]
    rows += [(f"levels of the first entries, {n} voices (?: not lined up)", _pairs(c))
             for n, c in fig.level_orders.items()]
    rows += [(f"kind of entry {i + 1}", _pairs(c)) for i, c in fig.kinds.items()]
    rows += [(f"`find_entries` on {kind} entries (2nd on)", _pairs(c)) for kind, c in fig.matcher.items()]
    rows += [
        ("answers whose pitch classes `plan.entry_pitches` gives", "{} of {}".format(*fig.answer_rule)),
        ("voices entering after the exposition (late)", str(fig.late_voices)),
        ("fugues whose later entries copy the whole solo", f"{fig.solo_is_subject} of {fig.fugues}"),
        ("bars between exposition entries' onsets, after the 2nd (deciles)", ", ".join(map(str, fig.onset_gaps))),
    ]
    for i, q in fig.codettas.items():
        which = f"entry {i}{' or later' if i == 3 else ''}"
        none, of = fig.codetta_none[i]
        rows += [(f"codetta after {which}, bars (deciles)", ", ".join(map(str, q))),
                 (f"no codetta after {which} (0 or less)", f"{none} of {of}")]
    rows += [("exposition, bars (quartiles)", ", ".join(map(str, fig.exposition_bars))),
             ("exposition's share of the fugue (quartiles)", ", ".join(map(str, fig.exposition_share)))]
    rows += [(f"fugue length, {n} voices, bars (quartiles)", ", ".join(map(str, q)) or "one fugue")
             for n, q in fig.fugue_bars.items()]
    return rows


def _later_rows(fig: Figures) -> list[tuple[str, str]]:
    rows = [("entries per 10 bars after the exposition (quartiles)", ", ".join(map(str, fig.rate)))]
    for mode, counts in fig.levels.items():
        rows.append((f"levels after the exposition, {mode}", _pairs(counts)))
        rows += [(f"… {third} third, {mode}", _pairs(c)) for third, c in fig.levels_by_third[mode].items()]
        rows.append((f"level of the first entry after the exposition, {mode}", _pairs(fig.first_middle[mode])))
    overlapping, at_once, total = fig.no_episode
    return rows + [
        ("entries found only as the answer's form", str(fig.answer_forms)),
        ("episodes, bars (deciles of those > 0)", ", ".join(map(str, fig.episodes))),
        ("entries overlapping the one before / at its end / all", f"{overlapping} / {at_once} / {total}"),
        ("fugues with an overlapping entry after the exposition", str(fig.stretto_fugues)),
        ("episode after the exposition, bars (quartiles)", ", ".join(map(str, fig.first_episode))),
        ("last tonic entry's onset, bars from the end (quartiles)", ", ".join(map(str, fig.final_tonic))),
        ("last tonic entry's end, bars from the end (quartiles)", ", ".join(map(str, fig.final_tonic_end))),
        ("fugues whose last entry is in the tonic", "{} of {}".format(*fig.last_is_tonic)),
        ("exposition entries at the subject's place in the bar", _pairs(fig.bar_places["exposition"])),
        ("later entries at the subject's place in the bar", _pairs(fig.bar_places["later"])),
        ("pedal ≥ 1 bar in the lowest voice in the last 4 bars", _pairs(fig.pedals)),
        ("last sonority, quarter notes (fugues)", _pairs(fig.last_sonority)),
        ("last sonority, bars (quartiles)", ", ".join(map(str, fig.last_sonority_bars))),
    ]


def to_markdown(fig: Figures) -> str:
    """The figures as the tables of ``docs/expositions.md``."""
    lines = ["### The exposition", "", *_table(_exposition_rows(fig)), "",
             "### After the exposition, and the close", "", *_table(_later_rows(fig))]
    return "\n".join(lines) + "\n"
