"""Sampling: the NumPy step against Keras, determinism, top-k/top-p, loops, copies."""

from __future__ import annotations

import numpy as np
import pytest

from bachgen import guards, sampling
from bachgen.codecs import WordCodec
from bachgen.config import ModelConfig, SamplingConfig
from bachgen.errors import ConfigError
from bachgen.model import build_model
from bachgen.step import make_step
from bachgen.tokens import Vocabulary


def tiny_model(vocab_size: int = 40, layers: int = 2, seed: int = 3):
    config = ModelConfig(vocab_size=vocab_size, embed_dim=8, units=16, layers=layers, dropout=0.0,
                         seq_len=8)
    return build_model(config, seed=seed), config


class CountingStep:
    """A stand-in network that always prefers the word after the last one (id + 1)."""

    def __init__(self, vocab_size: int, strength: float = 12.0) -> None:
        self.vocab_size = vocab_size
        self.strength = strength

    def zero_state(self, batch):
        return [np.zeros((batch, 1), np.float32), np.zeros((batch, 1), np.float32)]

    def logits(self, state, out=None):
        last = state[0][:, 0].astype(np.int64)
        logits = np.zeros((len(last), self.vocab_size), np.float32)
        nxt = last % (self.vocab_size - 1) + 1
        logits[np.arange(len(last)), nxt] = self.strength
        if out is not None:
            out[:] = logits
            return out
        return logits

    def step(self, ids, state, out=None):
        new = [np.asarray(ids, np.float32).reshape(-1, 1), state[1] + 1]
        return self.logits(new, out), new

    def prime(self, ids, state=None):
        state = state if state is not None else self.zero_state(ids.shape[0])
        for t in range(ids.shape[1]):
            _, state = self.step(ids[:, t], state)
        return self.logits(state), state


# --------------------------------------------------------------------------- the step


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("backend", ["numpy", "tf"])
def test_the_step_gives_the_keras_models_logits(layers, backend):
    model, _ = tiny_model(layers=layers)
    ids = np.random.default_rng(0).integers(1, 40, size=(3, 12)).astype("int32")
    expected = model(ids).numpy()
    step = make_step(model, backend)
    state = step.zero_state(3)
    got = []
    for t in range(ids.shape[1]):
        logits, state = step.step(ids[:, t], state)
        got.append(logits)
    assert np.abs(np.stack(got, axis=1) - expected).max() < 1e-4


def test_priming_equals_stepping_and_carries_the_state():
    model, _ = tiny_model()
    step = make_step(model)
    ids = np.array([[3, 4, 5, 6, 7]])
    logits, _ = step.prime(ids)
    assert np.abs(logits - model(ids).numpy()[:, -1]).max() < 1e-4


def test_a_model_without_the_named_layers_is_a_bundle_error():
    import keras

    from bachgen.errors import BundleError

    inputs = keras.Input(shape=(None,), dtype="int32")
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Embedding(5, 2)(inputs)))
    with pytest.raises(BundleError):
        make_step(model)


# --------------------------------------------------------------------------- drawing


def test_same_seed_same_events_and_different_seeds_differ():
    model, _ = tiny_model()
    step = make_step(model)
    config = SamplingConfig(events=60, seed=5)

    def run(seed):
        return sampling.sample(step, [[1, 2, 3]] * 2, config, np.random.default_rng(seed)).ids

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_several_candidates_are_drawn_at_once_and_differ():
    model, _ = tiny_model()
    result = sampling.sample(make_step(model), [[1, 2, 3]] * 4, SamplingConfig(events=40),
                             np.random.default_rng(1))
    assert len(result.ids) == 4 and all(len(ids) == 40 for ids in result.ids)
    assert len({tuple(ids) for ids in result.ids}) == 4
    assert all(0 not in ids for ids in result.ids)  # padding is never drawn
    assert 0 <= sampling.best_row(result) < 4


