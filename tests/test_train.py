"""Training the spelled network: options checked at the boundary, the command that repeats a
run, a tiny run through ``bachgen train`` (a fresh process, as a user starts it), MirroredStrategy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from bachgen.config import FitConfig, NetConfig
from bachgen.errors import ConfigError
from bachgen.train import train_command

REPO = Path(__file__).resolve().parent.parent
TINY = ["--embed", "4", "--units", "8", "--layers", "1", "--quarter-embed", "2", "--phase-embed", "2",
        "--meter-embed", "2", "--key-embed", "2", "--seq-len", "32", "--stride", "32", "--batch-size", "16",
        "--shifts", "0", "--limit-pieces", "2", "--seed", "5", "--threads", "2"]


def test_bad_training_options_fail_at_the_boundary():
    with pytest.raises(ConfigError, match="strategy"):
        FitConfig(strategy="cluster")
    with pytest.raises(ConfigError, match="stride"):
        FitConfig(stride=0)
    with pytest.raises(ConfigError, match="augment"):
        FitConfig(augment="sideways")
    with pytest.raises(ConfigError, match="shifts"):
        FitConfig(shifts=4)
    with pytest.raises(ConfigError, match="arch"):
        NetConfig(arch="transformer")
    with pytest.raises(ConfigError, match="dropout"):
        NetConfig(dropout=1.0)


def test_the_train_command_gives_back_the_settings_it_was_made_from():
    from bachgen.cli import build_parser
    from bachgen.cli.train import configs_from

    net = NetConfig(embed=16, units=32, layers=1, arch="conditioned")
    fit = FitConfig(seq_len=64, stride=32, shifts=2, deterministic=False, modes="minor", limit_pieces=5)
    command = train_command(asdict(net), asdict(fit), "runs/x")
    assert command.startswith("bachgen train ") and command.endswith("--bundle-dir runs/x")
    args = build_parser().parse_args(command.split()[1:])
    assert configs_from(args) == (net, fit) and args.bundle_dir == "runs/x"


def bachgen_train(out: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-m", "bachgen", "train", "--bundle-dir", str(out), *TINY, *extra],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_a_tiny_run_writes_a_bundle_that_loads_and_the_same_seed_gives_the_same_weights(tmp_path):
    from bachgen.bundle import CONFIG_FILE, HISTORY_FILE, load_bundle

    runs = [bachgen_train(tmp_path / name, "--epochs", "1") for name in ("a", "b")]
    for run in runs:
        assert run.returncode == 0, run.stderr[-3000:]
    first, second = load_bundle(tmp_path / "a"), load_bundle(tmp_path / "b")
    assert first.net == NetConfig(embed=4, units=8, layers=1, quarter_embed=2, phase_embed=2,
                                  meter_embed=2, key_embed=2)
    config = json.loads((tmp_path / "a" / CONFIG_FILE).read_text())
    assert config["epochs_run"] == 1 and len(config["split"]["train"]) == 2
    assert np.isfinite(json.loads((tmp_path / "a" / HISTORY_FILE).read_text())["loss"]).all()
    assert (tmp_path / "a" / "README.md").is_file()  # the model card
    for name, arrays in first.layer_weights.items():
        for x, y in zip(arrays, second.layer_weights[name]):
            np.testing.assert_array_equal(x, y)


@pytest.mark.slow
def test_one_epoch_under_mirrored_strategy_on_two_logical_cpus(tmp_path):
    run = bachgen_train(tmp_path / "m", "--epochs", "1", "--strategy", "mirrored", "--devices", "2")
    assert run.returncode == 0, run.stderr[-3000:]
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["fit"]["strategy"] == "mirrored" and config["fit"]["devices"] == 2
    assert np.isfinite(config["best_val_bits_per_token"])
