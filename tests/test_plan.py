"""The plan of a take: entries (when, which voice, which level, tonal answers) and the close."""

from __future__ import annotations

import collections
import statistics

import numpy as np
import pytest

from bachgen.config import FormConfig
from bachgen.events import Note
from bachgen.plan import (
    GAP_BARS,
    LEVEL_WEIGHTS,
    Span,
    draw_levels,
    draw_voices,
    entry_pitches,
    placed,
    plan_close,
    plan_take,
)
from bachgen.subject import Subject, find_entries, subject_of

BAR = 192
C_MINOR_LINE = (72, 71, 72, 67, 68, 72, 71)


def subject(pitches=C_MINOR_LINE, key="c", offset=24) -> Subject:
    return Subject(tuple(Note(i * 24, 24, p) for i, p in enumerate(pitches)), offset, key, "a test")


def span(**changes) -> Span:
    values = dict(start=BAR * 4 + 96, end=BAR * 24, horizon=BAR * 24, bar=BAR, tonic=0, minor=True, voices=3)
    values.update(changes)
    return Span(**values)


@pytest.mark.parametrize("line, answer, moved", [
    ((60, 67, 65, 64, 62), "tonal", (67, 72, 72, 71, 69)),   # c g …: the dominant answered by the tonic
    ((67, 60, 62, 64, 65), "tonal", (72, 67, 69, 71, 72)),
    ((60, 62, 64, 65, 67), "real", (67, 69, 71, 72, 74)),    # no dominant in the head's opening
])
def test_the_answer_at_the_dominant_is_tonal_where_the_head_moves_between_tonic_and_dominant(line, answer, moved):
    pitches, kind = entry_pitches(line, 7, tonic=0)
    assert (kind, tuple(pitches)) == (answer, moved)


def test_other_levels_move_the_subject_as_it_is():
    assert entry_pitches((60, 67), 0, 0) == ([60, 67], "subject")
    assert entry_pitches((60, 67), 5, 0) == ([65, 72], "real")


@pytest.mark.parametrize("seed", range(5))
def test_levels_change_from_entry_to_entry_and_the_last_is_home(seed):
    levels = draw_levels(6, (0, 7, 5, 9, 3), minor=True, rng=np.random.default_rng(seed))
    assert levels[-1] == 0
    assert all(a != b for a, b in zip(levels, levels[1:]))
    assert {lv % 12 for lv in levels} <= {0, 7, 5, 9, 3}


@pytest.mark.parametrize("voices", [2, 3, 4, 5])
def test_voices_take_turns(voices):
    order = draw_voices(8, voices, np.random.default_rng(1))
    assert all(a != b for a, b in zip(order, order[1:]))
    assert set(order[:voices]) == set(range(voices))


def test_an_entry_sits_in_its_voice_s_register_inside_the_compass():
    s = span(compass=(36, 84))
    bass, soprano = placed(C_MINOR_LINE, 0, s), placed(C_MINOR_LINE, 2, s)
    assert bass[0] % 12 == soprano[0] % 12 == 0
    assert bass[0] < 55 < soprano[0] and min(bass) >= 36 and max(soprano) <= 84


def test_the_close_brings_the_bass_from_the_dominant_to_a_tonic_chord_on_the_last_downbeat():
    close = plan_close(span(tonic=2, minor=False))
    assert close.start == 23 * BAR and close.end == 24 * BAR
    assert close.dominant.start == close.start - BAR // 2 and close.dominant.end == close.start
    assert close.tonic % 12 == 2 and close.dominant.pitch % 12 == 9
    assert close.chord == frozenset({2, 5, 6, 9})


def test_a_plan_places_entries_at_the_subject_s_bar_position_one_after_another_before_the_close():
    plan = plan_take(subject(), span(), FormConfig(), np.random.default_rng(7))
    assert plan.close is not None and len(plan.entries) >= 2
    assert all(e.start % BAR == 24 and e.start >= span().start for e in plan.entries)
    assert all(a.end < b.start for a, b in zip(plan.entries, plan.entries[1:]))
    assert plan.entries[-1].end <= plan.close.dominant.start
    assert plan == plan_take(subject(), span(), FormConfig(), np.random.default_rng(7))


def test_no_subject_no_entries_and_no_end_no_close():
    assert plan_take(None, span(), FormConfig(), np.random.default_rng(0)).entries == ()
    open_span = span(end=None)
    assert plan_take(subject(), open_span, FormConfig(), np.random.default_rng(0)).close is None
    short = subject(C_MINOR_LINE[:4])
    assert plan_take(short, span(), FormConfig(), np.random.default_rng(0)).entries == ()


@pytest.mark.slow
def test_the_plan_s_figures_are_the_48_fugues_own(corpus_pieces):
    """GAP_BARS and LEVEL_WEIGHTS measured again from the corpus with the same matcher."""
    gaps, levels = [], {"major": collections.Counter(), "minor": collections.Counter()}
    for piece in corpus_pieces:
        s = subject_of(piece)
        if not s.matchable:
            continue
        entries = find_entries(piece, s)
        gaps += [(b.start - a.start) / piece.bar_ticks for a, b in zip(entries, entries[1:])]
        for e in entries:
            levels["minor" if piece.key[0].islower() else "major"][e.level % 12] += 1
    assert tuple(round(g, 2) for g in statistics.quantiles(gaps, n=10)) == GAP_BARS
    assert {mode: dict(c) for mode, c in levels.items()} == LEVEL_WEIGHTS


def test_an_entry_sits_in_the_register_of_the_fugue_s_own_voice_when_it_is_known():
    s = span(centres=(45, 58, 74))
    assert placed(C_MINOR_LINE, 2, s)[0] == 72 + 12 * round((74 - sum(C_MINOR_LINE) / 7) / 12)
    assert abs(sum(placed(C_MINOR_LINE, 0, s)) / 7 - 45) <= 6