def test_top_k_keeps_exactly_the_k_likeliest():
    logits = np.array([[0.0, 5.0, 1.0, 4.0, 3.0, 2.0]], np.float32)
    probs = sampling.filter_logits(logits, 1.0, top_k=3, top_p=None)
    assert set(np.flatnonzero(probs[0])) == {1, 3, 4}
    assert probs.sum() == pytest.approx(1.0, abs=1e-6)


def test_top_p_keeps_the_smallest_set_reaching_p():
    probs_in = np.array([[0.5, 0.25, 0.15, 0.1]])
    logits = np.log(probs_in).astype(np.float32)
    assert set(np.flatnonzero(sampling.filter_logits(logits, 1.0, None, 0.7)[0])) == {0, 1}
    assert set(np.flatnonzero(sampling.filter_logits(logits, 1.0, None, 0.75)[0])) == {0, 1}
    assert set(np.flatnonzero(sampling.filter_logits(logits, 1.0, None, 0.76)[0])) == {0, 1, 2}
    assert set(np.flatnonzero(sampling.filter_logits(logits, 1.0, None, 0.3)[0])) == {0}


def test_draws_stay_inside_the_support():
    rng = np.random.default_rng(0)
    logits = np.tile(np.arange(20, dtype=np.float32), (3, 1))
    logits[:, 19] = -np.inf  # masked
    probs = sampling.filter_logits(logits, np.array([0.5, 1.0, 2.0]), top_k=5, top_p=None)
    seen = set()
    for _ in range(300):
        ids, p = sampling.draw(probs, rng)
        seen.update(ids.tolist())
        assert np.all(p > 0)
    assert seen <= {14, 15, 16, 17, 18}


def test_sampling_settings_are_checked():
    with pytest.raises(ConfigError):
        SamplingConfig(temperature=0)
    with pytest.raises(ConfigError):
        SamplingConfig(top_p=1.5)
    with pytest.raises(ConfigError):
        SamplingConfig(top_k=0)


# --------------------------------------------------------------------------- loops


@pytest.mark.parametrize("seq, expected", [
    ([5] * 16, (1, 16)),
    ([9, 9] + [5] * 16, (1, 16)),
    ([1, 2] * 8, (2, 16)),
    ([7] + [1, 2, 3] * 5 + [1], (3, 16)),
    (list(range(1, 9)) * 3, (8, 24)),
    ([4] + list(range(1, 7)) * 3, (6, 18)),
])
def test_loops_at_the_end_are_found(seq, expected):
    assert guards.loop_at_end(seq) == expected


@pytest.mark.parametrize("seq", [
    list(range(40)),
    [5] * 15,
    [1, 2] * 7,
    list(range(1, 9)) * 2 + list(range(1, 8)),
    list(range(1, 10)) * 4,          # period 9 is longer than a loop
    [5] * 16 + [6],                  # the loop is over
])
def test_no_loop_is_reported_where_there_is_none(seq):
    assert guards.loop_at_end(seq) is None


def test_find_loops_counts_every_position_that_ends_a_loop():
    assert guards.find_loops(list(range(50))) == 0
    assert guards.find_loops([1, 2] * 8) == 1
    assert guards.find_loops([1, 2] * 9) == 3
    assert guards.find_loops(list(range(30)) + [3] * 20 + list(range(30))) == 5


def test_the_batched_detector_agrees_with_the_plain_one():
    rng = np.random.default_rng(0)
    rows = [list(rng.integers(1, 4, size=30)) for _ in range(50)] + [[1, 2] * 15, [3] * 30]
    window = np.array([r[-24:] for r in rows])
    found = guards._loops_at_end_batch(window, np.full(len(rows), 30), 8, 3, 16)
    assert found == [guards.loop_at_end(r) for r in rows]


