"""The split by piece: fixed held-out and validation fugues, every piece in exactly one part."""

from __future__ import annotations

import pytest

from bachgen import catalog
from bachgen.errors import CorpusError
from bachgen.splits import HELD_OUT, VALIDATION, piece_mode, split_pieces
from tests.conftest import make_piece

FUGUES = {f.id: f for f in catalog.FUGUES}


def scale_piece(name: str, key: str, base: int, length: int = 40):
    """A little line of eighth notes named like a fugue of the catalogue."""
    steps = [0, 2, 4, 5, 7, 9, 11, 12, 11, 9, 7, 5, 4, 2]
    notes = [(i * 24, 24, base + steps[i % len(steps)]) for i in range(length)]
    return make_piece(*notes, name=name, key=key)


def catalogue_pieces():
    return [scale_piece(f.id, f.key, 48 + i % 24) for i, f in enumerate(catalog.FUGUES)]


# --------------------------------------------------------------------------- split


def test_held_out_fugues_are_fixed_three_per_book_and_both_modes():
    assert HELD_OUT == ("wtc1f05", "wtc1f12", "wtc1f21", "wtc2f02", "wtc2f09", "wtc2f16")
    assert sorted(FUGUES[i].book for i in HELD_OUT) == [1, 1, 1, 2, 2, 2]
    assert sorted(FUGUES[i].mode for i in HELD_OUT) == ["major"] * 3 + ["minor"] * 3
    assert not set(HELD_OUT) & set(VALIDATION)
    assert {FUGUES[i].mode for i in VALIDATION} == {"major", "minor"}


def test_split_is_by_whole_piece_and_the_same_every_time():
    pieces = catalogue_pieces()
    first, second = split_pieces(pieces), split_pieces(list(reversed(pieces)))
    for split in (first, second):
        assert sorted(p.name for p in split.test) == sorted(HELD_OUT)
        assert sorted(p.name for p in split.validation) == sorted(VALIDATION)
        names = [p.name for p in (*split.train, *split.validation, *split.test)]
        assert sorted(names) == sorted(FUGUES)  # every piece in exactly one part
    assert [p.name for p in first.train] == sorted(p.name for p in second.train)


def test_split_by_mode_keeps_only_that_mode():
    split = split_pieces(catalogue_pieces(), mode="minor")
    parts = (*split.train, *split.validation, *split.test)
    assert parts and all(piece_mode(p) == "minor" for p in parts)
    assert sorted(p.name for p in split.test) == sorted(i for i in HELD_OUT if FUGUES[i].mode == "minor")


def test_split_refuses_a_missing_held_out_piece():
    pieces = [p for p in catalogue_pieces() if p.name != HELD_OUT[0]]
    with pytest.raises(CorpusError, match=HELD_OUT[0]):
        split_pieces(pieces)


def test_split_refuses_an_unknown_mode_and_an_overlap():
    with pytest.raises(CorpusError, match="mode"):
        split_pieces(catalogue_pieces(), mode="dorian")
    with pytest.raises(CorpusError, match="both held out"):
        split_pieces(catalogue_pieces(), held_out=HELD_OUT, validation=(HELD_OUT[0],))
