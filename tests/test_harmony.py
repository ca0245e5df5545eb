"""Key estimation, snapping to C major and transposing to C on pieces built in code."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bachgen.errors import ConfigError
from bachgen.events import Note, Piece, key_is_minor, key_tonic_pc
from bachgen.harmony import (
    C_MAJOR_PCS, HARMONIC_MINOR_STEPS, MAJOR_STEPS, SNAP_MODES, apply_snap, estimate_key,
    key_name, snap_to_c_major, transpose_to_c,
)
from tests.conftest import make_piece

ALL_KEYS = [key_name(tonic, minor) for minor in (False, True) for tonic in range(12)]


def cadence_piece(key: str) -> Piece:
    """Scale up and down, then a tonic chord: unambiguous for any key."""
    tonic = key_tonic_pc(key)
    steps = HARMONIC_MINOR_STEPS if key_is_minor(key) else MAJOR_STEPS
    base = 60 + tonic - (12 if tonic > 6 else 0)
    notes, t = [], 0
    for step in list(steps) + [12] + list(reversed(steps)):
        notes.append(Note(t, 24, base + step))
        t += 24
    third = 3 if key_is_minor(key) else 4
    notes += [Note(t, 96, base - 12), Note(t, 96, base + third), Note(t, 96, base + 7)]
    return Piece(tuple(notes))


@pytest.mark.parametrize("key", ALL_KEYS)
def test_estimate_key_finds_every_key(key):
    assert estimate_key(cadence_piece(key)) == key


def test_key_names_use_the_events_spelling():
    assert key_name(3, False) == "E-" and key_name(6, True) == "f#" and key_name(10, True) == "b-"


def test_estimate_key_weights_by_duration():
    # A long A-minor triad outweighs many short C-major passing notes in the count
    long_a = [Note(0, 480, 57), Note(0, 480, 60), Note(0, 480, 64), Note(0, 480, 69)]
    short = [Note(i * 2, 2, p) for i, p in enumerate([67, 71, 62, 65, 67, 71] * 3)]
    assert estimate_key(Piece(tuple(long_a))) == "a"
    assert estimate_key(Piece(tuple(long_a + short))) == "a"


def test_empty_piece_is_c():
    assert estimate_key(Piece(())) == "C"


@pytest.mark.parametrize("key, pitch, expected", [
    ("C", 61, 60),    # both neighbours in C major: down
    ("a", 68, 69),    # G# is the leading tone of A (harmonic) minor: up to A
    ("F", 70, 69),    # B- : A is in F major, B is not: down
    ("G", 66, 67),    # F# : G in G major, F not: up
    ("D", 61, 62),    # C# : D in D major, C not: up
    ("E-", 63, 62),   # E- : D is in E- major, E is not: down
    ("B", 70, 71),    # A# : B is in B major, A is not: up
    ("F#", 66, 65),   # F# : F (E#) is in F# major, G is not: down
    ("C", 22, 21),    # lowest black key of the piano goes to A0
])
def test_snap_tie_rule(key, pitch, expected):
    snapped = snap_to_c_major(make_piece((0, 48, pitch), (0, 48, 48)), key=key)
    assert [n.pitch for n in snapped.notes if n.pitch != 48] == [expected]


def test_snap_uses_the_estimated_key_by_default():
    piece = cadence_piece("a").with_notes(list(cadence_piece("a").notes) + [Note(0, 12, 80)])
    assert all(n.pitch % 12 in C_MAJOR_PCS for n in snap_to_c_major(piece).notes)
    assert 81 in [n.pitch for n in snap_to_c_major(piece).notes]  # G#5 up to A5


def test_snap_merges_notes_that_now_coincide_keeping_the_longest():
    piece = make_piece((0, 24, 60, 0), (0, 96, 61, 1), (48, 24, 62))
    snapped = snap_to_c_major(piece, key="C")
    assert [(n.start, n.duration, n.pitch, n.voice) for n in snapped.notes] == [
        (0, 96, 60, 1), (48, 24, 62, 0)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400), st.integers(1, 200), st.integers(21, 108)),
                max_size=40))
def test_snap_leaves_only_white_keys_and_no_unisons(rows):
    piece = Piece(tuple(Note(*row) for row in rows))
    snapped = snap_to_c_major(piece)
    assert all(n.pitch % 12 in C_MAJOR_PCS and 21 <= n.pitch <= 108 for n in snapped.notes)
    slots = [(n.start, n.pitch) for n in snapped.notes]
    assert len(slots) == len(set(slots))
    for note in snapped.notes:  # each comes from a note at most a semitone away
        assert any(o.start == note.start and abs(o.pitch - note.pitch) <= 1 for o in piece.notes)


@pytest.mark.parametrize("key", ALL_KEYS)
def test_transpose_to_c_lands_on_c_major_or_a_minor(key):
    piece = cadence_piece(key)
    moved = transpose_to_c(piece)
    assert moved.key == ("a" if key_is_minor(key) else "C")
    assert estimate_key(moved) == moved.key
    shifts = {b.pitch - a.pitch for a, b in zip(piece.notes, moved.notes)}
    assert len(shifts) == 1 and -6 <= shifts.pop() <= 5  # every interval kept, nearest way


def test_transpose_keeps_notes_on_the_piano_by_octaves():
    piece = make_piece((0, 48, 106), (0, 48, 102), (48, 48, 99), key="F#")  # up 6 semitones
    moved = transpose_to_c(piece, key="F#")
    assert all(21 <= n.pitch <= 108 for n in moved.notes)
    assert sorted(n.pitch % 12 for n in moved.notes) == sorted((p + 6) % 12 for p in (106, 102, 99))


def test_apply_snap_modes():
    piece = cadence_piece("E-")
    assert SNAP_MODES == ("c-major", "to-c", "off")
    assert apply_snap(piece, "off") is piece
    assert apply_snap(piece, "to-c").key == "C"
    assert all(n.pitch % 12 in C_MAJOR_PCS for n in apply_snap(piece, "c-major").notes)
    with pytest.raises(ConfigError, match="c-major, to-c, off"):
        apply_snap(piece, "C major")
