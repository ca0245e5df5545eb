"""The model card of a spelled bundle and ``bachgen card``, on a tiny bundle."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import pytest

from bachgen.cli import main
from bachgen.config import FitConfig
from bachgen.evaluation import card
from bachgen.train import train_command

from .conftest import save_tiny_spelled

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
    text = card.render_card(bundle_dir, command="bachgen train --x 1")
    for name in ("model.keras", "codec.json"):
        digest = hashlib.sha256((bundle_dir / name).read_bytes()).hexdigest()
        assert f"{digest}  {name}" in text
    assert text.count(card.NOT_MEASURED) == 2  # held-out and generated music
    assert "| parameters | 1,234 |" in text and "3.2500" in text and "12 s (0.2 min)" in text
    assert "0.500, 0.400, 0.300 / 1.000, 0.800, 0.600" in text
    assert "bachgen train --x 1" in text
    assert "first 2 training fugues only" in text


def test_the_card_renders_the_figures_it_is_given_and_keeps_them(bundle_dir, tmp_path):
    folder = copy_bundle(bundle_dir, tmp_path / "b")
    card.write_card(folder, EVALUATION)
    text = (folder / "README.md").read_text()
    assert card.NOT_MEASURED not in text
    assert "| lstm | 5.000 |" in text and "| kneser_ney_6 | 6.250 |" in text
    assert "| wtc1f05 | 4.500 | 6.250 |" in text                      # per fugue
    assert "temperature 1.000, top_p 0.950, seed 1" in text and "0.610" in text
    assert "| pitch_range | 30.000 | 31.000 | 45 |" in text
    # re-rendered later without figures: the bundle's evaluation.json keeps them
    card.write_card(folder)
    assert (folder / "README.md").read_text() == text


@pytest.mark.parametrize("figures", [
    {"held_out": {"lstm": {"bits_per_note": 4.75}}},
    {"held_out": {"models": [{"model": "lstm", "bits/note": 4.75}]}},
    {"generated": {"stuck": 0, "pieces": 48}},
    {"generated": {"T1": {"stuck": 1}, "T0.9": {"stuck": 0}}},
    {"held_out": "pending", "generated": None, "note": "partial"},
], ids=["flat", "models-list", "one-row", "named-rows", "odd"])
def test_figures_in_other_shapes_render_what_is_present(bundle_dir, figures):
    text = card.render_card(bundle_dir, figures, command="c")
    assert "## Held-out figures" in text and "## Generated music" in text
    for value in ("4.750", "| 48 |", "T0.9", "partial"):
        if value.strip("| ") in json.dumps(figures):
            assert value in text


def test_the_previous_model_keeps_its_figures_and_is_not_compared(bundle_dir):
    text = card.render_card(bundle_dir, command="c")
    section = text.split("## The previous model (one word per event)")[1]
    for bits in ("5.617", "5.816", "6.498"):
        assert bits in section
    assert "NOT comparable" in section and "durations" in section


def test_the_card_names_the_command_that_trains_the_bundle(bundle_dir):
    config = json.loads((bundle_dir / "config.json").read_text())
    command = train_command(config["net"], config["fit"], str(bundle_dir))
    assert card.bundle_command(bundle_dir) == command and command.startswith("bachgen train ")
    assert "--limit-pieces 2" in command and f"--bundle-dir {bundle_dir}" in command
    assert command in card.render_card(bundle_dir)


def test_bachgen_card_refuses_a_folder_without_a_bundle(tmp_path, capsys):
    assert main(["card", str(tmp_path)]) == 2
    assert "bundle" in capsys.readouterr().err


def test_bachgen_card_rewrites_a_card_and_prints_the_command(bundle_dir, tmp_path, capsys):
    folder = copy_bundle(bundle_dir, tmp_path / "b")
    figures = tmp_path / "eval.json"
    figures.write_text(json.dumps(EVALUATION))
    assert main(["card", str(folder), "--evaluation", str(figures)]) == 0
    assert "| lstm | 5.000 |" in (folder / "README.md").read_text()
    assert main(["card", str(folder), "--print-command"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("bachgen train ") and f"--bundle-dir {folder}" in printed
    assert printed in (folder / "README.md").read_text()
