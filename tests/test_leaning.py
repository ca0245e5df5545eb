"""A network's leaning by interval: what it adds to which logits, saved in a bundle, and fitted
to agree with the counts it is fitted on."""

from __future__ import annotations

import numpy as np
import pytest

from bachgen.errors import BundleError
from bachgen.evaluation import calibration
from bachgen.leaning import SPAN, Leaner, Leaning, read_leaning, write_leaning

P = 30  # pitches of a toy codec: ids 1..P struck, P+1..2P held, then durations
V = 2 * P + 4


def one(family: str, index: int, value: float = 1.0) -> Leaning:
    values = {"bass": [0.0] * (2 * SPAN + 1), "above": [0.0] * 12, "top": [0.0] * (2 * SPAN + 1)}
    values[family][index] = value
    return Leaning(tuple(values["bass"]), tuple(values["above"]), tuple(values["top"]))


def rows(prev: list[int], cur: list[int], last: int):
    p, c = np.zeros((1, P), dtype=bool), np.zeros((1, P), dtype=bool)
    p[0, prev], c[0, cur] = True, True
    return np.zeros((1, V), dtype=np.float32), p, c, np.array([last])


def test_the_first_pitch_of_an_event_leans_by_its_interval_from_the_last_bass():
    logits, prev, cur, last = rows([5, 20], [], -1)
    out = Leaner(one("bass", SPAN + 12), P).add(logits, prev, cur, last)
    assert out[0, 1 + 17] == 1.0 and out.sum() == 1.0  # struck 5 + 12, nothing else
    later = Leaner(one("bass", SPAN + 12), P).add(*rows([5, 20], [7], 7))
    assert later.sum() == 0.0  # only the first pitch of an event is a bass move


def test_later_pitches_lean_by_their_class_above_this_bass_struck_or_held():
    out = Leaner(one("above", 11), P).add(*rows([3], [4], 4))
    assert out[0, 1 + 15] == out[0, 1 + P + 15] == out[0, 1 + 27] == 1.0  # 4 + 11 and 4 + 23
    assert out[0, 1 + 16] == 0.0


def test_the_top_leans_by_the_interval_from_the_last_top_and_a_rest_leans_nothing():
    out = Leaner(one("top", SPAN - 5), P).add(*rows([2, 20], [], -1))
    assert out[0, 1 + 15] == 1.0 and out.sum() == 1.0
    assert Leaner(one("top", SPAN - 5), P).add(*rows([], [], -1)).sum() == 0.0


def test_a_bundle_keeps_its_leaning(tmp_path):
    assert read_leaning(tmp_path) is None
    leaning = one("bass", 3, 0.25)
    write_leaning(tmp_path, leaning)
    assert read_leaning(tmp_path) == leaning
    with pytest.raises(BundleError):
        Leaning(bass=(0.0,))


def test_the_fit_agrees_with_the_counts_it_is_fitted_on():
    """Flat logits; Bach leaps an octave up from the last bass at half the positions, steps a
    semitone down at the others."""
    found = calibration.Positions()
    allow = np.full(V, 0.0, dtype=np.float32)
    prev = np.zeros(P, dtype=bool)
    prev[10] = True
    index = calibration._interval_index(type("Codec", (), {"pitches": P, "vocab_size": V})(), prev, -1, -1)
    for i in range(200):
        found.logits.append(allow)
        found.targets.append(1 + 22 if i % 2 else 1 + 9)
        for k, v in index.items():
            found.index[k].append(v)
        found.held_out.append(i >= 180)
    leaning, figures = calibration.fit_leaning(found, rounds=30)
    assert set(np.argsort(leaning.bass)[-2:]) == {SPAN + 12, SPAN - 1}
    assert leaning.bass[SPAN + 12] == pytest.approx(leaning.bass[SPAN - 1])
    assert figures["held_out_bits_after"] < figures["held_out_bits_before"]


def test_a_few_rows_lean_as_many_rows_do_bit_for_bit():
    rng = np.random.default_rng(5)
    leaning = Leaning(*(tuple(rng.normal(size=n)) for n in (2 * SPAN + 1, 12, 2 * SPAN + 1)))
    leaner = Leaner(leaning, P)
    logits = rng.normal(size=(12, V)).astype(np.float32)
    prev, cur = rng.random((12, P)) < 0.15, rng.random((12, P)) < 0.1
    prev[0], cur[1] = False, False  # after a rest; nothing written yet
    last = np.where(cur.any(axis=1), P - 1 - cur[:, ::-1].argmax(axis=1), -1)
    many = leaner.add(logits, prev, cur, last)
    few = np.concatenate([leaner.add(logits[i:i + 2], prev[i:i + 2], cur[i:i + 2], last[i:i + 2])
                          for i in range(0, 12, 2)])
    assert np.array_equal(many, few)


