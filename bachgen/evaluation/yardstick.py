"""Does the generated music sound like the fugues? ``bachgen evaluate --generated``.

Pieces are measured by :mod:`.statistics` and sets compared by :mod:`.comparison`.
Generated pieces carry two more figures: ``stuck`` (a loop left in the output, found on
events) and the longest run copied from the corpus, in any transposition.

**Generating.** One generation per fugue, all in one batch, 400 events after a seed of the
fugue's events 0–49, one random seed for the batch. The spelled model draws with the
default :class:`~bachgen.config.SamplingConfig` (temperature, top-k, top-p), no key
treatment (no pull towards the key, no snapping), and each generation is decoded in its
seed's key on the fugue's bar grid. Only the new music is measured, cut after the seed as
the real stretches are.

The rows: (1) real against real — Book II's 24 stretches against Book I's 24 (band, overlap
and classifier all between the two books), the ceiling; (2) the real fugues through the
spelled codec and decoded — what the representation alone costs (lossless: the real
values); (3) the model's generations; (4) optionally a second model's (another spelled
bundle), under the same seeds and settings. Beside row 1 the report counts how many real
stretches fall inside the band of the other 47 on every statistic: what "inside on every
statistic" can ask. With several sampling seeds each seed's pieces inside every band and
classifier accuracy are reported with their spread (48 pieces make both noisy); the first
seed is the headline. :mod:`.report` writes the report as text.
"""

from __future__ import annotations

import statistics as stats
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import numpy as np

from ..codec import SpelledCodec
from ..config import FormConfig, RenderConfig, SamplingConfig
from ..events import Piece
from ..form import Held, ending, hold
from ..guards import find_loops
from ..pipeline import (Drawn, Engine, SeedSpec, copied_run, decode, event_ids, make_seed, sample_settings,
                        watch)
from ..sampling import sample_ids
from ..step import blas_single_thread
from ..subject import subject_of
from .comparison import (FOLDS, QUALITY_SEED, REPEATS, compare_statistics, leave_one_out_inside, meter_match,
                         spread)
from .critic import Counts, critic_compare, describe, piece_counts
from .form import false_alarms, form_of, form_summary
from .statistics import (FIRST_EVENT, STATISTICS, STRETCH_EVENTS, bands, clip, new_music, piece_statistics,
                         stretch, stretch_window)

Say = Callable[[str], None]


# --------------------------------------------------------------------------- the rows on real music


def through_spelled(piece: Piece, codec: SpelledCodec) -> Piece:
    """The piece spelled as the spelled codec's ids and decoded again, on its own ticks and in
    its own key (what that representation keeps of it)."""
    return codec.decode(codec.encode(piece), codec.first_tick(piece), piece)


def spelled_statistics(pieces: Sequence[Piece], codec: SpelledCodec, events: int = STRETCH_EVENTS
                       ) -> list[dict[str, float]]:
    """Statistics of each real piece's stretch after the spelled round trip (cut at the ticks
    of its real stretch, so the two measure the same music)."""
    values = []
    for piece in pieces:
        start, end = stretch_window(piece, FIRST_EVENT, events)
        values.append(piece_statistics(clip(through_spelled(piece, codec), start, end)))
    return values


def real_rows(pieces: dict[str, Piece], codec: SpelledCodec | None, seed: int = QUALITY_SEED,
              events: int = STRETCH_EVENTS) -> tuple[list[dict[str, float]], dict[str, dict[str, Any]]]:
    """The real stretches' statistics and the rows on real music: Book II against Book I (the
    ceiling) and, given the spelled ``codec``, the real fugues through it, against the real fugues."""
    names, values = list(pieces), list(pieces.values())
    real = [piece_statistics(stretch(p, FIRST_EVENT, events)) for p in values]
    book1 = [v for fugue, v in zip(names, real) if fugue.startswith("wtc1")]
    book2 = [v for fugue, v in zip(names, real) if fugue.startswith("wtc2")]
    rows = {"real_vs_real": compare_statistics(book2, book1, seed)}
    rows["real_vs_real"]["all_inside_leave_one_out"] = leave_one_out_inside(real)
    if codec is not None:
        spelt = spelled_statistics(values, codec, events)
        rows["through_spelled"] = compare_statistics(spelt, real, seed)
        rows["through_spelled"]["equals_real"] = spelt == real
    return real, rows


