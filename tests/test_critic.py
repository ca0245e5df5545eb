"""The critic of ``bachgen evaluate --generated``: what it counts in a hand-made piece, that its
forest tells two different populations apart and not two draws of the same, deterministically."""

from __future__ import annotations

import numpy as np
import pytest

from bachgen.evaluation import critic, report

from .conftest import make_piece

Q = 48  # ticks per quarter note
TREES = 40  # a small forest: the tests check the plumbing, the report uses critic.TREES


def little_piece(leap: int = 12):
    """A bass C3 G2 (G2 + ``leap``) C3 under E4 (held over the second beat) F4 E4, in quarters."""
    return make_piece((0, Q, 48), (Q, Q, 43), (2 * Q, Q, 43 + leap), (3 * Q, Q, 48),
                      (0, 2 * Q, 64), (2 * Q, Q, 65), (3 * Q, Q, 64))


def test_the_counts_of_a_hand_made_piece():
    counts = critic.piece_counts(little_piece())
    assert counts["bass"] == {"-5": 1, "+12": 1, "-7": 1}
    assert counts["top"] == {"+1": 1, "-1": 1}  # the held E4 is no move of the top line
    assert counts["above"] == {"4": 2, "9": 1, "10": 1}
    assert counts["sounding"] == {"2": 4}
    assert counts["gap"] == {"1": 4}


def test_bins_of_leaps_gaps_and_chords():
    assert [critic.interval_bin(d) for d in (-19, -12, 0, 7, 13)] == ["<-12", "-12", "0", "+7", ">12"]
    assert critic.gap_bin(Q // 4, Q) == "1/4" and critic.gap_bin(5, Q) == "other"
    assert critic.sounding_bin(0) == "0" and critic.sounding_bin(9) == "6+"


def test_a_rest_keeps_the_line_and_counts_as_silence():
    counts = critic.piece_counts(make_piece((0, Q, 48), (2 * Q, Q, 60)))
    assert counts["bass"] == {"+12": 1} and counts["sounding"] == {"1": 2, "0": 1}


def test_feature_vector_shares_each_family():
    vector = critic.feature_vector(critic.piece_counts(little_piece()))
    assert vector.shape == (len(critic.FEATURES),)
    assert vector[critic.FEATURES.index("bass +12")] == pytest.approx(1 / 3)
    assert vector[critic.FEATURES.index("above 4")] == pytest.approx(0.5)
    assert vector.sum() == pytest.approx(len(critic.BINS))  # every family sums to one


def populations(shift: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 1.0, (30, 6)), rng.normal(shift, 1.0, (30, 6))


def test_the_forest_tells_two_populations_apart():
    a, b = populations(1.5)
    assert critic.critic_accuracy(a, b, seed=1, trees=TREES)["accuracy"] > 0.85


def test_the_forest_cannot_tell_one_population_from_itself():
    a, b = populations(0.0)
    assert critic.critic_accuracy(a, b, seed=1, trees=TREES)["accuracy"] < 0.65


def test_the_same_seed_gives_the_same_verdict():
    a, b = populations(0.5)
    first = critic.critic_accuracy(a, b, seed=7, trees=TREES)
    assert critic.critic_accuracy(a, b, seed=7, trees=TREES) == first


def test_the_tells_name_what_differs():
    leaping = [critic.piece_counts(little_piece(12)) for _ in range(10)]
    stepping = [critic.piece_counts(little_piece(10)) for _ in range(10)]
    verdict = critic.critic_compare(leaping, stepping, seed=3, trees=TREES)
    assert verdict["classifier"]["accuracy"] == 1.0
    assert {t["feature"] for t in verdict["tells"][:2]} & {"bass +12", "bass +10", "bass -7", "bass -5"}
    octave = next(t for t in verdict["watched"] if t["tell"] == "bass octave leaps")
    assert octave["rate"] == pytest.approx(1 / 3, abs=1e-4) and octave["real_rate"] == 0.0 and octave["ratio"] is None
    assert not octave["within_30_percent"]


def test_the_report_lists_the_critic():
    counts = [critic.piece_counts(little_piece(12 if i % 2 else 10)) for i in range(10)]
    verdict = critic.critic_compare(counts[:5], counts[5:], seed=3, trees=TREES)
    row = {"critic": verdict, "label": "generated", "sampling_seeds": [
        {"seed": 1, "critic": 0.5, "critic_sd": 0.1, "watched": verdict["watched"]}]}
    text = "\n".join(report._critic_lines({"rows": {"generated": row}}))
    assert "bass octave leaps" in text and "seed 1: critic 0.50" in text


def test_calibration_counts_bach_and_gives_the_network_a_share(tiny_spelled_dir):
    from bachgen.bundle import load_bundle
    from bachgen.evaluation import calibration

    pieces = [little_piece()]
    result = calibration.calibration(load_bundle(tiny_spelled_dir), pieces)
    bass = result["bass"]
    assert bass["+12"]["real"] == pytest.approx(100 / 3, abs=0.01)  # G2 to G3, of three bass moves
    assert bass["-5"]["real"] == bass["-7"]["real"] == bass["+12"]["real"]
    assert 0 < sum(v["model"] for v in bass.values()) <= 100
    assert sum(v["real"] for v in result["above"].values()) == pytest.approx(50)  # half the positions end the event
    assert "+12" in calibration.format_calibration(result)
