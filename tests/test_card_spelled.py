"""The spelled model's card and ``bachgen train``/``bachgen card`` for it, on a tiny bundle."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import pytest

from bachgen import card
from bachgen.cli import build_parser, main, spelled_command, spelled_configs, train_codec
from .conftest import save_tiny_spelled

REPO = Path(__file__).resolve().parent.parent

#: Figures in the shapes the held-out and generated-music reports give today.
EVALUATION = {
    "held_out": {
        "lstm": {"wtc1f05": {"bits_per_note": 4.5, "tokens": 900, "notes": 300, "struck": 2.0,
                             "held": 0.5, "duration": 2.0},
                 "wtc1f12": {"bits_per_note": 5.5, "tokens": 900, "notes": 300, "struck": 2.5,
                             "held": 0.5, "duration": 2.5},
                 "pooled": {"bits_per_note": 5.0, "struck": 2.25, "held": 0.5, "duration": 2.25}},
        "kneser_ney_6": {"wtc1f05": {"bits_per_note": 6.25, "notes": 300},
                         "pooled": {"bits_per_note": 6.25}},
    },
    "generated": [{"settings": {"temperature": 1.0, "top_p": 0.95, "seed": 1}, "pieces": 48,
                   "all_inside": 40, "stuck": 0, "longest_copied_run_median": 7.5,
                   "longest_copied_run_max": 21, "classifier": {"accuracy": 0.61},
                   "statistics": {"pitch_range": {"median": 30.0, "real_median": 31.0,
                                                  "inside": 45}},
                   "values": [{"pitch_range": 30.0}]}],
}


@pytest.fixture(scope="module")
def bundle_dir(corpus_pieces, tmp_path_factory) -> Path:
    """An untrained small network over the real codec, saved with a training summary."""
    from bachgen.conditioned import FitConfig

    summary = {"fit": asdict(FitConfig(epochs=1, limit_pieces=2)), "vocab_size": 196,
               "split": {"train": ["wtc1f01"], "validation": ["wtc1f07"], "test": ["wtc1f05"]},
               "parameters": 1234, "epochs_run": 1, "best_epoch": 1,
               "best_val_bits_per_token": 3.25, "train_seconds": 12.5,
               "load_average_before": [0.5, 0.4, 0.3], "load_average_after": [1.0, 0.8, 0.6]}
    return save_tiny_spelled(tmp_path_factory.mktemp("spelled"), corpus_pieces, summary,
                             {"loss": [2.0], "val_loss": [2.25]})


def copy_bundle(folder: Path, to: Path) -> Path:
    """A copy of the bundle's files, so a test may add figures without touching the fixture."""
    to.mkdir()
    for path in folder.iterdir():
        (to / path.name).write_bytes(path.read_bytes())
    return to


def test_the_card_without_figures_says_not_measured_and_lists_the_checksums(bundle_dir):
    text = card.render_spelled_card(bundle_dir, command="bachgen train --codec spelled --x 1")
    for name in ("model.keras", "codec.json"):
        digest = hashlib.sha256((bundle_dir / name).read_bytes()).hexdigest()
        assert f"{digest}  {name}" in text
    assert text.count(card.NOT_MEASURED) == 2  # held-out and generated music
    assert "| parameters | 1,234 |" in text and "3.2500" in text and "12 s (0.2 min)" in text
    assert "0.500, 0.400, 0.300 / 1.000, 0.800, 0.600" in text
    assert "bachgen train --codec spelled --x 1" in text
    assert "first 2 training fugues only" in text


def test_the_card_renders_the_figures_it_is_given_and_keeps_them(bundle_dir, tmp_path):
    folder = copy_bundle(bundle_dir, tmp_path / "b")
    card.write_spelled_card(folder, EVALUATION)
    text = (folder / "README.md").read_text()
    assert card.NOT_MEASURED not in text
    assert "| lstm | 5.000 |" in text and "| kneser_ney_6 | 6.250 |" in text
    assert "| wtc1f05 | 4.500 | 6.250 |" in text                      # per fugue
    assert "temperature 1.000, top_p 0.950, seed 1" in text and "0.610" in text
    assert "| pitch_range | 30.000 | 31.000 | 45 |" in text
    # re-rendered later without figures: the bundle's evaluation.json keeps them
    card.write_spelled_card(folder)
    assert (folder / "README.md").read_text() == text


@pytest.mark.parametrize("figures", [
    {"held_out": {"lstm": {"bits_per_note": 4.75}}},
    {"held_out": {"models": [{"model": "lstm", "bits/note": 4.75}]}},
    {"generated": {"stuck": 0, "pieces": 48}},
    {"generated": {"T1": {"stuck": 1}, "T0.9": {"stuck": 0}}},
    {"held_out": "pending", "generated": None, "note": "partial"},
], ids=["flat", "models-list", "one-row", "named-rows", "odd"])
def test_figures_in_other_shapes_render_what_is_present(bundle_dir, figures):
    text = card.render_spelled_card(bundle_dir, figures, command="c")
    assert "## Held-out figures" in text and "## Generated music" in text
    for value in ("4.750", "| 48 |", "T0.9", "partial"):
        if value.strip("| ") in json.dumps(figures):
            assert value in text