def real_critic(pieces: dict[str, Piece], seed: int = QUALITY_SEED, events: int = STRETCH_EVENTS
                ) -> tuple[list[Counts], dict[str, Any]]:
    """The critic's counts of the real stretches and its verdict on Book II against Book I
    (:mod:`.critic`): the ceiling of its generated rows."""
    counts = {name: piece_counts(stretch(p, FIRST_EVENT, events)) for name, p in pieces.items()}
    book1 = [c for name, c in counts.items() if name.startswith("wtc1")]
    book2 = [c for name, c in counts.items() if name.startswith("wtc2")]
    return list(counts.values()), critic_compare(book2, book1, seed)


def generated_row(pieces: Sequence[Piece], real: Sequence[dict[str, float]],
                  stuck: Sequence[bool] | None = None, copied_runs: Sequence[int] | None = None,
                  seed: int = QUALITY_SEED, real_counts: Sequence[Counts] | None = None) -> dict[str, Any]:
    """A generated row for any model: its pieces against the real stretches' statistics,
    with how many pieces were stuck in a loop and their longest copied runs when known, and
    (given the real stretches' counts, :func:`~.critic.piece_counts`) the critic's verdict."""
    values = [piece_statistics(p) for p in pieces]
    row = compare_statistics(values, real, seed)
    if real_counts is not None:
        row["critic"] = critic_compare([piece_counts(p) for p in pieces], real_counts, seed)
    row["values"] = [{name: round(v[name], 4) for name in STATISTICS} for v in values]
    if stuck is not None:
        row["stuck"] = int(sum(bool(s) for s in stuck))
    if copied_runs:
        row["longest_copied_run_median"] = float(stats.median(copied_runs))
        row["longest_copied_run_max"] = int(max(copied_runs))
    return row


# --------------------------------------------------------------------------- generating


@dataclass
class Generations:
    """One generation per fugue of one model under one random seed: the new music as a
    listener hears it (cut after the seed, on the fugue's bar grid), whether each got stuck
    in a loop, its longest run copied from the corpus, and per-piece facts of the model."""

    fugues: list[str]
    pieces: list[Piece]
    stuck: list[bool]
    copied: list[int]
    seconds: float
    extra: list[dict[str, Any]] = field(default_factory=list)
    loop_recoveries: int = 0
    forms: list[dict[str, Any]] = field(default_factory=list)


def held_takes(engine: Engine, configs: Sequence[SamplingConfig], form: FormConfig,
               seeds: Sequence[Any]) -> list[Held]:
    """What each fugue's take is drawn with (:func:`bachgen.form.hold`), its plan drawn from its
    own generator (the sampling seed and the fugue's place), so a plan does not depend on the others."""
    return [hold(engine.codec, seed, config, form, np.random.default_rng([config.seed or 0, b]))
            for b, (seed, config) in enumerate(zip(seeds, configs))]


