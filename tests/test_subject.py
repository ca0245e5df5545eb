"""The subject and its entries: where a fugue's opening line comes back, in any voice and key."""

from __future__ import annotations

import pytest

from bachgen.events import Note, Piece
from bachgen.subject import (
    Subject,
    find_entries,
    opening_line,
    per_ten_bars,
    subject_of,
)

from .conftest import make_piece

Q = 48  # a quarter note in ticks
#: A seven-note subject in C minor (c b c g a- c b), eighths and quarters, from tick 0.
LINE = ((0, 24, 72), (24, 24, 71), (48, 48, 72), (96, 48, 67), (144, 24, 68), (168, 24, 72), (192, 48, 71))


def subject() -> Subject:
    return Subject(tuple(Note(s, d, p) for s, d, p in LINE), 0, "c", "a test")


def moved(at: int, by: int, voice: int = 1, bend: dict[int, int] | None = None) -> list[tuple[int, int, int, int]]:
    """The subject's notes from tick ``at``, moved by ``by`` semitones (note ``i`` bent by ``bend[i]``)."""
    bend = bend or {}
    return [(at + s, d, p + by + bend.get(i, 0), voice) for i, (s, d, p) in enumerate(LINE)]


def test_a_fugues_subject_is_its_first_voice_until_the_second_enters():
    piece = make_piece(*moved(0, 0, voice=2), *moved(4 * Q * 2, 7, voice=1), key="c")
    found = subject_of(piece, "two voices")
    assert [n.pitch for n in found.notes] == [p for _, _, p in LINE]
    assert found.notes[0].start == 0 and found.key == "c" and found.source == "two voices"


def test_a_piece_in_one_voice_has_no_fugue_subject_but_an_opening_line():
    piece = make_piece(*moved(0, 0, voice=0), (480, 96, 48, 0), (480, 96, 60, 0))
    assert subject_of(piece) is None
    line = opening_line(piece)
    assert line is not None and len(line.notes) == len(LINE)


def test_a_file_that_opens_with_a_chord_has_no_opening_line():
    assert opening_line(make_piece((0, 48, 60), (0, 48, 64), (48, 48, 67))) is None


@pytest.mark.parametrize("by, bend", [(0, {}), (7, {}), (-12, {}), (5, {3: -1}), (7, {2: 1, 6: -1})])
def test_entries_are_found_at_any_level_and_with_steps_bent_by_a_semitone(by, bend):
    piece = make_piece(*moved(0, 0, 0), *moved(960, by, 1, bend), (960, 96, 40, 2))
    entries = find_entries(piece, subject(), start=1)
    assert [(e.start, e.level) for e in entries] == [(960, by)]


@pytest.mark.parametrize("change", ["rhythm", "contour", "two semitones"])
def test_a_line_that_differs_is_not_an_entry(change):
    notes = moved(0, 5, 1)
    if change == "rhythm":
        notes[2] = (notes[2][0] + 12, *notes[2][1:])
    elif change == "contour":
        notes[3] = (notes[3][0], notes[3][1], notes[2][2] + 1, 1)  # up where the subject falls
    else:
        notes[4] = (notes[4][0], notes[4][1], notes[4][2] + 2, 1)
    assert find_entries(make_piece(*notes), subject()) == []


def test_entries_are_named_by_voice_and_key():
    piece = make_piece(*moved(0, 0, 1), *moved(960, -12, 0), *moved(1920, 3, 2),
                       (960, 480, 76, 2), (0, 960, 48, 0), key="c")
    entries = find_entries(piece, subject())
    assert [e.voice_name for e in entries] == ["alto", "bass", "soprano"]
    assert [e.key_name("c") for e in entries] == ["c", "c", "E-"]
    assert entries[2].to_dict("c", 192) == {"start": 1920, "level": 3, "voice": "soprano", "key": "E-",
                                            "pitches": [p + 3 for _, _, p in LINE], "bar": 11}


def test_a_subject_round_trips_through_a_dict():
    s = Subject(subject().notes, 24, "c", "a test")
    assert Subject.from_dict(s.to_dict()) == s


def test_a_file_s_own_subject_is_the_one_a_take_carries_else_its_first_voice_else_its_opening_line():
    from bachgen.subject import own_subject

    fugue = make_piece(*moved(0, 0, voice=1), *moved(960, 7, voice=0), key="c")
    assert [n.pitch for n in own_subject(fugue, "f").notes] == [p for _, _, p in LINE]
    line = make_piece(*moved(0, 0, voice=0), (480, 96, 48, 0), (480, 96, 60, 0))
    assert len(own_subject(line, "l").notes) == len(LINE)
    carried = Piece(line.notes, meta={"form": {"subject": subject().to_dict(), "close_bars": 2}})
    assert own_subject(carried, "t") == subject()
    assert own_subject(Piece(line.notes, meta={"form": {"subject": None, "close_bars": 0}}), "t") is None


def test_rate_per_ten_bars():
    assert per_ten_bars([object()] * 2, 192 * 20, 192) == pytest.approx(1.0)
    assert per_ten_bars([], 0, 192) == 0.0


def test_book_one_fugue_two_brings_its_subject_back_where_bach_wrote_it(corpus_pieces):
    """The real fugue: the entries the matcher finds are the ones a listener hears (bass in bar 7,
    soprano in E-flat major in bar 11, soprano in bar 20, bass in bar 26)."""
    piece = next(p for p in corpus_pieces if p.name == "wtc1f02")
    s = subject_of(piece)
    assert s is not None and s.matchable and s.key == piece.key
    entries = find_entries(piece, s, start=1)
    found = [(e.start // piece.bar_ticks + 1, e.voice_name, e.key_name(s.key)) for e in entries]
    assert {(7, "bass", "c"), (11, "soprano", "E-"), (20, "soprano", "c"), (26, "bass", "c")} <= set(found)