def test_a_model_that_loops_is_recovered_and_the_output_has_no_loop():
    model, _ = tiny_model()
    bias = model.get_layer("logits").get_weights()
    bias[1][:] = 0.0
    bias[1][7] = 6.0  # word 7 most of the time: period-1 loops
    model.get_layer("logits").set_weights(bias)
    step = make_step(model)
    config = SamplingConfig(events=200, seed=3)
    result = sampling.sample(step, [[1, 2, 3]], config, np.random.default_rng(3))
    assert result.loop_recoveries[0] > 0
    assert result.stuck == [False]
    assert guards.find_loops(result.ids[0]) == 0
    assert len(result.ids[0]) == 200
    # without recoveries the same model gets stuck
    stuck = sampling.sample(step, [[1, 2, 3]], SamplingConfig(events=200, max_recoveries=0),
                            np.random.default_rng(3))
    assert stuck.loop_recoveries == [0] and stuck.stuck == [True]


def test_a_row_that_keeps_looping_is_reseeded_from_the_corpus():
    step = CountingStep(5)  # 1 2 3 4 1 2 3 4 ... a loop of period 4
    calls = []

    def reseed(rng, length):
        calls.append(length)
        return [1] * length

    result = sampling.sample(step, [[1]], SamplingConfig(events=60, max_recoveries=6), np.random.default_rng(0),
                             reseed=reseed, context_len=10)
    assert result.loop_recoveries == [6]
    assert result.reseeds[0] >= 1 and calls
    assert all(n >= 1 for n in calls)


# --------------------------------------------------------------------------- copies


def melody(pitches, length="1/4"):
    return [f"{p}:{length}" for p in pitches]


CORPUS = [
    melody([60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62]),
    melody([50, 57, 55, 53, 52, 50, 49, 50]) + ["R:1/2"] + melody([45, 47]),
]


def test_the_longest_copied_run_is_found_in_any_transposition():
    index = guards.CopyIndex(CORPUS, limit=4)
    fresh = melody([90, 30, 95, 33])
    copied = melody([p + 5 for p in (62, 64, 65, 67, 69, 71, 72)])  # 7 events, a fourth up
    assert index.longest_run(fresh[:2] + copied + fresh[2:]) == 7
    assert index.longest_run(copied, exclude=[0]) == 2  # only the step 45-47 of the other piece
    changed = copied[:3] + ["71:1/4"] + copied[4:]  # one interval broken
    assert index.longest_run(changed) == 3


def test_rests_carry_the_pitch_and_chords_match_by_shape():
    index = guards.CopyIndex([["48.60:1/2", "R:1/4", "50.62~:1/4", "52:1/8"]], limit=2)
    assert index.longest_run(["41.53:1/2", "R:1/4", "43.55~:1/4", "45:1/8"]) == 4
    assert index.longest_run(["41.53:1/2", "R:1/4", "43.55:1/4", "45:1/8"]) == 2  # hold differs
    assert index.longest_run(["41.54:1/2", "R:1/4"]) == 1


def test_the_copy_index_reads_events_and_raw_words_alike():
    from bachgen.tokens import word_event

    as_events = [[word_event(w) for w in piece] for piece in CORPUS]
    index = guards.CopyIndex(as_events, limit=4)
    copied = melody([p + 5 for p in (62, 64, 65, 67, 69, 71, 72)])
    assert index.longest_run([word_event(w) for w in copied]) == index.longest_run(copied) == 7
    assert index.relative(copied) == index.relative([word_event(w, start=96) for w in copied])


def test_the_copy_guard_asks_the_codec_for_the_event_of_each_id():
    words = melody(range(40, 70))
    codec = WordCodec(Vocabulary(words))
    index = guards.CopyIndex([words], limit=4)
    forms = guards.VocabForms(codec, index)
    ids = [5, 6, 7]
    assert forms.relative(ids) == index.relative(codec.events(ids))
    step = CountingStep(codec.vocab_size)
    guarded = sampling.sample(step, [[1, 2]], SamplingConfig(events=60, copy_limit=4, seed=1),
                              np.random.default_rng(1), codec=codec, copy_index=index)
    assert index.longest_run(codec.events(guarded.ids[0])) <= 4