def ends(close: dict[int, float] = {}, count: dict[int, float] = {}, length: dict[int, float] = {}) -> Leaning:
    """A leaning on the ends of events only: ``close`` by semitones from the last top, ``count``
    by pitches in the event, ``length`` by duration (the toy codec's three, ids 2P+1..2P+3)."""
    c, n, d = [0.0] * (2 * SPAN + 1), [0.0] * 9, [0.0] * (V - 1 - 2 * P)
    for k, v in close.items():
        c[SPAN + k] = v
    for k, v in count.items():
        n[k] = v
    for k, v in length.items():
        d[k] = v
    return Leaning(close=tuple(c), count=tuple(n), length=tuple(d))


@pytest.mark.parametrize("prev, cur, leaning, added", [
    ([5, 20], [8, 15], ends(close={-5: 1.0}), 1.0),     # the event's top 15 ends a fourth below 20
    ([5, 20], [8, 16], ends(close={-5: 1.0}), 0.0),     # a major third below: not that number
    ([], [8, 15], ends(close={-5: 1.0}), 0.0),          # after a rest there is no last top
    ([5, 20], [8, 15], ends(count={2: -0.5}), -0.5),    # two pitches
    ([5, 20], [], ends(count={0: 0.25}), 0.25),         # a rest
])
def test_the_end_of_an_event_leans_by_its_top_and_its_size(prev, cur, leaning, added):
    out = Leaner(leaning, P, V - 1 - 2 * P, 8).add(*rows(prev, cur, cur[-1] if cur else -1))
    assert np.all(out[0, 1 + 2 * P:] == added) and not out[0, :1 + 2 * P].any()


def test_each_duration_has_its_own_number_and_a_codec_it_does_not_fit_is_refused():
    out = Leaner(ends(length={1: 0.5}), P, V - 1 - 2 * P, 8).add(*rows([3], [4], 4))
    assert out[0, 1 + 2 * P:].tolist() == [0.0, 0.5, 0.0]
    with pytest.raises(BundleError, match="do not fit this codec"):
        Leaner(ends(length={1: 0.5}), P, 5, 8)


def test_a_leaning_with_ends_is_saved_and_an_older_one_still_reads(tmp_path):
    leaning = Leaning(close=(0.5,) * (2 * SPAN + 1), count=(0.25,) * 9, length=(-1.0,) * 3)
    write_leaning(tmp_path, leaning)
    assert read_leaning(tmp_path) == leaning and leaning.ends
    older = {"span": 14, "bass": [0.0] * 14 + [0.5] + [0.0] * 14, "above": [0.0] * 12, "top": [0.0] * 29}
    read = Leaning.from_json(older)  # narrower, and nothing on the ends of events
    assert not read.ends and len(read.bass) == 2 * SPAN + 1 and read.bass[SPAN] == 0.5 and sum(read.bass) == 0.5


def test_a_few_rows_lean_their_ends_as_many_rows_do_bit_for_bit():
    rng = np.random.default_rng(6)
    sizes = (2 * SPAN + 1, 12, 2 * SPAN + 1, 2 * SPAN + 1, 9, V - 1 - 2 * P, 2 * SPAN + 1)
    leaner = Leaner(Leaning(*(tuple(rng.normal(size=n)) for n in sizes)), P, V - 1 - 2 * P, 8)
    logits = rng.normal(size=(12, V)).astype(np.float32)
    prev, cur = rng.random((12, P)) < 0.15, rng.random((12, P)) < 0.1
    prev[0], cur[1] = False, False
    last = np.where(cur.any(axis=1), P - 1 - cur[:, ::-1].argmax(axis=1), -1)
    many = leaner.add(logits, prev, cur, last)
    few = np.concatenate([leaner.add(logits[i:i + 2], prev[i:i + 2], cur[i:i + 2], last[i:i + 2])
                          for i in range(0, 12, 2)])
    assert np.array_equal(many, few)


def test_the_likely_top_leans_by_its_move_from_the_last_top():
    """The last event had three pitches and two are written: the third is most likely the top."""
    values = [0.0] * (2 * SPAN + 1)
    values[SPAN - 5] = 1.0
    leaner = Leaner(Leaning(high=tuple(values)), P)
    out = leaner.add(*rows([2, 10, 20], [3, 8], 8))
    assert out[0, 1 + 15] == 1.0 and out.sum() == 1.0
    assert leaner.add(*rows([2, 10, 20], [3], 3)).sum() == 0.0  # one pitch more may come above it
