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


# --------------------------------------------------------------------------- what callers ask the word codec


def test_fit_builds_the_vocabulary_from_the_training_pieces_and_gives_their_ids(piece):
    codec, (ids,) = WordCodec.fit([piece], TokenConfig(holds=True))
    assert ids.tolist() == codec.encode(piece)
    assert codec.counts[1:] == [1, 1, 1, 1]
    arrays, replaced = codec.encode_pieces([piece], training=False)
    assert arrays[0].tolist() == ids.tolist() and replaced == 0


def test_exact_ids_mark_words_the_vocabulary_lacks(codec, piece):
    higher = piece.transpose(1)
    assert codec.exact_ids([piece], training=False)[0] == codec.encode(piece)
    assert codec.exact_ids([higher], training=False)[0] == [-1, -1, codec.neutral_id(), -1]


def test_targets_give_exact_ids_context_and_the_bits_to_spell_unknown_words(codec, piece):
    (known,) = codec.targets([piece])
    assert known.ids.tolist() == known.context.tolist() == codec.encode(piece)
    assert known.spelling == (0.0,) * 4
    unknown = codec.targets_of_words(["49.65:1"])
    assert unknown.ids.tolist() == [-1] and unknown.context.tolist() == codec.encode_words(["49.65:1"])[0]
    # how many pitches (0..11), which 2 of the 88 keys, the one known length or another
    assert unknown.spelling[0] == pytest.approx(np.log2(12) + np.log2(3828) + np.log2(2))
    assert codec.spelling_bits("49.65:1") == unknown.spelling[0]


def test_every_id_writes_one_event_with_its_pitch_classes(codec):
    events = codec.token_events()
    assert len(events) == codec.vocab_size and events[0] == Event(0, 0, ())
    chord = codec.vocab.index["60.64:1"]
    assert codec.token_event(chord) == Event(0, Q, (60, 64))
    counts, ticks = codec.pitch_classes()
    assert counts.shape == (codec.vocab_size, 12) and counts[0].sum() == 0
    assert counts[chord].nonzero()[0].tolist() == [0, 4] and ticks[chord] == Q
    held = codec.vocab.index["48~.67:1"]
    assert counts[held].nonzero()[0].tolist() == [7]  # held pitches are not struck again


def test_the_neutral_start_is_the_commonest_rest_else_the_commonest_word():
    codec = WordCodec(Vocabulary(["60:1/4", "R:1/2", "R:1/4"], [9, 2, 5]))
    assert codec.vocab.words[codec.neutral_id()] == "R:1/4"
    assert WordCodec(Vocabulary(["60:1/4"], [1])).neutral_id() == 1


def test_a_seed_of_raw_words_decodes_with_the_ids_after_it_as_one_piece(codec, piece):
    words, ids = codec.words(piece), codec.encode(piece)
    together = codec.decode_after(words[:1], ids[1:], start=0)
    assert together.notes == codec.decode(ids).notes  # the bass held across the seam stays one note
    assert codec.words_ticks(words[:2]) == codec.ticks(ids[:2]) == 2 * Q
    assert codec.words_of([0] + ids) == words  # the piece's words are all known
    assert codec.word_events(words, start=Q) == codec.events(ids, start=Q)
    assert [e.start for e in codec.word_events(["49.65:1", "R:1/2"])] == [0, Q]  # unknown words too


def test_reduce_and_note_count_need_only_the_token_settings(piece):
    bare = WordCodec.for_tokens(TokenConfig(holds=False))
    assert bare.vocab_size == 1
    reduced = bare.reduce(piece)
    assert [n.pitch for n in reduced.notes if n.start == 0] == [48, 64]
    assert all(n.duration == Q for n in reduced.notes if n.start == 0)  # no holds: lengths lost
    assert bare.note_count(piece) == len(piece.notes)
