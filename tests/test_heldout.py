"""Held-out scoring of a spelled bundle: the Kneser-Ney n-gram, a bundle against an n-gram and
the original architecture over its own tokens, the command line."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bachgen.evaluation.heldout import KneserNeyN, evaluate_held_out, format_held_out


def test_kneser_ney_gives_a_distribution_for_seen_and_unseen_contexts():
    model = KneserNeyN([[1, 2, 3, 1, 2, 4], [2, 3, 3, 1]], vocab_size=6, order=3)
    for history in ([1, 2], [], [3, 3], [5, 5], [4]):
        dist = model.distribution(history)
        assert dist[0] == 0.0 and (dist[1:] > 0).all()
        assert math.isclose(dist.sum(), 1.0, rel_tol=1e-9)
    assert model.distribution([1, 2])[3] > model.distribution([1, 2])[5]  # seen beats unseen
    bits = model.bits([1, 2, 3])
    assert bits.shape == (3,) and np.isfinite(bits).all() and (bits > 0).all()


def test_a_spelled_bundle_is_scored_beside_an_ngram_and_the_original_architecture(tiny_spelled_dir, capsys):
    from bachgen.cli import main

    assert main(["evaluate", "--json", "--model", str(tiny_spelled_dir), "--baseline", str(tiny_spelled_dir),
                 "--ngram-order", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "spelled" and "baseline_error" not in report
    rows = {m["model"]: m for m in report["models"]}
    assert set(rows) == {"lstm (shipped)", "kneser-ney 2-gram", "original architecture, same tokens"}
    for row in rows.values():
        assert row["pieces"] == sorted(report["held_out"])
        parts = row["struck"] + row["held"] + row["duration"]
        assert math.isfinite(row["bits_per_note"]) and parts == pytest.approx(row["bits_per_note"], abs=0.01)
    assert rows["lstm (shipped)"]["bits_per_note"] == rows["original architecture, same tokens"]["bits_per_note"]


def test_a_baseline_that_cannot_be_read_is_named_not_scored(tiny_spelled_dir, tmp_path, corpus_pieces):
    report = evaluate_held_out(corpus_pieces, tiny_spelled_dir, tmp_path / "nothing", ngram_order=1)
    assert "baseline_error" in report and len(report["models"]) == 2
    text = format_held_out(report)
    assert "original architecture not scored" in text and "kneser-ney 1-gram" in text


def test_a_bad_ngram_order_is_refused(tiny_spelled_dir):
    from bachgen.cli import main

    assert main(["evaluate", "--model", str(tiny_spelled_dir), "--ngram-order", "0"]) == 2


@pytest.mark.slow
def test_the_shipped_spelled_model_beats_the_ngram_and_the_original_architecture(corpus_pieces, capsys):
    from bachgen.cli import main

    assert main(["evaluate", "--json"]) == 0  # assets/model against assets/original
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "spelled" and "baseline_error" not in report
    bits = {m["model"]: m["bits_per_note"] for m in report["models"]}
    assert set(bits) == {"lstm (shipped)", "kneser-ney 6-gram", "original architecture, same tokens"}
    assert bits["lstm (shipped)"] < bits["kneser-ney 6-gram"]
    assert bits["lstm (shipped)"] < bits["original architecture, same tokens"]
