"""The spelled codec, its grammar and conditioning, and the conditioned network's step and sampler."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bachgen.codec import (KeyCondition, ReleasedCodec, SpelledCodec, codec_stats, round_trip_ok,
                           seed_transposition)
from bachgen.errors import BundleError, ConfigError
from bachgen.reduction import normalise, quantise

from .conftest import make_piece

CODEC = SpelledCodec(durations=(6, 12, 24, 48, 96), max_pitches=4,
                     meters=[(4, 4), (4, 2), (12, 16), (3, 4)])
RELEASED = ReleasedCodec.from_json({**CODEC.to_json(), "spelling": "released"})
BOTH = pytest.mark.parametrize("codec", [CODEC, RELEASED], ids=["held", "released"])

PIECES = {
    "chords": make_piece((0, 48, 48), (0, 48, 52), (0, 48, 55), (48, 48, 50), (48, 48, 53)),
    "held notes": make_piece((0, 96, 48), (0, 24, 60), (24, 24, 62), (48, 48, 64), (60, 12, 67)),
    "rests": make_piece((24, 24, 60), (96, 12, 62), (144, 48, 64), (144, 24, 40)),
    "32nd notes": make_piece(*[(i * 6, 6, 60 + i) for i in range(8)], (0, 48, 36)),
    "4/2 bar": make_piece((0, 384, 40), (96, 96, 67), (288, 144, 69), time_signature=(4, 2)),
    "12/16 bar": make_piece(*[(i * 12, 12, 60 + i % 5) for i in range(12)], (0, 36, 48), (36, 108, 50),
                            time_signature=(12, 16)),
    "long and odd lengths": make_piece((0, 500, 45), (10, 14, 64), (24, 2, 65)),
    "same pitch twice": make_piece((0, 48, 60), (24, 48, 60), (0, 96, 48)),
}


def _notes(piece):
    return sorted((n.start, n.duration, n.pitch) for n in piece.notes)


def _round_trip(codec, piece) -> bool:
    ids = codec.encode(piece)
    got = codec.decode(ids, codec.first_tick(piece))
    return _notes(got) == _notes(normalise(quantise(piece, codec.grid)))


@BOTH
@pytest.mark.parametrize("name", sorted(PIECES))
def test_round_trip_small_pieces(codec, name):
    assert _round_trip(codec, PIECES[name])
    assert round_trip_ok(codec, PIECES[name])


def test_spelling_of_one_event_and_a_rest():
    piece = make_piece((0, 24, 48), (0, 48, 60), (24, 24, 64), (96, 12, 50))
    names = [CODEC.token_name(i) for i in CODEC.encode(piece)]
    assert names == ["S48", "S60", "D24", "H60", "S64", "D24", "D48", "S50", "D12"]
    released = [RELEASED.token_name(i) for i in RELEASED.encode(piece)]
    assert released == ["S48", "S60", "D24", "R48", "S64", "D24", "R60", "R64", "D48", "S50", "D12"]


def test_unknown_length_is_split_into_held_continuations():
    assert CODEC.split_duration(30) == [24, 6]
    assert CODEC.split_duration(500 - 500 % 2) == [96] * 5 + [12, 6, 2]
    with pytest.raises(ConfigError):
        CODEC.split_duration(5)


@pytest.mark.parametrize("kind", [SpelledCodec, ReleasedCodec])
def test_round_trip_real_corpus_48_of_48(corpus_pieces, kind):
    codec = kind.build(corpus_pieces)
    assert len(corpus_pieces) == 48
    assert 150 <= codec.vocab_size <= 260
    stats = codec_stats(codec, corpus_pieces)
    assert (stats["pieces"], stats["round_trip_failures"], stats["failed_pieces"]) == (48, 0, [])
    assert stats["codec"] == codec.name and stats["vocabulary"] == codec.vocab_size
    assert stats["tokens"] > stats["events"] > 25_000


@pytest.mark.parametrize("kind", [SpelledCodec, ReleasedCodec])
def test_corpus_sequences_obey_the_grammar(corpus_pieces, kind):
    codec = kind.build(corpus_pieces)
    for piece in corpus_pieces[:6]:
        ids = codec.encode(piece)
        state = codec.start_state([], codec.first_tick(piece))
        for token in ids:
            assert codec.allowed(state)[0, token], (piece.name, codec.token_name(token))
            codec.advance_inplace(state, token)


def test_json_round_trip():
    again = SpelledCodec.from_json(CODEC.to_json())
    assert type(again) is SpelledCodec and type(ReleasedCodec.from_json(RELEASED.to_json())) is ReleasedCodec
    assert again.to_json() == CODEC.to_json() and again.vocab_size == CODEC.vocab_size
    assert ReleasedCodec.from_json(RELEASED.to_json()).to_json() == RELEASED.to_json()
    with pytest.raises(BundleError):
        SpelledCodec.from_json({"name": "spelled"})
    with pytest.raises(BundleError, match="codec name"):  # the retired word codec, or any other
        SpelledCodec.from_json({**CODEC.to_json(), "name": "words"})


def test_grammar_mask_rules():
    s60, s64, d6 = 1 + 60 - CODEC.low, 1 + 64 - CODEC.low, 1 + 2 * CODEC.pitches
    h60, h64 = s60 + CODEC.pitches, s64 + CODEC.pitches
    state = CODEC.start_state([s60, s64, d6])
    mask = CODEC.allowed(state)[0]
    assert not mask[0] and mask[h60] and mask[h64] and not mask[h60 + 1]
    CODEC.advance_inplace(state, h64)
    mask = CODEC.allowed(state)[0]
    assert not mask[h60] and not mask[s60] and mask[s60 + 5] and mask[1 + 2 * CODEC.pitches:].all()
    full = CODEC.start_state([1, 2, 3, 4])
    assert CODEC.allowed(full)[0, 1:1 + 2 * CODEC.pitches].sum() == 0


def _allowed_by_the_rules(codec, state):
    """:meth:`SpelledCodec.allowed` written out rule by rule (it reads a table instead)."""
    P = codec.pitches
    above = (np.arange(P)[None, :] > state.last[:, None]) & (state.count < codec.max_pitches)[:, None]
    mask = np.zeros((state.rows, codec.vocab_size), dtype=bool)
    mask[:, 1:1 + P] = above if state.compass is None else above & state.compass
    mask[:, 1 + P:1 + 2 * P] = above & state.prev
    mask[:, 1 + 2 * P:] = True
    return mask


def test_the_grammar_mask_is_its_rules_in_every_state():
    rng = np.random.default_rng(5)
    P, rows = CODEC.pitches, 300
    state = CODEC.empty_state(rows)
    state.last[:] = rng.integers(-1, P, rows)
    state.count[:] = rng.integers(0, CODEC.max_pitches + 3, rows)  # a seed may hold wider chords
    state.prev[:] = rng.random((rows, P)) < 0.2
    assert np.array_equal(CODEC.allowed(state), _allowed_by_the_rules(CODEC, state))
    state.compass = rng.random((rows, P)) < 0.7
    assert np.array_equal(CODEC.allowed(state), _allowed_by_the_rules(CODEC, state))


@BOTH
def test_one_token_advances_every_row_as_a_token_a_row(codec):
    state = codec.start_states([[1, 5, 1 + 2 * codec.pitches]] * 3, [0, 12, 24])
    for token in (1 + 62 - codec.low, 1 + 2 * codec.pitches + 2):
        one, each = state.copy(), state.copy()
        codec.advance_inplace(one, token)
        codec.advance_inplace(each, np.full(3, token))
        for name in ("last", "count", "cur", "prev", "tick"):
            assert np.array_equal(getattr(one, name), getattr(each, name)), name
        state = one


@BOTH
def test_rows_advance_alike_few_or_many(codec):
    """A few rows advance row by row, more all at once: the same states (padding changes nothing)."""
    rng = np.random.default_rng(4)
    rows = 12
    many, ones = codec.empty_state(rows), [codec.empty_state(1) for _ in range(rows)]
    for _ in range(200):
        mask = codec.allowed(many)
        tokens = np.array([0 if rng.random() < 0.1 else rng.choice(np.nonzero(m)[0]) for m in mask])
        codec.advance_inplace(many, tokens)
        for one, token in zip(ones, tokens):
            codec.advance_inplace(one, int(token))
    for name in ("last", "count", "cur", "prev", "tick"):
        assert np.array_equal(getattr(many, name), np.concatenate([getattr(o, name) for o in ones])), name


@BOTH
def test_sequences_sampled_under_the_mask_decode(codec):
    rng = np.random.default_rng(3)
    state = codec.empty_state(5)
    rows: list[list[int]] = [[] for _ in range(5)]
    for _ in range(300):
        mask = codec.allowed(state)
        tokens = np.array([rng.choice(np.nonzero(m)[0]) for m in mask])
        for r, t in enumerate(tokens):
            rows[r].append(int(t))
        codec.advance_inplace(state, tokens)
    for ids in rows:
        events = codec.events(ids)
        assert len(events) == int((codec.kinds(ids) == 3).sum())
        for before, event in zip(events, events[1:]):
            assert set(event.held) <= set(before.struck) | set(before.held)
            assert len(event.struck) + len(event.held) <= codec.max_pitches
        piece = codec.decode(ids)
        assert all(n.duration > 0 for n in piece.notes)
        assert piece.end <= sum(e.duration for e in events)
        whole = ids[:max(i for i, t in enumerate(ids) if codec.kinds([t])[0] == 3) + 1]
        assert codec.encode_events(events) == whole  # the mask writes only canonical spellings


def test_features_follow_the_durations_and_the_bar():
    ids = CODEC.encode(make_piece((24, 24, 60), (48, 12, 62), (60, 36, 64)))
    feats = CODEC.features(ids, (4, 4), 24, KeyCondition(True, -2))
    # S60 D24 | S62 D12 | S64 D36 -> D36 is not a known length: D24 then a held D12
    names = [CODEC.token_name(i) for i in ids]
    assert names == ["S60", "D24", "S62", "D12", "S64", "D24", "H64", "D12"]
    assert feats[:, 0].tolist() == [0, 1, 1, 1, 1, 1, 1, 2]
    assert feats[:, 1].tolist() == [12, 0, 0, 6, 6, 18, 18, 0]
    assert set(feats[:, 2]) == {1} and set(feats[:, 3]) == {KeyCondition(True, -2).index}
    bar42 = CODEC.position_features(np.array([384 + 96 + 6]), (4, 2), KeyCondition(False))
    assert bar42[0, :3].tolist() == [2, 3, 2]


def test_row_conditions_give_each_row_the_codecs_features():
    from bachgen.rows import RowConditions, SeedRow

    plans = [((4, 4), KeyCondition(False, 1)), ((4, 2), KeyCondition(True, -3)),
             ((12, 16), KeyCondition(False)), ((5, 4), KeyCondition(True, 2))]  # 5/4: a meter not known
    rows = [SeedRow((1,), 0, ts, key) for ts, key in plans]
    conditions = RowConditions.of(CODEC, rows)
    rng = np.random.default_rng(1)
    for _ in range(50):
        ticks = rng.integers(0, 3000, len(rows))
        got = conditions.features(CODEC, ticks)
        for r, (ts, key) in enumerate(plans):
            assert got[r].tolist() == CODEC.position_features(ticks[r:r + 1], ts, key)[0].tolist()


def test_seed_transposition_moves_into_the_known_keys():
    assert seed_transposition("C") == (0, KeyCondition(False, 0))
    assert seed_transposition("a") == (0, KeyCondition(True, 0))
    assert seed_transposition("D") == (0, KeyCondition(False, 2))
    assert seed_transposition("F#") == (-3, KeyCondition(False, 3))
    assert seed_transposition("f") == (1, KeyCondition(True, -3))
    assert seed_transposition("E") == (-1, KeyCondition(False, 3))
    assert seed_transposition(None) == (0, KeyCondition(False, 0))


# --------------------------------------------------------------------------- network and sampler


@pytest.fixture(scope="module")
def tiny_bundle():
    from bachgen.bundle import Bundle
    from bachgen.config import NetConfig
    from bachgen.network import build_model

    net = NetConfig(embed=8, units=12, quarter_embed=2, phase_embed=3, meter_embed=2, key_embed=2)
    model = build_model(CODEC, net, seed=5)
    return Bundle(model, CODEC, net, {})


def _inputs(ids, feats):
    from bachgen.network import INPUTS

    inputs = {"tokens": ids}
    for i, name in enumerate(INPUTS[1:]):
        inputs[name] = feats[..., i]
    return inputs


def test_numpy_and_tf_steps_match_keras(tiny_bundle):
    from bachgen.step import load_step

    piece = PIECES["held notes"]
    ids = np.array(CODEC.encode(piece))[None, :]
    feats = CODEC.features(ids[0], (4, 4), 0, KeyCondition(False, 1))[None]
    reference = tiny_bundle.model(_inputs(ids, feats), training=False).numpy()
    got, _ = load_step(tiny_bundle, "numpy").run(ids, feats)
    assert np.abs(got - reference).max() < 1e-4
    tf_step = load_step(tiny_bundle, "tf")
    state = tf_step.zero_state(1)
    for t in range(ids.shape[1]):
        logits, state = tf_step(ids[:, t], feats[:, t], state)
    assert np.abs(logits - reference[:, -1]).max() < 1e-4


def test_bundle_saves_and_loads(tiny_bundle, tmp_path):
    from bachgen.bundle import load_bundle, save_bundle

    save_bundle(tmp_path, tiny_bundle.model, CODEC, tiny_bundle.net, {"note": 1})
    again = load_bundle(tmp_path)
    ids = np.array(CODEC.encode(PIECES["chords"]))[None, :]
    feats = CODEC.features(ids[0], (4, 4), 0, KeyCondition(False))[None]
    a = tiny_bundle.model(_inputs(ids, feats), training=False).numpy()
    b = again.model(_inputs(ids, feats), training=False).numpy()
    assert np.allclose(a, b) and again.config["note"] == 1
    with pytest.raises(BundleError):
        load_bundle(tmp_path / "missing")


def test_draw_respects_mask_top_k_and_top_p():
    from bachgen.rows import SampleSettings, draw, token_probabilities

    logits = np.array([[0.0, 5.0, 4.0, 1.0, 3.0]])
    mask = np.array([[False, False, True, True, True]])
    rng = np.random.default_rng(0)
    assert draw(logits, mask, SampleSettings(top_k=1, top_p=1.0), rng)[0] == 2
    p = token_probabilities(logits, mask, SampleSettings(top_p=0.5))
    assert np.count_nonzero(p) == 1 and p[0, 2] > 0
    drawn = {int(draw(logits, mask, SampleSettings(temperature=5.0, top_p=1.0), rng)[0]) for _ in range(200)}
    assert drawn == {2, 3, 4}


def _probabilities_by_definition(logits, mask, settings):
    """:func:`token_probabilities` as first written (sorted by negation, the top-p mark
    clipped, the temperature always divided): the faster form must give these bits."""
    z = np.where(mask, logits.astype(np.float64) / settings.temperature, -np.inf)
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    if 0 < settings.top_k < p.shape[1]:
        kth = -np.partition(-p, settings.top_k - 1, axis=1)[:, settings.top_k - 1:settings.top_k]
        p = np.where(p >= kth, p, 0.0)
    if settings.top_p < 1.0:
        ordered = -np.sort(-p, axis=1)
        cum = np.cumsum(ordered, axis=1)
        keep = (cum < settings.top_p * cum[:, -1:]).sum(axis=1)
        threshold = ordered[np.arange(len(p)), np.minimum(keep, p.shape[1] - 1)]
        p = np.where(p >= threshold[:, None], p, 0.0)
    return p


@pytest.mark.parametrize("settings", [(1.0, 0, 0.98), (0.5, 0, 0.95), (1.3, 20, 0.9), (1.0, 0, 1.0),
                                      (2.0, 5, 1.0), (1.0, 0, 0.3), (0.05, 0, 0.98)])
def test_token_probabilities_and_draws_are_their_definitions_bit_for_bit(settings):
    from bachgen.rows import SampleSettings, draw, token_probabilities

    settings = SampleSettings(*settings)
    rng = np.random.default_rng(8)
    logits = (rng.standard_normal((40, 196)) * rng.choice([0.1, 3.0, 30.0], (40, 1))).astype(np.float32)
    logits[:5, :20] = logits[:5, :1]  # ties
    mask = rng.random((40, 196)) < rng.choice([0.02, 0.5, 1.0], (40, 1))
    mask[:, -19:] = True  # a duration is always allowed
    expected = _probabilities_by_definition(logits, mask, settings)
    assert np.array_equal(token_probabilities(logits, mask, settings), expected)
    u = np.random.default_rng(2).random(len(logits))
    cdf = np.cumsum(expected, axis=1)
    assert np.array_equal(draw(logits, mask, settings, np.random.default_rng(2)),
                          np.argmax(cdf > (u * cdf[:, -1])[:, None], axis=1))


def _generate(bundle, seeds, events, seed_events, settings, seed):
    """One generation per seed piece, all rows drawn together from one ``seed``ed generator: each
    seed read, moved into a key the network knows, and the music moved back."""
    from bachgen.rows import Generation, assemble, seed_row
    from bachgen.sampling import sample_ids
    from bachgen.step import load_step

    made = [seed_row(bundle.codec, piece, seed_events) for piece in seeds]
    new = sample_ids(load_step(bundle), bundle.codec, [r for r, _ in made], events, settings,
                     np.random.default_rng(seed), [m for _, m in made])
    return [Generation(assemble(bundle.codec, row, ids, moved, piece, False), tuple(ids), row, moved)
            for (row, moved), ids, piece in zip(made, new, seeds)]


def test_same_seed_same_ids_and_whole_events(tiny_bundle):
    from bachgen.rows import SampleSettings

    seeds = [replace(PIECES["held notes"], key="C", name="a"),
             replace(PIECES["12/16 bar"], key="c#", name="b")]
    settings = SampleSettings(temperature=1.0, top_p=0.95)
    first = _generate(tiny_bundle, seeds, events=30, seed_events=3, settings=settings, seed=11)
    again = _generate(tiny_bundle, seeds, events=30, seed_events=3, settings=settings, seed=11)
    other = _generate(tiny_bundle, seeds, events=30, seed_events=3, settings=settings, seed=12)
    assert [g.new_ids for g in first] == [g.new_ids for g in again]
    assert [g.new_ids for g in first] != [g.new_ids for g in other]
    for g in first:
        assert len(CODEC.events(g.new_ids)) == 30
        assert all(n.start >= g.seed_end for n in g.piece.notes)
    assert first[1].moved_by == -1 and first[1].seed.key == KeyCondition(True, 3)


def test_compass_confines_struck_pitches(tiny_bundle):
    from bachgen.rows import SampleSettings

    seeds = [replace(PIECES["chords"], key="E", name="c")]  # moved down a semitone to be sampled
    settings = SampleSettings(temperature=2.0, top_p=1.0, compass=(50, 60))
    made = _generate(tiny_bundle, seeds, events=60, seed_events=2, settings=settings, seed=4)[0]
    assert made.moved_by == -1
    struck = [p for e in CODEC.events(made.new_ids) for p in e.struck]
    assert struck and all(49 <= p <= 59 for p in struck)  # the compass (50..60) in the model's key
    assert all(50 <= n.pitch <= 60 for n in made.piece.notes if n.start > made.seed_end)
    with pytest.raises(ConfigError):
        SampleSettings(compass=(60, 50))
