"""Training on tiny pieces: outputs of a run, repeatability, the baseline, MirroredStrategy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from bachgen.config import ModelConfig, TokenConfig, TrainConfig
from bachgen.errors import ConfigError
from bachgen.train import build_baseline, train
from tests.conftest import make_piece

REPO = Path(__file__).resolve().parent.parent
TOKENS = TokenConfig(transpose="none", holds=False)
MODEL = ModelConfig(vocab_size=2, embed_dim=4, units=8, layers=1, dropout=0.0, seq_len=8)
SPLIT = {"held_out": ("p6",), "validation": ("p7",)}


def tiny_pieces():
    """Eight short lines of eighth notes, named p0..p7 (p6 held out, p7 validation)."""
    pieces = []
    for k in range(8):
        steps = [0, 2, 4, 5, 7, 5, 4, 2]
        notes = [(i * 24, 24, 60 + k % 3 + steps[(i + k) % 8]) for i in range(30)]
        pieces.append(make_piece(*notes, name=f"p{k}", key="C"))
    return pieces


def quick(tmp: Path, **changes):
    config = TrainConfig(**{"epochs": 2, "batch_size": 8, "stride": 4, "patience": 1, "seed": 5,
                            **changes})
    return train(tiny_pieces(), TOKENS, MODEL, config, tmp, verbose=0, **SPLIT)


def test_a_run_writes_history_plot_logs_checkpoints_and_a_consistent_bundle(tmp_path):
    result = quick(tmp_path / "run")
    run = tmp_path / "run"
    assert (run / "history.csv").read_text().splitlines()[0].startswith("epoch")
    assert len((run / "history.csv").read_text().splitlines()) == 1 + len(result.history["loss"])
    assert (run / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert (run / "checkpoints" / "best.keras").is_file()
    assert (run / "checkpoints" / "last.keras").is_file()
    assert list((run / "tensorboard" / "train").glob("events.out.tfevents.*"))
    assert list((run / "tensorboard" / "validation").glob("events.out.tfevents.*"))
    bundle = result.bundle
    assert bundle.model_config.vocab_size == len(bundle.vocab)
    assert bundle.model.get_layer("logits").units == len(bundle.vocab)
    assert result.split == {"train": ["p0", "p1", "p2", "p3", "p4", "p5"], "validation": ["p7"],
                            "test": ["p6"]}
    assert np.isfinite(result.history["val_loss"]).all()
    assert bundle.training["config"]["seed"] == 5 and bundle.training["replicas"] == 1


def test_the_same_seed_gives_the_same_weights(tmp_path):
    first = quick(tmp_path / "a", epochs=1).bundle.model.get_weights()
    second = quick(tmp_path / "b", epochs=1).bundle.model.get_weights()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_baseline_reads_the_word_index_as_one_scalar():
    model = build_baseline(vocab_size=50, units=16, seed=1)
    assert [l.name for l in model.layers][-2:] == ["lstm_0", "logits"]
    assert model.get_layer("lstm_0").input.shape[-1] == 1
    out = model(np.array([[1, 2, 3]], dtype="int32"))
    assert tuple(out.shape) == (1, 3, 50)


def test_bad_training_options_fail_at_the_boundary():
    with pytest.raises(ConfigError, match="strategy"):
        TrainConfig(strategy="cluster")
    with pytest.raises(ConfigError, match="stride"):
        TrainConfig(stride=0)


MIRRORED = textwrap.dedent("""
    import json, sys
    from bachgen.config import ModelConfig, TokenConfig, TrainConfig
    from bachgen.train import train
    from tests.test_train import MODEL, SPLIT, TOKENS, tiny_pieces

    config = TrainConfig(epochs=1, batch_size=8, stride=4, seed=5, strategy="mirrored", devices=2)
    result = train(tiny_pieces(), TOKENS, MODEL, config, sys.argv[1], verbose=0, **SPLIT)
    import tensorflow as tf
    print(json.dumps({"replicas": result.extra["replicas"],
                      "cpus": len(tf.config.list_logical_devices("CPU")),
                      "loss": result.history["loss"][-1]}))
""")


@pytest.mark.slow
def test_one_epoch_under_mirrored_strategy_on_two_logical_cpus(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", MIRRORED, str(tmp_path / "run")], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2 and report["cpus"] == 2
    assert np.isfinite(report["loss"])
    assert (tmp_path / "run" / "checkpoints" / "best.keras").is_file()
