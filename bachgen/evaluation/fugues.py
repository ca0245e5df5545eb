"""Whole fugues on the 48 subjects against the 48 fugues as whole pieces:
``bachgen evaluate --whole-fugues``.

Each fugue of the Well-Tempered Clavier gives its subject (its first voice alone, from the
kern), its number of voices (at most five) and its length in bars; a whole fugue is written
on that subject (:mod:`bachgen.fugue`) with the default settings and one sampling seed, and
measured as a whole piece — the subject's statement included — against the real fugues,
also whole:

* the **texture** (:mod:`.statistics`): pieces inside the band of the real whole fugues on
  every statistic, the overlap per statistic, the classifier two-sample accuracy;
* **entries** of the subject per 10 bars (:func:`bachgen.subject.find_entries`), inside the
  band (min–max) of the real fugues' own;
* the **exposition check** (:func:`exposition_holds`): each voice's first entry sounds at the
  planned pitches and onsets (the subject or the answer), and no more voices sound before it
  than have entered;
* the **ending check** (:func:`bachgen.form.ending`), the share of dissonant beats and the
  fugues stuck in a loop — the entries, ending and dissonance as the take's yardstick counts
  them (:func:`bachgen.evaluation.form.form_of`).

Nothing of the real fugues is kept: they are read from the corpus the user has.
"""

from __future__ import annotations

import statistics as stats
import time
from typing import Any, Callable, Sequence

from .. import catalog
from ..config import FormConfig, RenderConfig, SamplingConfig
from ..events import Piece
from ..fugue import FUGUE_BEST_OF
from ..pipeline import ComposeSettings, Composition, Engine, SeedSpec, compose
from ..seeding import MAX_FUGUE_VOICES, OwnSubject
from ..subject import Subject, subject_of
from .comparison import QUALITY_SEED, compare_statistics
from .form import form_of
from .statistics import STATISTICS, piece_statistics

Say = Callable[[str], None]


def fugue_settings(piece: Piece, subject: Subject, seed: int, form: FormConfig) -> ComposeSettings:
    """A whole fugue on a real fugue's ``subject``: its voices (at most five), its bars."""
    voices = min(MAX_FUGUE_VOICES, max(2, catalog.fugue(piece.name).voices))
    own = OwnSubject(subject=subject, time_signature=tuple(piece.time_signature), voices=voices)
    return ComposeSettings(seed=SeedSpec(fugue=None, own=own), sampling=SamplingConfig(bars=piece.bars, seed=seed),
                           render=RenderConfig(audio=False, pianoroll=False, score=False), form=form)


def exposition_holds(piece: Piece, planned: Sequence[dict[str, Any]], subject: Subject, voices: int) -> bool:
    """Whether the exposition is right: each of the first ``voices`` planned entries sounds in
    ``piece`` — every note of the subject struck at its planned onset and pitch — and before
    each entry no more pitches sound at once than the voices that have entered."""
    struck = {(n.start, n.pitch) for n in piece.notes}
    for k, entry in enumerate(planned[:voices]):
        onsets = [entry["start"] + n.start for n in subject.notes]
        if not all((t, p) in struck for t, p in zip(onsets, entry["pitches"])):
            return False
        before = planned[k]["start"]
        earlier = planned[k - 1]["start"] if k else 0
        for t in sorted({n.start for n in piece.notes if earlier <= n.start < before}):
            if sum(1 for n in piece.notes if n.start <= t < n.end) > k:
                return False
    return len(planned) >= voices


def one_fugue(engine: Engine, piece: Piece, seed: int, form: FormConfig) -> dict[str, Any] | None:
    """A whole fugue on ``piece``'s subject and what is measured of it (``None``: the fugue has
    no subject stated alone)."""
    subject = subject_of(piece, piece.name)
    if subject is None or len(subject.notes) < 2:
        return None
    settings = fugue_settings(piece, subject, seed, form)
    started = time.perf_counter()
    made: Composition = compose(settings, engine)
    seconds = time.perf_counter() - started
    voices = settings.seed.own.voices
    shape = form_of(made.piece, made.subject)  # the whole piece: the subject's statement counts
    found = shape.get("ending") or {}
    return {"fugue": piece.name, "voices": voices, "bars": made.piece.bars, "seconds": round(seconds, 2),
            "statistics": piece_statistics(made.piece), "entries_per_10_bars": shape.get("entries_per_10_bars"),
            "dissonant_beats": shape["dissonant_beats"],
            "exposition": exposition_holds(made.piece, made.stats.get("planned_entries", []), made.subject, voices),
            "closes": bool(found.get("closes")), "from_dominant": bool(found.get("from_dominant")),
            "stuck": made.stats.get("stuck_in_loop", 0) > 0}


