"""The piano reduction: chordifying into events, the round trip back to notes, cleaning, options."""

import pytest

from bachgen import reduction
from bachgen.config import ReductionConfig
from bachgen.errors import ConfigError
from bachgen.events import Event
from bachgen.reduction import chordify, events_to_piece, normalise, quantise
from tests.conftest import make_piece

Q = 48  # ticks per quarter


def _notes(piece):
    return sorted((n.start, n.duration, n.pitch) for n in piece.notes)


def _round_trip_ok(piece, config=ReductionConfig()) -> bool:
    """``events_to_piece(chordify(p))`` is ``p``'s quantised piano reduction."""
    return _notes(events_to_piece(chordify(piece, config))) == _notes(normalise(quantise(piece, config.grid)))


def test_a_held_bass_is_not_struck_again():
    # C3 for a half note under two quarter notes E4, G4
    piece = make_piece((0, 2 * Q, 48, 0), (0, Q, 64, 1), (Q, Q, 67, 1))
    assert chordify(piece) == [Event(0, Q, (48, 64), ()), Event(Q, Q, (67,), (48,))]


def test_silence_is_an_event_too():
    piece = make_piece((0, Q, 60), (2 * Q, Q, 62))
    assert chordify(piece) == [Event(0, Q, (60,), ()), Event(Q, Q, (), ()), Event(2 * Q, Q, (62,), ())]


def test_an_event_changes_where_a_voice_stops():
    # both struck together, the upper one stops after an eighth
    piece = make_piece((0, Q, 48), (0, Q // 2, 72))
    assert chordify(piece) == [Event(0, Q // 2, (48, 72), ()), Event(Q // 2, Q // 2, (), (48,))]


def test_long_events_are_split_into_held_continuations():
    piece = make_piece((0, 12 * Q, 60))
    assert chordify(piece, ReductionConfig(max_event_quarters=8)) == [
        Event(0, 8 * Q, (60,), ()), Event(8 * Q, 4 * Q, (), (60,))]


@pytest.mark.parametrize("notes", [
    [(0, 96, 48), (0, 48, 64), (48, 48, 67)],
    [(0, 48, 60), (96, 48, 62)],
    [(0, 16, 60), (16, 16, 62), (32, 16, 64), (0, 48, 36)],   # triplets over a held bass
    [(0, 48, 60, 0), (0, 96, 60, 1)],                          # unison in two voices
    [(0, 96, 60, 0), (48, 48, 60, 1)],                         # a key struck while it sounds
    [(0, 12 * Q, 60), (Q, Q, 64)],                             # an event longer than the longest
])
def test_round_trip_on_small_pieces(notes):
    assert _round_trip_ok(make_piece(*notes))


def test_normalise_merges_unisons_and_cuts_restruck_keys():
    piece = normalise(make_piece((0, 96, 60, 0), (48, 96, 60, 1), (0, 48, 64, 0), (0, 24, 64, 1)))
    assert [(n.start, n.duration, n.pitch) for n in piece.notes] == [
        (0, 48, 60), (0, 48, 64), (48, 96, 60)]


def test_quantise_counts_what_it_moves_and_drops():
    report = reduction.CleanReport()
    piece = quantise(make_piece((1, 47, 60), (50, 1, 62), (0, 48, 10)), 6, report)
    assert [(n.start, n.duration) for n in piece.notes] == [(0, 48)]
    assert (report.moved, report.dropped) == (2, 2)


def test_note_count_counts_the_quantised_reduction():
    piece = make_piece((0, 96, 60, 0), (48, 96, 60, 1), (0, 48, 64), (50, 1, 62))
    assert reduction.note_count(piece, 6) == 3


def test_events_to_piece_lays_events_end_to_end():
    events = [Event(96, 48, (60,), ()), Event(144, 24, (), ()), Event(168, 24, (62, 65), ())]
    piece = events_to_piece(events)
    assert _notes(piece) == [(96, 48, 60), (168, 24, 62), (168, 24, 65)]


def test_a_held_pitch_with_nothing_to_extend_is_struck():
    piece = events_to_piece([Event(0, 48, (), (60,)), Event(48, 48, (), (60,))])
    assert _notes(piece) == [(0, 96, 60)]


@pytest.mark.parametrize("option, match", [({"grid": 0}, "grid"), ({"max_event_quarters": 0}, "max_event_quarters")])
def test_a_bad_option_is_a_config_error(option, match):
    with pytest.raises(ConfigError, match=match):
        ReductionConfig(**option)


# --------------------------------------------------------------------------- the real corpus


def test_all_48_fugues_round_trip_with_no_failures(corpus_pieces):
    assert len(corpus_pieces) == 48
    failed = [p.name for p in corpus_pieces if not _round_trip_ok(p)]
    assert failed == []
    assert sum(len(chordify(p)) for p in corpus_pieces) > 25_000
