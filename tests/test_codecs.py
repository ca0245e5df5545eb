"""The codec family: what every codec promises, shown on the word codec."""

import json

import numpy as np
import pytest

from bachgen.codecs import WordCodec, codec_from_json
from bachgen.config import TokenConfig
from bachgen.errors import BundleError
from bachgen.events import Event
from bachgen.tokens import Vocabulary, piece_to_words
from tests.conftest import make_piece

Q = 48


@pytest.fixture
def piece():
    # a held bass under a rising line, a rest, then a chord
    return make_piece((0, 2 * Q, 48), (0, Q, 64), (Q, Q, 67), (3 * Q, Q, 60), (3 * Q, Q, 64))


@pytest.fixture
def codec(piece):
    return WordCodec(Vocabulary.build([piece_to_words(piece)]), TokenConfig(holds=True))


def test_word_codec_round_trips_a_piece_with_holds(codec, piece):
    ids = codec.encode(piece)
    assert 0 not in ids
    got = codec.decode(ids)
    assert {(n.start, n.duration, n.pitch) for n in got.notes} == {
        (n.start, n.duration, n.pitch) for n in piece.notes}


def test_events_carry_struck_and_held_pitches_end_to_end(codec, piece):
    events = codec.events(codec.encode(piece), start=Q)
    assert events[1] == Event(2 * Q, Q, (67,), (48,))
    assert [e.start for e in events] == [Q, 2 * Q, 3 * Q, 4 * Q]
    assert events[2].is_rest
    assert codec.ticks(codec.encode(piece)) == 4 * Q


def test_unknown_words_become_the_nearest_known_word_and_are_counted(codec):
    ids, mapped = codec.encode_words(["48.64:1", "49.65:1"])
    assert mapped == 1
    assert codec.vocab.words[ids[1]] == "48.64:1"


def test_any_word_may_follow_any_word_but_padding(codec):
    mask = codec.allowed(codec.start_state([1, 2]))
    assert mask.dtype == bool and mask.shape == (codec.vocab_size,)
    assert not mask[0] and mask[1:].all()


def test_a_codec_saves_itself_as_json_and_comes_back_the_same(codec, piece):
    again = codec_from_json(json.loads(json.dumps(codec.to_json())))
    assert isinstance(again, WordCodec)
    assert again.encode(piece) == codec.encode(piece)
    assert again.tokens == codec.tokens


@pytest.mark.parametrize("data", [{}, {"name": "midi-like"}, []])
def test_an_unknown_codec_is_refused_with_a_clear_message(data):
    with pytest.raises(BundleError, match="Unknown codec"):
        codec_from_json(data)