def whole_fugues_report(engine: Engine, seeds: Sequence[int] = (QUALITY_SEED,),
                        form: FormConfig = FormConfig(best_of=FUGUE_BEST_OF),
                        fugues: Sequence[str] | None = None, say: Say = lambda _: None) -> dict[str, Any]:
    """The report (see the module docstring): the real whole fugues' figures, then per sampling
    seed the whole fugues written on their subjects, measured the same way."""
    pieces = engine.corpus_pieces()
    ids = list(fugues or sorted(pieces))
    real = [piece_statistics(pieces[i]) for i in sorted(pieces)]
    real_forms = [form_of(pieces[i], subject_of(pieces[i], i), close=False) for i in sorted(pieces)]
    real_rates = [f["entries_per_10_bars"] for f in real_forms if "entries_per_10_bars" in f]
    band = (min(real_rates), max(real_rates))
    out: dict[str, Any] = {"real": {"pieces": len(real), "entries_per_10_bars_band": [round(b, 2) for b in band],
                                    "entries_per_10_bars_median": round(stats.median(real_rates), 2),
                                    "dissonant_beats_median": round(stats.median(f["dissonant_beats"] for f in real_forms), 3)},
                           "settings": {"best_of": form.best_of, "middle_entries": form.entries,
                                        "fugues": len(ids), "seeds": list(seeds)}, "seeds": []}
    for seed in seeds:
        rows = []
        for i, fugue_id in enumerate(ids):
            say(f"seed {seed}: {fugue_id} ({i + 1}/{len(ids)})")
            row = one_fugue(engine, pieces[fugue_id], seed, form)
            if row is not None:
                rows.append(row)
        out["seeds"].append(seed_row(seed, rows, real, band))
    return out


def seed_row(seed: int, rows: Sequence[dict[str, Any]], real: Sequence[dict[str, float]],
             band: tuple[float, float]) -> dict[str, Any]:
    """One sampling seed's whole fugues against the real ones: texture, entries, exposition,
    ending, stuck, seconds."""
    compared = compare_statistics([r["statistics"] for r in rows], real, QUALITY_SEED)
    rates = [r["entries_per_10_bars"] for r in rows if r["entries_per_10_bars"] is not None]
    three = [r["seconds"] for r in rows if r["voices"] == 3]
    return {
        "seed": seed, "fugues": len(rows),
        "inside_every_band": compared["all_inside"],
        "classifier": compared["classifier"],
        "overlap": {n: round(compared["statistics"][n]["overlap"], 3) for n in STATISTICS},
        "outside": {n: {"pieces": len(rows) - st["inside"], "band": [round(x, 3) for x in st["band"]],
                        "median": round(st["median"], 3), "real_median": round(st["real_median"], 3)}
                    for n, st in compared["statistics"].items() if st["inside"] < len(rows)},
        "entries_in_band": sum(1 for r in rates if band[0] <= r <= band[1]),
        "entries_per_10_bars_median": round(stats.median(rates), 2) if rates else None,
        "exposition_right": sum(1 for r in rows if r["exposition"]),
        "closes": sum(1 for r in rows if r["closes"]),
        "from_dominant": sum(1 for r in rows if r["from_dominant"]),
        "stuck": sum(1 for r in rows if r["stuck"]),
        "dissonant_beats_median": round(stats.median(r["dissonant_beats"] for r in rows), 3) if rows else None,
        "seconds_median_3_voices": round(stats.median(three), 2) if three else None,
        "per_fugue": [{**{k: v for k, v in r.items() if k != "statistics"},
                       "outside": outside_of(r["statistics"], compared["statistics"])} for r in rows],
    }


def outside_of(values: dict[str, float], compared: dict[str, Any]) -> dict[str, float]:
    """The statistics of one fugue outside the real band, with its value."""
    return {n: round(values[n], 3) for n, st in compared.items()
            if not st["band"][0] <= values[n] <= st["band"][1]}


def outside_lines(outside: dict[str, Any]) -> list[str]:
    """The statistics some fugues fall outside the real band of: how many, the band, the medians."""
    if not outside:
        return ["  outside a band             none"]
    return [f"  outside the band of {name:<18} {o['pieces']} (band {o['band'][0]}–{o['band'][1]}; "
            f"median {o['median']}, Bach {o['real_median']})" for name, o in outside.items()]


def format_whole_fugues(report: dict[str, Any]) -> str:
    """The report as text: the real band, then one block per sampling seed."""
    real = report["real"]
    lines = [f"Whole fugues on the 48 subjects (best of {report['settings']['best_of']}, "
             f"middle entries {'on' if report['settings']['middle_entries'] else 'off'})",
             f"real whole fugues: dissonant beats median {real['dissonant_beats_median']}, "
             f"entries per 10 bars median {real['entries_per_10_bars_median']}, "
             f"band {real['entries_per_10_bars_band'][0]}–{real['entries_per_10_bars_band'][1]}"]
    for row in report["seeds"]:
        n = row["fugues"]
        lines += [f"seed {row['seed']}: {n} fugues",
                  f"  inside every texture band  {row['inside_every_band']}/{n}   classifier "
                  f"{row['classifier']['accuracy']:.3f}",
                  *outside_lines(row["outside"]),
                  f"  entries per 10 bars        median {row['entries_per_10_bars_median']}, "
                  f"in the real band {row['entries_in_band']}/{n}",
                  f"  exposition right           {row['exposition_right']}/{n}",
                  f"  closes / from the dominant {row['closes']}/{n} / {row['from_dominant']}/{n}",
                  f"  dissonant beats            median {row['dissonant_beats_median']}",
                  f"  stuck                      {row['stuck']}",
                  f"  seconds, 3-voice fugue     median {row['seconds_median_3_voices']}"]
    return "\n".join(lines)
