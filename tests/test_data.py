"""Training data: versions of each piece, windows that never cross pieces, counts from training only."""

from __future__ import annotations

import numpy as np
import pytest

from bachgen.codec import SpelledCodec
from bachgen.config import FitConfig
from bachgen.data import (Sequence_, common_key, cut_windows, piece_versions, prepare_data,
                          to_tf_dataset, window_inputs)
from bachgen.splits import HELD_OUT, VALIDATION
from tests.conftest import make_piece
from tests.test_splits import FUGUES, catalogue_pieces, scale_piece


def sequence(ids) -> Sequence_:
    """Ids with made-up features (each column the id times its column number), to see them travel."""
    ids = np.asarray(ids, dtype=np.int32)
    return Sequence_("s", 0, ids, ids[:, None] * np.arange(1, 5)[None, :])


def test_windows_never_cross_pieces_and_cover_every_position():
    a, b = sequence(np.arange(1, 31)), sequence(np.arange(101, 158))
    windows = cut_windows([a, b], seq_len=8, stride=5)
    assert windows.shape[1:] == (9, 5)
    for row in windows:
        ids = row[:, 0]
        assert ids.max() <= 30 or ids.min() >= 101, ids
        assert np.all(np.diff(ids) == 1)  # consecutive tokens of one piece
        assert (row[:, 1:] == ids[:, None] * np.arange(1, 5)).all()  # the features go with them
    covered = {int(v) for row in windows for v in row[1:, 0]}
    assert covered >= set(range(2, 31)) | set(range(102, 158))  # every target position
    assert any(row[-1, 0] == 30 for row in windows) and any(row[-1, 0] == 157 for row in windows)


def test_a_short_piece_gives_one_padded_window():
    windows = cut_windows([sequence([5, 6, 7])], seq_len=6, stride=1)
    assert windows[..., 0].tolist() == [[5, 6, 7, 0, 0, 0, 0]]


def test_stride_sets_window_starts():
    windows = cut_windows([sequence(np.arange(1, 22))], seq_len=4, stride=4)
    assert [int(r[0, 0]) for r in windows] == [1, 5, 9, 13, 17]


def test_window_inputs_are_the_columns_and_targets_the_ids_shifted_by_one():
    windows = cut_windows([sequence(np.arange(1, 40))], seq_len=6, stride=3)
    inputs, targets = window_inputs(windows)
    assert set(inputs) == {"tokens", "quarter", "phase", "meter", "key"}
    np.testing.assert_array_equal(inputs["tokens"][:, 1:], targets[:, :-1])
    np.testing.assert_array_equal(inputs["key"], inputs["tokens"] * 4)
    only, _ = window_inputs(windows, ("tokens",))
    assert set(only) == {"tokens"}


def test_tf_dataset_targets_are_inputs_shifted_by_one():
    windows = cut_windows([sequence(np.arange(1, 40)), sequence(np.arange(200, 230))], seq_len=6, stride=3)
    data = to_tf_dataset(windows, batch_size=4, shuffle=True, seed=3)
    seen = 0
    for x, y in data:
        tokens, y = x["tokens"].numpy(), y.numpy()
        assert tokens.shape[1] == y.shape[1] == 6
        np.testing.assert_array_equal(tokens[:, 1:], y[:, :-1])
        seen += len(tokens)
    assert seen == len(windows)
    order = lambda: [tuple(x["tokens"].numpy()[:, 0]) for x, _ in to_tf_dataset(windows, 4, True, seed=3)]
    assert order() == order()  # the same seed shuffles the same way


def test_versions_are_the_common_key_shifted_as_ids():
    piece = make_piece((0, 96, 48), (0, 48, 60), (0, 24, 64), (24, 24, 67), (48, 48, 62),
                       (96, 24, 50), (120, 72, 55), (144, 48, 71), name="chords", key="E")
    codec = SpelledCodec.build([piece.transpose(s) for s in range(-8, 8)])
    versions = piece_versions(piece, codec, shifts=3)
    assert [v.shift for v in versions] == [-3, -2, -1, 0, 1, 2, 3]
    moved, minor = common_key(piece)
    assert not minor
    for v in versions:
        assert v.ids.tolist() == codec.encode(moved.transpose(v.shift))


def test_token_counts_come_from_training_pieces_only():
    pieces = catalogue_pieces()
    odd = scale_piece(HELD_OUT[0], FUGUES[HELD_OUT[0]].key, 90)  # very high: pitches no one else has
    pieces = [odd if p.name == odd.name else p for p in pieces]
    codec = SpelledCodec.build(pieces)
    data = prepare_data(pieces, codec, FitConfig(seq_len=8, stride=4, shifts=0))
    held_ids = set(piece_versions(odd, codec, 0)[0].ids.tolist())
    train_ids = set(np.nonzero(data.counts)[0].tolist())
    assert held_ids - train_ids  # the held-out piece's highest pitches are never counted
    assert sorted(data.names["test"]) == sorted(HELD_OUT)
    assert sorted(data.names["validation"]) == sorted(VALIDATION)
    assert data.train.shape[1:] == (9, 5) and data.validation.shape[1:] == (9, 5)
    assert np.isin(data.train[..., 0], list(train_ids) + [0]).all()


def test_mode_filter_keeps_only_that_mode():
    pieces = catalogue_pieces()
    codec = SpelledCodec.build(pieces)
    data = prepare_data(pieces, codec, FitConfig(seq_len=8, stride=4, shifts=0, modes="minor"))
    assert data.names["train"] and all(FUGUES[n].mode == "minor" for n in data.names["train"])
    assert all(FUGUES[n].mode == "minor" for n in data.names["validation"])


@pytest.mark.parametrize("augment", ["shifts", "all12"])
def test_all12_needs_a_codec_that_does_not_tell_the_shift(augment):
    from bachgen.errors import ConfigError

    pieces = catalogue_pieces()
    codec = SpelledCodec.build(pieces)
    fit = FitConfig(seq_len=8, stride=4, shifts=1, augment=augment)
    if augment == "all12":
        with pytest.raises(ConfigError, match="all12"):
            prepare_data(pieces, codec, fit)
    else:
        assert len(prepare_data(pieces, codec, fit).train)
