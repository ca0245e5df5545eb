"""Event words: chordifying, the round trip, options and the vocabulary."""

import pytest

from bachgen import tokens
from bachgen.config import TokenConfig
from bachgen.errors import ConfigError
from bachgen.tokens import Event, Vocabulary, chordify, decode_words, normalise, piece_to_words
from tests.conftest import make_piece

Q = 48  # ticks per quarter


def test_a_held_bass_is_not_struck_again():
    # C3 for a half note under two quarter notes E4, G4
    piece = make_piece((0, 2 * Q, 48, 0), (0, Q, 64, 1), (Q, Q, 67, 1))
    assert piece_to_words(piece) == ["48.64:1", "48~.67:1"]
    assert chordify(piece)[1] == Event(Q, Q, (67,), (48,))


def test_silence_is_a_word_too():
    piece = make_piece((0, Q, 60), (2 * Q, Q, 62))
    assert piece_to_words(piece) == ["60:1", "R:1", "62:1"]


def test_an_event_changes_where_a_voice_stops():
    # both struck together, the upper one stops after an eighth
    piece = make_piece((0, Q, 48), (0, Q // 2, 72))
    assert piece_to_words(piece) == ["48.72:1/2", "48~:1/2"]


def test_long_events_are_split_into_held_continuations():
    piece = make_piece((0, 12 * Q, 60))
    assert piece_to_words(piece, TokenConfig(max_event_quarters=8)) == ["60:8", "60~:4"]


def test_without_holds_words_carry_only_struck_pitches():
    piece = make_piece((0, 2 * Q, 48), (0, Q, 64), (Q, Q, 67))
    assert piece_to_words(piece, TokenConfig(holds=False)) == ["48.64:1", "67:1"]


@pytest.mark.parametrize("holds", [True, False])
@pytest.mark.parametrize("notes", [
    [(0, 96, 48), (0, 48, 64), (48, 48, 67)],
    [(0, 48, 60), (96, 48, 62)],
    [(0, 16, 60), (16, 16, 62), (32, 16, 64), (0, 48, 36)],   # triplets over a held bass
    [(0, 48, 60, 0), (0, 96, 60, 1)],                          # unison in two voices
    [(0, 96, 60, 0), (48, 48, 60, 1)],                         # a key struck while it sounds
])
def test_round_trip_on_small_pieces(notes, holds):
    assert tokens.round_trip_ok(make_piece(*notes), TokenConfig(holds=holds))


def test_normalise_merges_unisons_and_cuts_restruck_keys():
    piece = normalise(make_piece((0, 96, 60, 0), (48, 96, 60, 1), (0, 48, 64, 0), (0, 24, 64, 1)))
    assert [(n.start, n.duration, n.pitch) for n in piece.notes] == [
        (0, 48, 60), (0, 48, 64), (48, 96, 60)]


def test_quantise_counts_what_it_moves_and_drops():
    report = tokens.CleanReport()
    piece = tokens.quantise(make_piece((1, 47, 60), (50, 1, 62), (0, 48, 10)), 6, report)
    assert [(n.start, n.duration) for n in piece.notes] == [(0, 48)]
    assert (report.moved, report.dropped) == (2, 2)


@pytest.mark.parametrize("word", ["60:1/4", "48.60~.64:3/2", "R:8", "21.108:1/24"])
def test_words_parse_back(word):
    struck, held, ticks = tokens.parse_word(word)
    assert tokens.event_word(Event(0, ticks, struck, held)) == word


@pytest.mark.parametrize("word", ["60:0", "60:1/96", "x:1", "60"])
def test_malformed_words_are_rejected(word):
    with pytest.raises(ValueError):
        tokens.parse_word(word)


def test_decode_lays_words_end_to_end():
    piece = decode_words(["60:1", "R:1/2", "62.65:1/2"], start=96)
    assert [(n.start, n.duration, n.pitch) for n in piece.notes] == [
        (96, 48, 60), (168, 24, 62), (168, 24, 65)]


def test_vocabulary_orders_by_frequency_and_round_trips(tmp_path):
    vocab = Vocabulary.build([["60:1", "62:1", "60:1"], ["R:1", "60:1"]])
    assert vocab.words[:2] == [Vocabulary.PAD, "60:1"]
    ids = vocab.encode(["62:1", "60:1"])
    assert vocab.decode(ids) == ["62:1", "60:1"]
    vocab.save(tmp_path / "v.json")
    again = Vocabulary.load(tmp_path / "v.json")
    assert again.words == vocab.words and again.counts == vocab.counts


@pytest.mark.parametrize("unknown, nearest", [
    ("61:1", "60:1"),          # a semitone away, same length
    ("60:3/4", "60:1"),        # same pitch, near length
    ("R:3/2", "R:1"),          # silence stays silence
    ("48.60:1", "48.60~:1"),   # same pitches, one held
])
def test_unknown_words_map_to_the_nearest_known(unknown, nearest):
    vocab = Vocabulary.build([["60:1", "72:4", "R:1", "48.60~:1", "36:1/8"]])
    assert vocab.nearest(unknown) == nearest
    ids, mapped = vocab.encode_nearest(["60:1", unknown])
    assert mapped == 1 and vocab.decode(ids)[1] == nearest


def test_a_bad_option_is_a_config_error():
    with pytest.raises(ConfigError, match="transpose"):
        TokenConfig(transpose="sideways")


# --------------------------------------------------------------------------- the real corpus


@pytest.mark.parametrize("config", [
    TokenConfig(), TokenConfig(holds=False), TokenConfig(transpose="common"),
], ids=["holds", "no-holds", "common-key"])
def test_all_48_fugues_round_trip_with_no_failures(corpus_pieces, config):
    result = tokens.stats(corpus_pieces, config)
    assert result["pieces"] == 48
    assert result["round_trip_failures"] == 0, result["failed_pieces"]
    assert result["events"] > 25_000


def test_augmentation_gives_twelve_keys_that_stay_on_the_piano(corpus_pieces):
    versions = tokens.transpositions(corpus_pieces[0], TokenConfig(transpose="augment"), training=True)
    assert len(versions) == 12
    assert all(tokens.round_trip_ok(v) for v in versions[:3])
    held_out = tokens.transpositions(corpus_pieces[0], TokenConfig(transpose="augment"), training=False)
    assert held_out == [corpus_pieces[0]]


def test_common_key_moves_every_fugue_to_c_major_or_a_minor(corpus_pieces):
    for piece in corpus_pieces:
        (moved,) = tokens.transpositions(piece, TokenConfig(transpose="common"), training=True)
        assert moved.key in ("C", "a")
