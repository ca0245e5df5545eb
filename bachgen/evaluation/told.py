"""A bundle's generations with its key told as it was trained, measured as one set.

The app and ``bachgen evaluate --generated`` draw through :mod:`bachgen.pipeline`, which
tells the network the seed's key as it is. A study variant may have been trained with
less (``key_told`` ``"mode"`` or ``"none"``, :attr:`bachgen.codec.SpelledCodec.key_told`):
:func:`told_generations` tells each row's key the way its codec does, so each network is
sampled as it was trained. :func:`measure_generations` gives the yardstick's row of such
generations (loops, copied runs, statistics against the real stretches), so generations of
several models (one per mode) can be measured as one set. ``bachgen studies measure``
reports :func:`measure_bundle`.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Sequence

import numpy as np

from ..bundle import can_step, require_step
from ..codec import SpelledCodec
from ..errors import ConfigError
from ..events import Piece
from ..guards import CopyIndex, find_loops
from ..pipeline import event_ids
from ..reduction import chordify
from ..rows import Generation, SampleSettings, assemble, seed_row
from ..sampling import sample_ids
from ..step import load_step
from .heldout import held_out_report
from .statistics import piece_statistics, stretch
from .yardstick import generated_row


def parse_sampling(text: str) -> SampleSettings:
    """``"TEMPERATURE:TOP_P:TOP_K[:LOW:HIGH]"`` (e.g. ``"1.0:0.98:0:36:84"``) as sampling
    settings; the last two give the compass."""
    try:
        t, p, k, *compass = text.split(":")
        bounds = (int(compass[0]), int(compass[1])) if compass else None
        return SampleSettings(float(t), int(k), float(p), bounds)
    except (ValueError, IndexError) as exc:
        raise ConfigError(f"Sampling settings are TEMPERATURE:TOP_P:TOP_K[:LOW:HIGH], not {text!r}.") from exc


def corpus_copy_index(pieces: Sequence[Piece]) -> CopyIndex:
    """A measuring-only :class:`~bachgen.guards.CopyIndex` over the fugues' events."""
    return CopyIndex([chordify(p) for p in pieces], limit=0, names=[p.name for p in pieces])


def real_stretch_statistics(pieces: Sequence[Piece]) -> list[dict[str, float]]:
    """Statistics of the real stretches (events 50..449 of each fugue), cut as the yardstick cuts them."""
    return [piece_statistics(stretch(p)) for p in pieces]


def told_generations(bundle: Any, pieces: Sequence[Piece], events: int, seed_events: int,
                     settings: SampleSettings, seed: int, step: Any = None) -> list[Generation]:
    """One generation per piece from its first ``seed_events`` events, all in one batch, each
    row's key condition as the codec tells it (:meth:`~bachgen.codec.SpelledCodec.told_key`).

    For a ``key_told`` ``"key"`` codec the rows, draws and music are those of an untold draw."""
    require_step(bundle)
    codec = bundle.codec
    step = step or load_step(bundle)
    made = [seed_row(codec, p, seed_events, 0) for p in pieces]
    rows = [replace(r, key=codec.told_key(r.key)) for r, _ in made]
    new = sample_ids(step, codec, rows, events, settings, np.random.default_rng(seed), [m for _, m in made])
    return [Generation(assemble(codec, r, ids, m, p, False), tuple(ids), r, m)
            for r, (_, m), ids, p in zip(rows, made, new, pieces)]


def measure_generations(made: Sequence[Generation], codec: SpelledCodec, real: Sequence[dict[str, float]],
                        index: CopyIndex, settings: SampleSettings, seed: int, events: int, seed_events: int,
                        seconds: float) -> dict[str, Any]:
    """The yardstick's row of generations (:func:`~.yardstick.generated_row`: loops, copied
    runs, statistics against ``real``) with the settings they were drawn with."""
    stuck, copied = [], []
    for g in made:
        drawn = codec.events(g.new_ids)
        stuck.append(find_loops(event_ids(drawn)) > 0)
        copied.append(index.longest_run(drawn))
    row = generated_row([g.piece for g in made], real, stuck, copied)
    row["settings"] = {"temperature": settings.temperature, "top_k": settings.top_k,
                       "top_p": settings.top_p, "compass": settings.compass, "seed": seed,
                       "events": events, "seed_events": seed_events}
    row["sample_seconds"] = round(seconds, 2)
    row["tokens"] = int(sum(len(g.new_ids) for g in made))
    return row


def told_report(bundle: Any, pieces: Sequence[Piece], settings: SampleSettings, seed: int,
                real: Sequence[dict[str, float]], index: CopyIndex, events: int = 400,
                seed_events: int = 50, step: Any = None) -> dict[str, Any]:
    """One generation per piece (seed: its first ``seed_events`` events), measured against ``real``."""
    started = time.perf_counter()
    made = told_generations(bundle, pieces, events, seed_events, settings, seed, step)
    return measure_generations(made, bundle.codec, real, index, settings, seed, events, seed_events,
                               time.perf_counter() - started)


def summary_line(row: dict[str, Any]) -> str:
    """One line: settings, pieces inside every band, classifier accuracy, stuck, copied runs, medians."""
    s, st = row["settings"], row["statistics"]
    acc = row["classifier"].get("accuracy", row["classifier"])
    medians = " ".join(f"{k}={st[k]['median']:.3g}/{st[k]['real_median']:.3g}({st[k]['inside']})"
                       for k in st)
    return (f"T={s['temperature']} top_p={s['top_p']} top_k={s['top_k']} compass={s['compass']} "
            f"seed={s['seed']}: "
            f"inside {row['all_inside']}/{row['pieces']}, classifier {acc}, stuck {row.get('stuck')}, "
            f"copied median {row.get('longest_copied_run_median')} max {row.get('longest_copied_run_max')} | "
            f"{medians}")


def measure_bundle(bundle: Any, pieces: Sequence[Piece], settings: Sequence[SampleSettings],
                   seeds: Sequence[int], held_out_order: int | None = None, heldout: bool = False,
                   say: Any = None) -> dict[str, Any]:
    """A bundle's held-out report (with ``heldout``; the n-gram of ``held_out_order`` beside it
    when given) and its told generations under every setting and seed. A network the NumPy
    step cannot run is measured by held-out bits only. ``say(line)`` hears each result."""
    say = say or (lambda line: None)
    result: dict[str, Any] = {}
    if heldout:
        result["held_out"] = held_out_report(bundle, pieces, held_out_order)
        say("held out: " + ", ".join(f"{k} {v['pooled']['bits_per_note']:.4f} bits/note"
                                     for k, v in result["held_out"].items()))
    if not can_step(bundle) and heldout:
        say(f"not sampled: the {bundle.net.arch!r} network has no step engine")
        settings = []
    elif settings:
        require_step(bundle)
    real, index = real_stretch_statistics(pieces), corpus_copy_index(pieces)
    step = load_step(bundle) if settings else None
    result["generated"] = []
    for chosen in settings:
        for seed in seeds:
            row = told_report(bundle, pieces, chosen, seed, real, index, step=step)
            result["generated"].append(row)
            say(summary_line(row))
    return result
