"""Pieces, keys and transposition on tiny examples."""

import pytest

from bachgen.events import RESOLUTION, Note, Piece, key_is_minor, pitch_name, shift_to_common_key, transpose_key_name
from tests.conftest import make_piece


@pytest.mark.parametrize("key, shift", [
    ("C", 0), ("G", 5), ("F", -5), ("F#", 6 - 12), ("E-", -3), ("a", 0), ("c", -3), ("b-", -1),
    ("c#", -4), ("g#", 1),
])
def test_shift_to_common_key_lands_on_c_major_or_a_minor(key, shift):
    assert shift_to_common_key(key) == shift
    assert transpose_key_name(key, shift) == ("a" if key_is_minor(key) else "C")
    assert -6 <= shift <= 5


@pytest.mark.parametrize("pitch, name", [(60, "C4"), (21, "A0"), (108, "C8"), (70, "Bb4")])
def test_pitch_names(pitch, name):
    assert pitch_name(pitch) == name


def test_piece_sorts_notes_and_round_trips_through_a_dict():
    piece = make_piece((48, 24, 64), (0, 48, 60, 1), key="C", name="tiny")
    assert [n.start for n in piece.notes] == [0, 48]
    assert piece.end == 72
    assert Piece.from_dict(piece.to_dict()) == piece


def test_transpose_moves_pitches_and_key():
    moved = make_piece((0, 48, 60), key="d").transpose(-5)
    assert [n.pitch for n in moved.notes] == [55]
    assert moved.key == "a"


@pytest.mark.parametrize("ends, signature, bars", [
    ((), (4, 4), 1),                    # empty: one bar to start in
    ((1,), (4, 4), 1),
    ((4,), (4, 4), 1),                  # a whole bar exactly
    ((4, 5), (4, 4), 2),                # a quarter into the second bar
    ((9,), (3, 4), 3),
    ((6,), (6, 8), 2),
])
def test_bars_counts_the_bars_a_piece_reaches(ends, signature, bars):
    """``Piece.bars``: every bar a note sounds in, from tick 0 (at least one)."""
    notes = tuple(Note(0, quarters * RESOLUTION, 60) for quarters in ends)
    assert Piece(notes, time_signature=signature).bars == bars
