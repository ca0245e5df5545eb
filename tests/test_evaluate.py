"""Held-out scoring: the n-gram, the unknown-word floor, the word model (``assets/words``)
against both baselines; a spelled bundle against an n-gram and the original architecture
over its own tokens."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest

from bachgen.bundle import words_bundle_dir
from bachgen.codecs import WordCodec
from bachgen.config import TokenConfig
from bachgen.dataset import split_pieces
from bachgen.evaluate import (KneserNey, add_evaluate_parser,
                              escape_probability, evaluate_ngram, score_pieces)
from bachgen.tokens import Vocabulary

WORDS = ["60:1/2", "62:1/2", "64:1/2", "R:1/2"]


def test_kneser_ney_gives_a_distribution_for_seen_and_unseen_contexts():
    seqs = [[1, 2, 3, 1, 2, 4], [2, 3, 3, 1]]
    model = KneserNey(seqs, vocab_size=6)
    for u, v in [(1, 2), (KneserNey.BOS, KneserNey.BOS), (3, 3), (-1, -1), (5, 5)]:
        dist = model.distribution(u, v)
        assert dist[0] == 0.0 and (dist[1:] > 0).all()
        assert math.isclose(dist.sum(), 1.0, rel_tol=1e-9)
    assert model.distribution(1, 2)[3] > model.distribution(1, 2)[5]  # seen beats unseen


def test_scoring_charges_known_words_and_unknown_words_as_documented():
    codec = WordCodec(Vocabulary(WORDS, [4, 1, 1, 2]))
    escape = escape_probability(codec)
    assert escape == pytest.approx(2 / 8)
    uniform = lambda ids, exact: np.tile(np.r_[0.0, [0.25] * 4], (len(ids) - 1, 1))
    known = score_pieces("u", uniform, codec, [codec.targets_of_words(["60:1/2", "62:1/2", "64:1/2"])],
                         notes=3)
    first = -math.log2(4 / 8 * (1 - escape))  # the first word: training unigram
    assert known.bits == pytest.approx(first + 2 * -math.log2(0.25 * (1 - escape)))
    assert known.bits_per_note == pytest.approx(known.bits / 3)
    unknown = score_pieces("u", uniform, codec, [codec.targets_of_words(["60:1/2", "61.65:1/2"])], notes=3)
    assert unknown.unknown_words == 1
    spelled = codec.spelling_bits("61.65:1/2")
    assert unknown.bits == pytest.approx(first - math.log2(escape) + spelled)
    # every word lasts an eighth: one known duration, +1 for any other
    assert spelled == pytest.approx(math.log2(12) + math.log2(math.comb(88, 2)) + 1)


def test_evaluate_parser_can_be_extended_by_another_module():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command")
    evaluate = add_evaluate_parser(commands)
    evaluate.add_argument("--generated")
    args = parser.parse_args(["evaluate", "--json", "--generated", "x.mid"])
    assert args.json and args.generated == "x.mid" and callable(args.handler)


def test_ngram_on_the_held_out_fugues_is_finite_and_beats_uniform(corpus_pieces):
    split = split_pieces(corpus_pieces)
    codec, _ = WordCodec.fit(split.train, TokenConfig(transpose="common", holds=False))
    scores = evaluate_ngram(split.train, split.test, codec)
    assert math.isfinite(scores.bits) and scores.bits > 0
    assert scores.events > 1000 and scores.notes > scores.events
    assert scores.bits_per_event < math.log2(codec.vocab_size)  # far better than a uniform guess
    assert 0 < scores.top1 <= scores.top5 < 1


@pytest.mark.slow
def test_the_word_model_beats_the_ngram(corpus_pieces, capsys):
    """Its original-architecture baseline no longer ships; its figures stay in the word card."""
    if not (words_bundle_dir() / "model.keras").is_file():
        pytest.fail(f"No word model in {words_bundle_dir()}.")
    from bachgen.cli import main

    assert main(["evaluate", "--json", "--model", str(words_bundle_dir())]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "baseline_error" not in report
    bits = {m["model"]: m["bits_per_note"] for m in report["models"]}
    assert set(bits) == {"lstm (shipped)", "kneser-ney-trigram"}
    assert all(math.isfinite(b) for b in bits.values())
    assert bits["lstm (shipped)"] < bits["kneser-ney-trigram"]


def test_a_spelled_bundle_is_scored_beside_an_ngram_and_the_original_architecture(tiny_spelled_dir, capsys):
    from bachgen.cli import main

    assert main(["evaluate", "--json", "--model", str(tiny_spelled_dir), "--baseline", str(tiny_spelled_dir),
                 "--ngram-order", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "spelled" and "durations" in report["not_comparable"]
    rows = {m["model"]: m for m in report["models"]}
    assert set(rows) == {"lstm (shipped)", "kneser-ney 2-gram", "original architecture, same tokens"}
    for row in rows.values():
        assert row["pieces"] == sorted(report["held_out"])
        parts = row["struck"] + row["held"] + row["duration"]
        assert math.isfinite(row["bits_per_note"]) and parts == pytest.approx(row["bits_per_note"], abs=0.01)
    assert rows["lstm (shipped)"]["bits_per_note"] == rows["original architecture, same tokens"]["bits_per_note"]


def test_a_baseline_of_other_tokens_is_named_not_scored(tiny_spelled_dir, tmp_path, capsys):
    from bachgen.cli import main

    assert main(["evaluate", "--model", str(tiny_spelled_dir), "--baseline", str(words_bundle_dir()),
                 "--ngram-order", "1"]) == 0
    out = capsys.readouterr().out
    assert "original architecture not scored" in out and "kneser-ney 1-gram" in out
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