def test_the_previous_model_keeps_its_figures_and_is_not_compared(bundle_dir, tmp_path):
    for words_dir in (REPO / "assets" / "words", tmp_path / "gone"):
        text = card.render_spelled_card(bundle_dir, command="c", words_dir=words_dir)
        section = text.split("## The previous model (one word per event)")[1]
        for bits in ("5.617", "5.816", "6.498"):
            assert bits in section
        assert "NOT comparable" in section and "durations" in section


def test_the_recorded_word_figures_match_the_word_bundle():
    if not (REPO / "assets" / "words" / "config.json").is_file():
        pytest.skip("the word bundle has left assets/")
    read = card.word_model_figures(REPO / "assets" / "words")
    recorded = card.word_model_figures(Path("/nonexistent"))
    assert [{k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}
            for row in read] == recorded


def test_the_printed_command_parses_back_to_the_same_settings(bundle_dir):
    from bachgen.conditioned import FitConfig, NetConfig

    net = NetConfig(embed=8, units=16, dropout=0.0)
    fit = FitConfig(seq_len=32, deterministic=False, limit_pieces=3, budget_minutes=1.5)
    command = spelled_command(asdict(net), asdict(fit), "out/b")
    args = build_parser().parse_args(command.split()[1:])
    assert train_codec(args) == "spelled" and args.bundle_dir == "out/b"
    assert spelled_configs(args) == (net, fit)


def test_train_picks_the_codec_and_refuses_options_of_the_other(capsys):
    parse = build_parser().parse_args
    assert train_codec(parse(["train", "--bundle-dir", "x"])) == "spelled"
    assert train_codec(parse(["train", "--study", "batch"])) == "words"
    assert train_codec(parse(["train", "--codec", "words"])) == "words"
    assert main(["train", "--transpose", "augment", "--bundle-dir", "x"]) == 2
    assert "--transpose" in capsys.readouterr().err
    assert main(["train", "--codec", "words", "--shifts", "2"]) == 2
    assert "--shifts" in capsys.readouterr().err
    assert main(["train", "--units", "8"]) == 2
    assert "--bundle-dir" in capsys.readouterr().err


def test_bachgen_card_rewrites_a_card_and_prints_the_command(bundle_dir, tmp_path, capsys):
    folder = copy_bundle(bundle_dir, tmp_path / "b")
    figures = tmp_path / "eval.json"
    figures.write_text(json.dumps(EVALUATION))
    assert main(["card", str(folder), "--evaluation", str(figures)]) == 0
    assert "| lstm | 5.000 |" in (folder / "README.md").read_text()
    assert main(["card", str(folder), "--print-command"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("bachgen train --codec spelled ") and f"--bundle-dir {folder}" in printed
    assert printed in (folder / "README.md").read_text()


def test_bachgen_train_spelled_writes_a_loadable_bundle_and_its_card(tmp_path, capsys):
    from bachgen.bundle import load_any_bundle

    folder = tmp_path / "model"
    (folder).mkdir()
    (folder / card.EVALUATION_FILE).write_text(json.dumps(EVALUATION))  # an earlier model's
    assert main(["train", "--embed", "8", "--units", "8", "--layers", "1", "--dropout", "0",
                 "--quarter-embed", "2", "--phase-embed", "2", "--meter-embed", "2",
                 "--key-embed", "2", "--seq-len", "32", "--stride", "64", "--batch-size", "64",
                 "--epochs", "1", "--shifts", "0", "--limit-pieces", "2",
                 "--bundle-dir", str(folder)]) == 0
    bundle = load_any_bundle(folder)
    assert bundle.codec.name == "spelled" and bundle.net.units == 8
    assert bundle.config["fit"]["limit_pieces"] == 2 and bundle.config["epochs_run"] == 1
    text = (folder / "README.md").read_text()
    digest = hashlib.sha256((folder / "model.keras").read_bytes()).hexdigest()
    assert f"{digest}  model.keras" in text
    assert "--limit-pieces 2 " in text and f"--bundle-dir {folder}" in text
    assert not (folder / card.EVALUATION_FILE).exists() and card.NOT_MEASURED in text
    assert "reproduce: bachgen train --codec spelled" in capsys.readouterr().err


def test_word_training_keeps_its_defaults_and_its_command_parses_back():
    from bachgen.cli import _configs_from_args, command_for
    from bachgen.config import ModelConfig, TokenConfig, TrainConfig

    args = build_parser().parse_args(["train", "--codec", "words", "--bundle-dir", "w"])
    tokens, model, config = _configs_from_args(args)
    assert (tokens, model, config) == (TokenConfig(transpose="common", holds=False),
                                       ModelConfig(vocab_size=2), TrainConfig())
    command = command_for(args)
    assert command.startswith("bachgen train --codec words --transpose common --no-holds")
    again = build_parser().parse_args(command.split()[1:])
    assert _configs_from_args(again) == (tokens, model, config)


def test_a_word_command_recorded_before_codecs_gets_codec_words():
    assert card.word_command({"command": "bachgen train --transpose augment"}) == \
        "bachgen train --codec words --transpose augment"
    assert card.word_command({"command": "bachgen train --codec words --x"}) == "bachgen train --codec words --x"
