"""The split by piece and the windows: fixed held-out fugues, windows that never cross pieces."""

from __future__ import annotations

import numpy as np
import pytest

from bachgen import catalog
from bachgen.config import TokenConfig
from bachgen.dataset import (HELD_OUT, VALIDATION, make_windows, piece_mode, prepare, split_pieces,
                             to_tf_dataset)
from bachgen.errors import CorpusError
from bachgen.tokens import NearestWords, Vocabulary
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


# --------------------------------------------------------------------------- windows


def test_windows_never_cross_pieces_and_cover_every_position():
    a = np.arange(1, 31)          # piece A: ids 1..30
    b = np.arange(101, 158)       # piece B: ids 101..157
    windows = make_windows([a, b], seq_len=8, stride=5)
    assert windows.shape[1] == 9
    for row in windows:
        assert row.max() <= 30 or row.min() >= 101, row
        assert np.all(np.diff(row) == 1)  # consecutive words of one piece
    covered = {int(v) for row in windows for v in row[1:]}
    assert covered >= set(range(2, 31)) | set(range(102, 158))  # every target position
    assert any(row[-1] == 30 for row in windows) and any(row[-1] == 157 for row in windows)


def test_a_short_piece_gives_one_padded_window():
    windows = make_windows([np.array([5, 6, 7])], seq_len=6, stride=1)
    assert windows.tolist() == [[5, 6, 7, 0, 0, 0, 0]]


def test_stride_sets_window_starts():
    windows = make_windows([np.arange(1, 22)], seq_len=4, stride=4)
    assert [int(r[0]) for r in windows] == [1, 5, 9, 13, 17]


def test_tf_dataset_targets_are_inputs_shifted_by_one():
    windows = make_windows([np.arange(1, 40), np.arange(200, 230)], seq_len=6, stride=3)
    data = to_tf_dataset(windows, batch_size=4, shuffle=True, seed=3)
    seen = 0
    for x, y in data:
        x, y = x.numpy(), y.numpy()
        assert x.shape[1] == y.shape[1] == 6
        np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
        seen += len(x)
    assert seen == len(windows)
    order = lambda: [tuple(x.numpy()[:, 0]) for x, _ in to_tf_dataset(windows, 4, True, seed=3)]
    assert order() == order()  # the same seed shuffles the same way


# --------------------------------------------------------------------------- vocabulary


def test_vocabulary_comes_from_training_pieces_only():
    pieces = catalogue_pieces()
    odd = scale_piece(HELD_OUT[0], FUGUES[HELD_OUT[0]].key, 100)  # very high: words no one else has
    pieces = [odd if p.name == odd.name else p for p in pieces]
    prepared = prepare(pieces, TokenConfig(holds=False), seq_len=8, stride=4)
    from bachgen.tokens import piece_to_words

    held_words = set(piece_to_words(odd, TokenConfig(holds=False)))
    assert not held_words & set(prepared.codec.vocab.words)
    assert prepared.train_windows.shape[1] == 9


def test_fast_nearest_word_agrees_with_the_vocabulary():
    vocab = Vocabulary.build([["60:1/2", "60.64:1/2", "R:1/4", "48.55.64:1", "62:1/4", "72:2"]])
    nearest = NearestWords(vocab)
    for word in ["61:1/2", "60.63:1/2", "R:1/2", "48.55.63:1", "62:1/8", "71:3", "60:1/2"]:
        assert vocab.words[nearest.nearest_id(word)] == vocab.nearest(word), word


@pytest.mark.parametrize("holds", [False, True])
def test_augmented_words_are_the_words_of_each_transposition(holds):
    from bachgen.tokens import piece_to_words, piece_words, transpositions

    piece = make_piece((0, 96, 48), (0, 48, 60), (0, 24, 64), (24, 24, 67), (48, 48, 62),
                       (96, 24, 50), (120, 72, 55), (144, 48, 71), name="chords", key="C")
    tokens = TokenConfig(transpose="augment", holds=holds)
    expected = [piece_to_words(v, tokens) for v in transpositions(piece, tokens, training=True)]
    assert len(expected) == 12
    assert piece_words([piece], tokens, training=True) == expected