def stretch_bars(piece: Piece, events: int = STRETCH_EVENTS) -> int:
    """Bars from the end of the seed (event 50) to the end of the real stretch, counting the bar
    the seed ends in: a take this long is as long as Bach's music it is measured against."""
    start, end = stretch_window(piece, FIRST_EVENT, events)
    return max(2, -(-end // piece.bar_ticks) - start // piece.bar_ticks)


def spelled_generations(engine: Engine, config: SamplingConfig, fugues: Sequence[str],
                        form: FormConfig = FormConfig(entries=False, close=False),
                        bars: Sequence[int] | None = None) -> Generations:
    """One generation per fugue from its events 0–49, all rows in one batch, with the default
    draw of the model (:func:`bachgen.pipeline.sample_settings`), no key treatment, held to
    each fugue's plan (``form``: entries of its subject, a close when ``config.bars`` is set);
    each decoded in its seed's key on its bar grid (:func:`bachgen.pipeline.decode`, snap
    off) and cut after the seed. ``bars``: each take's length in bars (else ``config``'s)."""
    codec = engine.codec
    seeds = [make_seed(SeedSpec(fugue=f, start_event=0), engine, np.random.default_rng(0), [])
             for f in fugues]
    index = engine.copy_index(config.copy_limit or 12)
    guard = watch(config, engine, seeds, index)
    configs = [replace(config, bars=n) for n in bars] if bars is not None else [config] * len(seeds)
    held = held_takes(engine, configs, form, seeds)
    started = time.perf_counter()
    with engine.lock, blas_single_thread():
        rows = sample_ids(engine.step, codec, [h.row for h in held], max(h.events for h in held),
                          sample_settings(config), np.random.default_rng(config.seed),
                          moved_by=[s.moved_by for s in seeds], watch=guard, rules=[h.rules for h in held])
    seconds = time.perf_counter() - started
    render = RenderConfig(audio=False, score=False, include_seed=True, snap="off")
    made = Generations(list(fugues), [], [], [], seconds, [], sum(guard.loops_taken_back))
    for b, (seed, ids) in enumerate(zip(seeds, rows)):
        events = codec.events(ids, seed.row.end(codec))
        loops = find_loops(event_ids(events), config.loop_max_period, config.loop_min_repeats,
                           config.loop_min_events)
        run = copied_run(index, events, held[b].plan)
        piece, _, seed_end = decode(seed, Drawn(list(ids), events, loops, run, 0), engine, render)
        made.pieces.append(new_music(piece, seed_end))
        made.forms.append(form_of(made.pieces[-1], seed.subject, seed.key, close=configs[b].bars is not None))
        made.stuck.append(loops > 0)
        made.copied.append(run)
        made.extra.append({"events": len(events), "tokens": len(ids), "moved_by": seed.moved_by,
                           "loops_taken_back": guard.loops_taken_back[b],
                           "copies_refused": guard.copies_refused[b]})
    return made


def real_copy_runs(index: Any, corpus_words: Sequence[Sequence[Any]], length: int, offset: int = FIRST_EVENT
                   ) -> list[int]:
    """For each fugue, the longest run of a ``length``-event stretch (from ``offset``) found
    in the other fugues: what the copied runs of generations are measured against.
    ``corpus_words``: the fugues' words or events, in the index's order."""
    runs = []
    for i, words in enumerate(corpus_words):
        start = min(offset, max(0, len(words) - length))
        runs.append(index.longest_run(list(words[start:start + length]), exclude=[i]))
    return runs


def engine_copy_runs(engine: Engine, config: SamplingConfig) -> list[int]:
    """:func:`real_copy_runs` with the engine's own copy index (events with holds)."""
    index = engine.copy_index(config.copy_limit or 12)
    return real_copy_runs(index, [engine.fugue_events(f) for f in index.names], config.events)


def real_form(pieces: dict[str, Piece], events: int, say: Say) -> dict[str, Any]:
    """The form figures of Bach's stretches after the seed (measured as the takes are), the
    matcher's false alarms there, and the endings of the whole fugues."""
    say("form of the real stretches: entries, false alarms, endings")
    stretches = [stretch(p, FIRST_EVENT, events) for p in pieces.values()]
    subjects = [subject_of(p) for p in pieces.values()]
    out = form_summary([form_of(s, subject, p.key, close=False)
                        for s, subject, p in zip(stretches, subjects, pieces.values())])
    out["false_alarms_per_10_bars"] = false_alarms(stretches, subjects)
    whole = form_summary([{"dissonant_beats": 0.0, "ending": e.to_dict()} for e in
                          (ending(p) for p in pieces.values()) if e is not None])
    out["whole_fugue_endings"] = {k: v for k, v in whole.items() if k.startswith("ending_")}
    return out


# --------------------------------------------------------------------------- the report


def settings_of(config: SamplingConfig) -> dict[str, Any]:
    """The sampling settings a model's row was drawn with, as plain JSON."""
    return {"model": "spelled", "events": config.events, "temperature": config.temperature,
            "top_k": config.top_k, "top_p": config.top_p, "copy_limit": config.copy_limit,
            "key_treatment": "off (no key guide, snap off)",
            "copy_guard": f"runs over {config.copy_limit} events taken back" if config.copy_limit else "off",
            "loop_guard": "on (taken back)", "compass": list(config.compass) if config.compass else None}


def row_label(settings: dict[str, Any]) -> str:
    """A short name of a generated row: the model and the settings it was drawn with (top-k
    only when on)."""
    p = settings["top_p"] if settings["top_p"] is not None else "off"
    k = f" k={settings['top_k']}" if settings["top_k"] else ""
    compass = settings.get("compass")
    c = f" compass {compass[0]}-{compass[1]}" if compass else ""
    return f"{settings['model']} T={settings['temperature']:g} p={p}{k}{c}"


def seed_summary(seed: int, row: dict[str, Any], made: Generations) -> dict[str, Any]:
    """One sampling seed's figures: pieces inside every band, classifier accuracy, loops, copies,
    and the form (entries, endings, dissonant beats: :func:`~.form.form_summary`)."""
    return {"seed": seed, "form": form_summary(made.forms), "pieces": row["pieces"], "all_inside": row["all_inside"],
            "accuracy": row["classifier"]["accuracy"], "accuracy_sd": row["classifier"]["sd"],
            "stuck": row.get("stuck"), "longest_copied_run_median": row.get("longest_copied_run_median"),
            "longest_copied_run_max": row.get("longest_copied_run_max"),
            "critic": row["critic"]["classifier"]["accuracy"] if "critic" in row else None,
            "critic_sd": row["critic"]["classifier"]["sd"] if "critic" in row else None,
            "watched": row["critic"]["watched"] if "critic" in row else None,
            "sample_seconds": round(made.seconds, 2)}


def model_row(engine: Engine, config: SamplingConfig, fugues: Sequence[str], real: Sequence[dict[str, float]],
              sampling_seeds: Sequence[int], seed: int, say: Say,
              real_stretches: dict[str, Piece] | None = None,
              form: FormConfig = FormConfig(entries=False, close=False),
              bars: Sequence[int] | None = None, real_counts: Sequence[Counts] | None = None
              ) -> tuple[dict[str, Any], dict[str, Any]]:
    """A model's generated row under each sampling seed: the full row of the first (the
    headline) with its per-seed figures, their spread and (given the real stretches by
    fugue) the meter check of :func:`~.comparison.meter_match`; and the headline's per-piece facts.
    ``real_counts``: the real stretches' critic counts (the critic's verdict on every seed)."""
    runs = []
    for s in sampling_seeds:
        length = "Bach's stretch's bars" if bars else (f"{config.bars} bars" if config.bars else f"{config.events} events")
        say(f"spelled: generating {len(fugues)} pieces of {length}, sampling seed {s}")
        made = spelled_generations(engine, replace(config, seed=s), fugues, form, bars)
        runs.append((s, made, generated_row(made.pieces, real, made.stuck, made.copied, seed, real_counts)))
    first_seed, made, row = runs[0]
    row["settings"] = {**settings_of(config), "seed": first_seed,
                       "bars": "as many as the real stretch" if bars else config.bars,
                       "form": {"entries": form.entries, "close": form.close, "levels": list(form.levels),
                                "best_of": form.best_of, "cap_voices": form.cap_voices,
                                **({"chooser": form.chooser} if form.chooser != "strict" else {})}}
    row["form"] = form_summary(made.forms)
    row["label"] = row_label(row["settings"])
    row["sampling_seeds"] = [seed_summary(s, r, m) for s, m, r in runs]
    row["spread"] = {"all_inside": spread([r["all_inside"] for _, _, r in runs]),
                     "accuracy": spread([r["classifier"]["accuracy"] for _, _, r in runs])}
    if real_counts is not None:
        row["spread"]["critic"] = spread([r["critic"]["classifier"]["accuracy"] for _, _, r in runs])
    row["loop_recoveries"] = made.loop_recoveries
    if real_stretches:
        row["meter"] = meter_match(made.pieces, [real_stretches[f] for f in made.fugues])
    details = [{"fugue": f, "stuck": st, "longest_copied_run": c, "inside_all": row["inside_each"][b],
                **made.extra[b], **row["values"][b], "form": made.forms[b]}
               for b, (f, st, c) in enumerate(zip(made.fugues, made.stuck, made.copied))]
    return row, {"pieces": details, "sample_seconds": round(made.seconds, 2)}


def generated_report(engine: Engine, events: int = STRETCH_EVENTS, seed: int = QUALITY_SEED,
                     sampling_config: SamplingConfig | None = None, progress: Say | None = None,
                     sampling_seeds: Sequence[int] | None = None, fugues: int | None = None,
                     compare_engine: Engine | None = None,
                     form: FormConfig = FormConfig(entries=False, close=False),
                     stretch_length: bool = False) -> dict[str, Any]:
    """Generate from each fugue and measure the rows (module docstring).

    ``engine``: the model measured; ``compare_engine``: a second spelled model measured
    beside it under the same seeds and settings; ``sampling_seeds``: the random seeds of
    the generations (the first is the headline; default ``sampling_config.seed``, else
    ``seed``); ``seed`` seeds the classifier; ``fugues``: generate from the first
    ``fugues`` fugues only (the real rows always use all 48); ``form``: what the takes are
    held to (:class:`~bachgen.config.FormConfig`; a close needs a length in bars);
    ``stretch_length``: each take as many bars as its fugue's real stretch (:func:`stretch_bars`).
    """
    say = progress or (lambda message: None)
    config = sampling_config or SamplingConfig(events=events, seed=seed)
    seeds = list(sampling_seeds or [config.seed if config.seed is not None else seed])
    started = time.perf_counter()
    pieces = dict(engine.corpus_pieces())
    say("real stretches, as written and through the spelled codec")
    real, rows = real_rows(pieces, engine.codec, seed, config.events)
    say("the critic: Book II against Book I")
    counts, rows["real_vs_real"]["critic"] = real_critic(pieces, seed, config.events)
    chosen = list(pieces)[:fugues] if fugues else list(pieces)
    stretches = {f: stretch(pieces[f], FIRST_EVENT, config.events) for f in chosen}
    generated: dict[str, Any] = {}
    for key, model in (("generated", engine), ("generated_compare", compare_engine)):
        if model is not None:
            lengths = [stretch_bars(pieces[f], config.events) for f in chosen] if stretch_length else None
            rows[key], generated[key] = model_row(model, config, chosen, real, seeds, seed, say, stretches,
                                                  form, lengths, counts)
    say("copied runs of the real fugues against one another")
    real_runs = engine_copy_runs(engine, config)
    for b, f in enumerate(chosen):
        generated["generated"]["pieces"][b]["real_longest_copied_run"] = real_runs[list(pieces).index(f)]
    generated["real_vs_real_copied_run_median"] = float(stats.median(real_runs))
    generated["real_vs_real_copied_run_max"] = int(max(real_runs))
    sample_seconds = sum(s["sample_seconds"] for key in ("generated", "generated_compare")
                         for s in rows.get(key, {}).get("sampling_seeds", []))
    return {
        "settings": {"events": config.events, "seed_events": FIRST_EVENT, "sampling_seeds": seeds,
                     "fugues": len(chosen), "stretch": [FIRST_EVENT, FIRST_EVENT + config.events - 1],
                     "classifier": f"logistic regression, {FOLDS}-fold x {REPEATS}, seed {seed}",
                     "critic": f"{describe()}, seed {seed}"},
        "band": {name: list(b) for name, b in bands(real).items()},
        "form": real_form(pieces, config.events, say),
        "rows": rows,
        "generated": generated,
        "seconds": {"sample": round(sample_seconds, 2), "total": round(time.perf_counter() - started, 2)},
    }
