"""Loops and copies of the corpus taken back while the spelled model draws (:class:`EventWatch`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bachgen.codec import SpelledCodec
from bachgen.errors import ConfigError
from bachgen.events import Event
from bachgen.guards import CopyIndex, EventWatch, LoopRule, find_loops, loop_at_end

from .conftest import make_piece

CODEC = SpelledCodec(durations=(6, 12, 24, 48, 96), max_pitches=4, meters=[(4, 4)])
SEED = replace(make_piece((0, 48, 60), (48, 24, 62), (72, 24, 64), (96, 96, 48)), key="C", name="seed")
RULE = LoopRule(max_period=2, min_repeats=3, min_events=6)


def ev(*pitches: int, duration: int = 24) -> Event:
    return Event(0, duration, tuple(pitches))


# --------------------------------------------------------------------------- the watch alone


@pytest.mark.parametrize("pattern, back", [
    ("AAAAAA", 5),        # period 1: five repeats go, one A stays
    ("ABABAB", 4),        # period 2 over 6 events: one block stays
    ("ABCABC", 0),        # period 3 is beyond the rule's max_period
    ("AABBAA", 0),
])
def test_watch_takes_back_the_repeats_of_a_loop(pattern, back):
    events = {"A": ev(60), "B": ev(62), "C": ev(64, 67)}
    watch = EventWatch([[]], RULE)
    answers = [watch.push(0, events[c]) for c in pattern]
    assert answers == [0] * (len(pattern) - 1) + [back]
    assert watch.loops_taken_back == [1 if back else 0]


def _loop_by_definition(seq, max_period, min_repeats, min_events):
    n = len(seq)
    for period in range(1, max_period + 1):
        span = max(min_events, min_repeats * period)
        if span <= n and all(seq[n - span + i] == seq[n - span + i - period] for i in range(period, span)):
            return period, span
    return None


def test_loop_at_end_is_its_definition():
    """It looks at the last pair of each period first: the same answers."""
    rng = np.random.default_rng(2)
    for _ in range(2000):
        seq = rng.integers(0, rng.integers(1, 4), rng.integers(0, 30)).tolist()
        for rule in [(8, 3, 16), (2, 3, 6), (3, 1, 2), (4, 2, 1), (5, 1, 1)]:
            assert loop_at_end(seq, *rule) == _loop_by_definition(seq, *rule), (seq, rule)


def test_watch_budget_lets_events_stand():
    watch = EventWatch([[]], RULE, budget=1)
    first = [watch.push(0, ev(60)) for _ in range(6)]
    second = [watch.push(0, ev(60)) for _ in range(8)]
    assert first[-1] == 5 and not any(second) and watch.budget == [0]


def test_watch_refuses_an_event_that_makes_a_copy_too_long():
    corpus = [ev(60), ev(62), ev(64), ev(65), ev(67)]
    index = CopyIndex([corpus], limit=3)
    watch = EventWatch([[]], LoopRule(), index)
    # the first four events of the corpus a fifth higher: the fourth makes a run of 4 > 3
    assert [watch.push(0, ev(p + 7)) for p in (60, 62, 64, 65)] == [0, 0, 0, 1]
    assert watch.copies_refused == [1]
    assert watch.push(0, ev(80)) == 0  # another way on is kept


def test_watch_counts_the_seed_as_part_of_a_copy():
    corpus = [ev(60), ev(62), ev(64), ev(65), ev(67)]
    watch = EventWatch([corpus[:3]], LoopRule(), CopyIndex([corpus], limit=3))
    assert watch.push(0, ev(65)) == 1


# --------------------------------------------------------------------------- loops and copies alone


@pytest.mark.parametrize("seq, expected", [
    ([5] * 16, (1, 16)),
    ([9, 9] + [5] * 16, (1, 16)),
    ([1, 2] * 8, (2, 16)),
    ([7] + [1, 2, 3] * 5 + [1], (3, 16)),
    (list(range(1, 9)) * 3, (8, 24)),
    ([4] + list(range(1, 7)) * 3, (6, 18)),
])
def test_loops_at_the_end_are_found(seq, expected):
    assert loop_at_end(seq) == expected


@pytest.mark.parametrize("seq", [
    list(range(40)),
    [5] * 15,
    [1, 2] * 7,
    list(range(1, 9)) * 2 + list(range(1, 8)),
    list(range(1, 10)) * 4,          # period 9 is longer than a loop
    [5] * 16 + [6],                  # the loop is over
])
def test_no_loop_is_reported_where_there_is_none(seq):
    assert loop_at_end(seq) is None


def test_find_loops_counts_every_position_that_ends_a_loop():
    assert find_loops(list(range(50))) == 0
    assert find_loops([1, 2] * 8) == 1
    assert find_loops([1, 2] * 9) == 3
    assert find_loops(list(range(30)) + [3] * 20 + list(range(30))) == 5


def melody(pitches, duration: int = 12) -> list[Event]:
    return [ev(p, duration=duration) for p in pitches]


COPY_CORPUS = [
    melody([60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62]),
    melody([50, 57, 55, 53, 52, 50, 49, 50]) + [Event(0, 24, ())] + melody([45, 47]),
]


def test_the_longest_copied_run_is_found_in_any_transposition():
    index = CopyIndex(COPY_CORPUS, limit=4)
    fresh = melody([90, 30, 95, 33])
    copied = melody([p + 5 for p in (62, 64, 65, 67, 69, 71, 72)])  # 7 events, a fourth up
    assert index.longest_run(fresh[:2] + copied + fresh[2:]) == 7
    assert index.longest_run(copied, exclude=[0]) == 2  # only the step 45-47 of the other piece
    changed = copied[:3] + melody([71]) + copied[4:]  # one interval broken
    assert index.longest_run(changed) == 3


def test_rests_carry_the_pitch_and_chords_match_by_shape():
    index = CopyIndex([[Event(0, 24, (48, 60)), Event(0, 12, ()), Event(0, 12, (50,), (62,)),
                        Event(0, 6, (52,))]], limit=2)
    assert index.longest_run([Event(0, 24, (41, 53)), Event(0, 12, ()), Event(0, 12, (43,), (55,)),
                              Event(0, 6, (45,))]) == 4
    assert index.longest_run([Event(0, 24, (41, 53)), Event(0, 12, ()), Event(0, 12, (43, 55)),
                              Event(0, 6, (45,))]) == 2  # hold differs
    assert index.longest_run([Event(0, 24, (41, 54)), Event(0, 12, ())]) == 1


def test_the_copy_index_does_not_care_where_events_start():
    index = CopyIndex(COPY_CORPUS, limit=4)
    copied = melody([p + 5 for p in (62, 64, 65, 67, 69, 71, 72)])
    later = [replace(e, start=96 + 12 * i) for i, e in enumerate(copied)]
    assert index.relative(copied) == index.relative(later)
    assert index.longest_run(later) == 7


# --------------------------------------------------------------------------- the sampler with a watch


@pytest.fixture(scope="module")
def tiny_bundle():
    from bachgen.bundle import Bundle
    from bachgen.config import NetConfig
    from bachgen.network import build_model

    net = NetConfig(embed=8, units=12, quarter_embed=2, phase_embed=3, meter_embed=2, key_embed=2)
    return Bundle(build_model(CODEC, net, seed=3), CODEC, net, {})


def _draw(bundle, temperature, watch=None, rows=2, events=60, seed=5):
    from bachgen.rows import SampleSettings, seed_row
    from bachgen.sampling import sample_ids
    from bachgen.step import load_step

    row, _ = seed_row(CODEC, SEED, seed_events=4)
    return sample_ids(load_step(bundle), CODEC, [row] * rows, events, SampleSettings(temperature, 0, 1.0),
                      np.random.default_rng(seed), watch=watch)


def _seed_events():
    from bachgen.rows import seed_row

    row, _ = seed_row(CODEC, SEED, seed_events=4)
    return CODEC.events(row.ids, row.start)


def _numbers(ids):
    seen: dict = {}
    return [seen.setdefault((e.struck, e.held, e.duration), len(seen)) for e in CODEC.events(ids)]


@pytest.fixture(scope="module")
def narrow_bundle():
    """A network that only likes a few tokens, whatever it reads: drawn greedily it loops."""
    from bachgen.bundle import Bundle
    from bachgen.config import NetConfig
    from bachgen.network import build_model

    net = NetConfig(embed=8, units=12, quarter_embed=2, phase_embed=3, meter_embed=2, key_embed=2)
    model = build_model(CODEC, net, seed=3)
    kernel, bias = model.get_layer("logits").get_weights()
    bias[:] = -10.0
    ids = {CODEC.token_name(i): i for i in range(1, CODEC.vocab_size)}
    for name, logit in {"S60": 5.0, "S64": 4.5, "S67": 4.0, "D24": 4.2, "D48": 3.8}.items():
        bias[ids[name]] = logit
    model.get_layer("logits").set_weights([kernel * 0.0, bias])
    return Bundle(model, CODEC, net, {})


def test_a_network_stuck_in_a_loop_is_taken_back_out_of_it(narrow_bundle):
    plain = _draw(narrow_bundle, 0.05)
    assert all(find_loops(_numbers(ids), 2, 3, 6) for ids in plain)  # the premise: it gets stuck
    watch = EventWatch([_seed_events()] * 2, RULE, budget=500)
    guarded = _draw(narrow_bundle, 0.05, watch)
    for ids in guarded:
        assert len(CODEC.events(ids)) == 60
        assert find_loops(_numbers(ids), 2, 3, 6) == 0
    assert min(watch.loops_taken_back) > 0


def test_a_watch_that_never_takes_back_changes_nothing(tiny_bundle):
    plain = _draw(tiny_bundle, 1.0)
    assert _draw(tiny_bundle, 1.0, EventWatch([_seed_events()] * 2, RULE, budget=0)) == plain


def test_copies_of_the_index_stop_at_its_limit(tiny_bundle):
    plain = _draw(tiny_bundle, 1.0, rows=1)[0]
    index = CopyIndex([CODEC.events(plain)], limit=4)  # "the corpus" is what the network would draw
    watch = EventWatch([_seed_events()], LoopRule(), index, budget=500)
    guarded = _draw(tiny_bundle, 1.0, watch, rows=1)[0]
    assert index.longest_run(CODEC.events(guarded)) <= 4 < index.longest_run(CODEC.events(plain))
    assert watch.copies_refused[0] > 0 and len(CODEC.events(guarded)) == 60


def test_the_watch_needs_the_numpy_step(tiny_bundle):
    from bachgen.rows import SampleSettings, seed_row
    from bachgen.sampling import sample_ids
    from bachgen.step import load_step

    row, _ = seed_row(CODEC, SEED, seed_events=4)
    with pytest.raises(ConfigError, match="NumPy step"):
        sample_ids(load_step(tiny_bundle, "tf"), CODEC, [row], 5, SampleSettings(),
                   np.random.default_rng(0), watch=EventWatch([[]]))


def test_guarded_takes_drawn_together_get_the_ids_they_get_alone(narrow_bundle, tiny_bundle):
    """Takes going back (loops, copies) and bars at their places, beside takes without a
    guard and others finishing earlier: each take's ids are its own."""
    from bachgen.rows import SampleSettings, TakeRows, seed_row
    from bachgen.sampling import sample_takes
    from bachgen.step import RowStableStep, load_step

    row, _ = seed_row(CODEC, SEED, seed_events=4)
    index = CopyIndex([CODEC.events(_draw(tiny_bundle, 1.0, rows=1)[0])], limit=4)
    plans = [(2, 60, SampleSettings(0.05, 0, 1.0), lambda: EventWatch([_seed_events()] * 2, RULE, budget=500)),
             (1, 25, SampleSettings(1.0, 0, 0.9), lambda: None),
             (1, 40, SampleSettings(0.05, 0, 1.0), lambda: EventWatch([_seed_events()], RULE, index, budget=30)),
             (3, 30, SampleSettings(1.5, 4, 1.0), lambda: None)]

    def takes():
        return [TakeRows([row] * rows, events, settings, np.random.default_rng(20 + i), None, watch())
                for i, (rows, events, settings, watch) in enumerate(plans)]

    for bundle in (narrow_bundle, tiny_bundle):
        step = RowStableStep(load_step(bundle))
        alone = [sample_takes(step, CODEC, [take])[0] for take in takes()]
        finished: list[int] = []
        together = sample_takes(step, CODEC, takes(), on_done=lambda i, ids: finished.append(i))
        assert together == alone and sorted(finished) == [0, 1, 2, 3]
        assert all(len(CODEC.events(ids)) == plans[i][1] for i, rows in enumerate(together) for ids in rows)
