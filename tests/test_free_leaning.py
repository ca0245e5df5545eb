"""A leaning set from the takes: what it counts in tokens, and how a round moves its numbers."""

from __future__ import annotations

import numpy as np
import pytest

from bachgen.codec import SpelledCodec
from bachgen.evaluation import free_leaning
from bachgen.config import FormConfig
from bachgen.leaning import SPAN, Leaning

from .conftest import make_piece


@pytest.fixture(scope="module")
def codec_and_ids():
    """Two quarter-note events: C3 + C4, then the bass an octave down (C2) under G3, the top a
    fourth below C4; then an eighth holding the G3 over a struck G2."""
    piece = make_piece((0, 48, 48), (0, 48, 60), (48, 48, 36), (48, 72, 55), (96, 24, 43))
    codec = SpelledCodec.build([piece])
    return codec, codec.encode(piece)


def test_the_lines_are_counted_as_the_leaning_sees_them(codec_and_ids):
    codec, ids = codec_and_ids
    c = free_leaning.line_counts(codec, [ids])
    hit = {k: {i - (SPAN if k in free_leaning.LINES else 0): n for i, n in enumerate(v) if n}
           for k, v in c.hits.items()}
    assert hit["bass"] == {-12: 1, 7: 1}                 # C3 → C2, C2 → G2
    assert hit["above"] == {0: 2, 7: 1}                  # C4 over C3, G3 over C2, G3 over G2
    assert hit["top"] == {-24: 1, -5: 1, -12: 1}         # struck: C2 and G3 from C4, G2 from G3
    assert c.seen["top"] == 4                            # every pitch after a sounding event, G3 held too
    assert hit["close"] == {-5: 1} and c.seen["close"] == 2  # the tops: C4 → G3 struck; G3 held is no move
    assert hit["count"] == {2: 3}
    assert hit["high"] == {-5: 1}                        # the second of two: G3 struck; G3 held is no move
    assert c.seen["high"] == 2
    lengths = {codec.durations[i]: n for i, n in enumerate(c.hits["length"]) if n}
    assert lengths == {48: 2, 24: 1} and c.seen["length"] == 3


def test_a_round_leans_against_what_the_takes_write_too_often(codec_and_ids):
    codec, ids = codec_and_ids
    bach = free_leaning.line_counts(codec, [ids] * 20)
    takes = free_leaning.LineCounts.empty(codec)
    takes.hits["close"][SPAN - 5] = 60  # the takes' top falls a fourth at every event, Bach's at half
    takes.seen["close"] = 60
    for k in ("bass", "above", "top", "count", "length"):
        takes.hits[k], takes.seen[k] = bach.hits[k].copy(), bach.seen[k]
    start = free_leaning.as_numbers(Leaning(), codec)
    after = free_leaning.moved(start, bach, takes, damping=0.7)
    assert after["close"][SPAN - 5] < 0 and np.count_nonzero(after["close"]) == 1
    assert np.abs(after["close"]).max() <= free_leaning.STEP
    assert all(np.allclose(after[k], 0) for k in ("bass", "above", "top", "count", "length"))
    assert free_leaning.distance(bach, takes)["close"] > 0.2 and free_leaning.distance(bach, bach)["close"] == 0
    assert free_leaning.as_leaning(after).ends


def test_free_rounds_need_the_fit(capsys):
    from bachgen.cli import main

    assert main(["evaluate", "--calibration", "--free-rounds", "2"]) == 2
    assert "--free-rounds needs --fit" in capsys.readouterr().err


def test_a_rare_case_stays_and_no_number_runs_away(codec_and_ids):
    codec, ids = codec_and_ids
    bach = free_leaning.line_counts(codec, [ids] * 4)   # 4 closes a fourth below, 4 holding the top
    takes = free_leaning.line_counts(codec, [ids] * 4)
    takes.hits["close"][SPAN] += 200                    # the takes hold the top far more often
    takes.seen["close"] += 200
    start = free_leaning.as_numbers(Leaning(), codec)
    start["close"][SPAN] = -free_leaning.LIMIT + 0.1
    after = free_leaning.moved(start, bach, takes, damping=1.0)
    assert after["close"][SPAN - 5] == 0.0              # 8 seen in all: too rare to move
    assert after["close"][SPAN] == -free_leaning.LIMIT  # moved down, held at the limit


@pytest.mark.slow
def test_a_round_draws_the_takes_and_leans_the_engine_it_drew_with(engine):
    """The plumbing on the tiny network: a round draws a take from every fugue, counts it, and
    the engine draws with the moved leaning afterwards."""
    kept = []
    leaning, history = free_leaning.fit_free(engine, Leaning(), FormConfig(best_of=1), rounds=1,
                                             keep=lambda lean, figures: kept.append(lean))
    assert kept == [leaning] and engine.bundle.leaning == leaning and engine.step.leaner is not None
    assert leaning.ends and history[0]["seed"] == free_leaning.FIT_SEEDS[0]
    assert set(history[0]["distance"]) == {"bass", "above", "top", "close", "count", "length", "high"}
    assert any(v > 0 for v in history[0]["distance"].values())
    engine.lean(None)
    assert engine.step.leaner is None


def test_a_line_s_leaps_past_an_octave_move_together():
    g = free_leaning.groups("bass", 2 * SPAN + 1)
    assert g[0] == g[SPAN - 13] != g[SPAN - 12] and g[-1] == g[SPAN + 13] != g[SPAN + 12]
    assert len(set(g)) == 27 and list(free_leaning.groups("count", 9)) == list(range(9))


def test_rare_leaps_past_an_octave_are_leaned_towards_together(codec_and_ids):
    codec, ids = codec_and_ids
    bach, takes = (free_leaning.line_counts(codec, [ids] * 10) for _ in range(2))
    bach.hits["bass"][SPAN - 15] += 15          # Bach's bass comes in far below, 15 + 15 times
    bach.hits["bass"][SPAN - 20] += 15
    bach.seen["bass"] += 30
    after = free_leaning.moved(free_leaning.as_numbers(Leaning(), codec), bach, takes, damping=0.5)
    far = after["bass"][:SPAN - 12]
    assert far.min() == far.max() > 0 and far[0] > after["bass"][SPAN - 12:].max()