def test_the_copy_guard_keeps_runs_from_the_corpus_short():
    words = melody(range(40, 70))  # a rising scale of 30 single notes
    vocab = Vocabulary(words)  # id i = words[i - 1]: the counting model copies it
    codec = WordCodec(vocab)
    step = CountingStep(len(vocab))
    seed = [[1, 2]]
    free = sampling.sample(step, seed, SamplingConfig(events=60, copy_limit=0, seed=1),
                           np.random.default_rng(1), codec=codec)
    index = guards.CopyIndex([words], limit=4)
    assert index.longest_run(vocab.decode(free.ids[0])) >= 20
    guarded = sampling.sample(step, seed, SamplingConfig(events=60, copy_limit=4, seed=1),
                              np.random.default_rng(1), codec=codec, copy_index=index)
    assert guarded.copy_masks[0] > 0
    assert index.longest_run(vocab.decode(guarded.ids[0])) <= 4


@pytest.mark.parametrize("width", [4, 700])
def test_draws_follow_the_probabilities(width):
    rng = np.random.default_rng(2)
    probs = np.zeros((2, width), np.float32)
    probs[:, [0, 1, width - 2, width - 1]] = [0.1, 0.2, 0.3, 0.4]
    counts = np.zeros(width)
    for _ in range(2500):
        ids, p = sampling.draw(probs, rng)
        np.add.at(counts, ids, 1)
        assert np.allclose(p, probs[0, ids] / probs[0].sum())
    share = counts[[0, 1, width - 2, width - 1]] / counts.sum()
    assert counts.sum() == 5000 and np.abs(share - [0.1, 0.2, 0.3, 0.4]).max() < 0.03


def test_top_p_on_a_large_vocabulary_matches_the_full_sort():
    rng = np.random.default_rng(4)
    logits = rng.normal(0, 3, size=(3, 5000)).astype(np.float32)
    fast = sampling.filter_logits(logits, 1.0, None, 0.6)
    probs = sampling.filter_logits(logits, 1.0, None, None)
    for row in range(3):
        order = np.argsort(-probs[row])
        keep = order[: int(np.searchsorted(np.cumsum(probs[row][order]), 0.6)) + 1]
        assert set(np.flatnonzero(fast[row])) == set(keep)


def test_key_outside_finds_the_scale():
    c_major = np.array([5, 0, 3, 0, 4, 2, 0, 4, 0, 2, 0, 1], float)
    assert set(np.flatnonzero(sampling.key_outside(c_major)[0] == 0)) == {0, 2, 4, 5, 7, 9, 11}
    a_minor = np.roll(np.array([5, 0, 3, 4, 0, 2, 0, 4, 2, 0, 1, 2], float), 9)
    assert 8 not in np.flatnonzero(sampling.key_outside(a_minor)[0])  # G# belongs to A minor


def test_the_key_guide_keeps_the_music_in_key():
    words = [f"{p}:1/4" for p in range(48, 84)]
    vocab = Vocabulary(words)
    model, _ = tiny_model(vocab_size=len(vocab))
    step = make_step(model)
    seed = [[vocab.index[f"{p}:1/4"] for p in (60, 64, 67, 72, 67, 64, 65, 62, 59, 60)]]
    white = {0, 2, 4, 5, 7, 9, 11}

    def share_in_c(guide):
        result = sampling.sample(step, seed, SamplingConfig(events=200, seed=1, key_guide=guide),
                                 np.random.default_rng(1), codec=WordCodec(vocab))
        pcs = [int(vocab.words[i].split(":")[0]) % 12 for i in result.ids[0]]
        return sum(pc in white for pc in pcs) / len(pcs)

    guided, free = share_in_c(6.0), share_in_c(0.0)
    assert guided > free + 0.15, (guided, free)
