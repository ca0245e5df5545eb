"""A take's opening, told while the rest is drawn (:func:`bachgen.pipeline.compose`'s ``early``):
what the listener hears first is what the finished take holds there, guards and plans included."""

from __future__ import annotations

import io
import threading

import numpy as np
import pretty_midi
import pytest

from bachgen.config import FormConfig, RenderConfig, SamplingConfig
from bachgen.guards import EventWatch, LoopRule
from bachgen.pipeline import EARLY_EVENTS, ComposeSettings, Opening, SeedSpec, compose
from bachgen.rows import SampleSettings, TakeRows, seed_row
from bachgen.sampling import sample_takes
from bachgen.serving import DrawQueue
from bachgen.step import RowStableStep

QUIET = RenderConfig(audio=False, score=False, pianoroll=False)


def opened(engine, settings: ComposeSettings):
    """The composition and every opening told on the way, with the thread it was told on."""
    told: list[tuple[Opening, int]] = []
    made = compose(settings, engine, early=lambda o: told.append((o, threading.get_ident())))
    return made, told


def starts(piece, until: int | None = None) -> list[tuple[int, int]]:
    return sorted((n.start, n.pitch) for n in piece.notes if until is None or n.start <= until)


@pytest.mark.parametrize("fugue, seed, include_seed", [
    ("wtc1f02", 7, False), ("wtc1f02", 8, True), ("wtc2f09", 3, False), ("wtc1f10", 11, True),
    ("wtc1f01", 5, False),
])
def test_the_opening_is_the_start_of_the_finished_take(engine, fugue, seed, include_seed):
    """Its notes are the take's notes up to its last start, each voice on the same keys;
    it is told once, on the caller's thread, and its MIDI file holds those notes."""
    render = RenderConfig(audio=False, score=False, pianoroll=False, include_seed=include_seed)
    settings = ComposeSettings(SeedSpec(fugue=fugue, start_bar=1), SamplingConfig(events=120, seed=seed), render)
    made, told = opened(engine, settings)
    assert len(told) == 1 and told[0][1] == threading.get_ident()
    opening = told[0][0]
    last = max(n.start for n in opening.piece.notes)
    assert starts(opening.piece) == starts(made.piece, last)
    assert opening.piece.key == made.piece.key
    midi = pretty_midi.PrettyMIDI(io.BytesIO(opening.midi))
    assert sum(len(i.notes) for i in midi.instruments) == len(opening.piece.notes)


@pytest.fixture(scope="module")
def shipped(corpus_config):
    """The shipped network: it loops when drawn cold, which the tiny one does not."""
    from bachgen.pipeline import load_engine
    from tests.app_support import shipped_model_dir

    return load_engine(shipped_model_dir(), corpus_config)


@pytest.mark.parametrize("temperature", [0.05, 0.5])
def test_the_opening_holds_through_guards_sending_events_back(shipped, corpus_pieces, temperature):
    """With loops taken back often (the shipped network, cold, a tight loop rule, a long
    budget), the ids told early are still the start of the ids drawn: only events before a
    row's oldest rewind mark are told."""
    codec, step = shipped.codec, RowStableStep(shipped.step)
    pieces = {p.name: p for p in corpus_pieces}
    told: dict[int, list[int]] = {}
    takes = []
    for i, (fugue, at) in enumerate([("wtc1f02", 0), ("wtc2f09", 40), ("wtc1f10", 10)]):
        row, moved = seed_row(codec, pieces[fugue], 50, at)
        watch = EventWatch([codec.events(row.ids, row.start)], LoopRule(4, 2, 4), None, 200)
        takes.append(TakeRows([row], 90, SampleSettings(temperature, 0, 1.0), np.random.default_rng(i), [moved],
                              watch, early=EARLY_EVENTS))
    result = sample_takes(step, codec, takes, on_early=lambda i, ids: told.setdefault(i, ids))
    assert sum(t.watch.loops_taken_back[0] for t in takes) > 0  # the guards did send events back
    assert sorted(told) == [0, 1, 2]
    for i, ids in told.items():
        assert result[i][0][:len(ids)] == ids
        assert len(codec.events(ids)) >= EARLY_EVENTS


@pytest.mark.parametrize("case, settings", [
    ("several candidates", ComposeSettings(SeedSpec(fugue="wtc1f02"), SamplingConfig(events=60, seed=1, candidates=2),
                                           QUIET)),
    *[(f"snapped ({snap}: by the whole take)",
       ComposeSettings(SeedSpec(fugue="wtc1f02"), SamplingConfig(events=60, seed=1), RenderConfig(
           audio=False, score=False, pianoroll=False, snap=snap))) for snap in ("c-major", "to-c")],
    ("shorter than an opening", ComposeSettings(SeedSpec(fugue="wtc1f02"),
                                                SamplingConfig(events=EARLY_EVENTS - 4, seed=1), QUIET,
                                                FormConfig(entries=False, close=False))),
])
def test_no_opening_where_it_cannot_be_known_before_the_end(engine, case, settings):
    made, told = opened(engine, settings)
    assert told == [] and made.piece.notes


def test_an_opening_is_the_same_music_as_without_one(engine):
    settings = ComposeSettings(SeedSpec(fugue="wtc1f02"), SamplingConfig(events=80, seed=4), QUIET)
    assert opened(engine, settings)[0].midi == compose(settings, engine).midi


def test_the_queue_hands_early_parts_to_the_asking_thread_before_the_result():
    seen: list[tuple[str, object, int]] = []

    def run(takes, done, joiners, early):
        early(0, "opening")
        done(0, "whole")

    queue = DrawQueue(run)
    served = queue.draw("take", lambda part: seen.append(("early", part, threading.get_ident())))
    assert seen == [("early", "opening", threading.get_ident())] and served.result == "whole"
    assert queue.draw("again").result == "whole"  # without on_early, parts are not kept
