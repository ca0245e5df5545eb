"""Shaping a take: continue it, or keep its first bars and write the rest again."""

from __future__ import annotations

import pytest

from bachgen.config import RenderConfig, SamplingConfig
from bachgen.errors import ConfigError
from bachgen.pipeline import ComposeSettings, SeedSpec, compose, load_engine

QUIET = RenderConfig(audio=False, score=False)


@pytest.fixture(scope="module")
def engine(corpus_config):
    return load_engine(None, corpus_config)  # the shipped model: a take sounds like one


@pytest.fixture(scope="module")
def take(engine):
    return compose(ComposeSettings(SeedSpec(fugue="wtc1f02"), SamplingConfig(events=120, seed=3), QUIET), engine)


def shaped(engine, take, seed: int = 5, events: int = 60, **how):
    spec = SeedSpec(fugue=None, file_bytes=take.midi, file_name="take.mid", **how)
    return compose(ComposeSettings(spec, SamplingConfig(events=events, seed=seed), QUIET), engine)


def before(piece, tick):
    """The notes as they sound before ``tick`` (a note held on past it is cut there)."""
    return sorted((n.start, min(n.end, tick) - n.start, n.pitch) for n in piece.notes if n.start < tick)


def test_continuing_keeps_the_whole_take_and_adds_the_events_asked_for(engine, take):
    more = shaped(engine, take, continue_take=True)
    end = take.piece.end
    assert before(more.piece, end) == before(take.piece, end)
    assert more.seed_end_tick == end and more.stats["events"] == 60
    assert any(n.start >= end for n in more.piece.notes)
    assert "continued" in more.stats["seed_source"]


@pytest.mark.parametrize("bars", [1, 4, 8])
def test_keeping_bars_keeps_them_note_for_note_and_writes_new_music_after(engine, take, bars):
    cut = bars * take.piece.bar_ticks
    again = shaped(engine, take, keep_bars=bars)
    assert before(again.piece, cut) == before(take.piece, cut)
    assert again.seed_end_tick == cut
    assert before(again.piece, again.piece.end) != before(take.piece, take.piece.end)


def test_the_same_random_seed_shapes_the_same_music(engine, take):
    assert shaped(engine, take, seed=9, keep_bars=4).midi == shaped(engine, take, seed=9, keep_bars=4).midi
    assert shaped(engine, take, seed=9, keep_bars=4).midi != shaped(engine, take, seed=10, keep_bars=4).midi


@pytest.mark.parametrize("how, message", [
    ({"keep_bars": 0}, "at least 1"),
    ({"keep_bars": 3, "continue_take": True}, "not both"),
])
def test_impossible_requests_are_named(how, message):
    with pytest.raises(ConfigError, match=message):
        SeedSpec(fugue=None, file_bytes=b"x", **how)
    with pytest.raises(ConfigError, match="file"):
        SeedSpec(fugue=None, continue_take=True)


def test_keeping_more_bars_than_the_take_has_is_refused_with_its_length(engine, take):
    with pytest.raises(ConfigError, match="bars 1–"):
        shaped(engine, take, keep_bars=500)
