"""The model bundle: a save/load round trip read without TensorFlow, the Keras network loaded
only when asked for, and one clear error for each way a bundle can break."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bachgen.bundle import (CODEC_FILE, CONFIG_FILE, HISTORY_FILE, MODEL_FILE, REQUIRED_FILES, Bundle,
                            SavedBundle, can_step, check_files, default_bundle_dir, load_bundle, require_step,
                            save_bundle)
from bachgen.codec import SpelledCodec
from bachgen.config import NetConfig
from bachgen.errors import BundleError, ConfigError

REPO = Path(__file__).resolve().parent.parent
CODEC = SpelledCodec(durations=(12, 24, 48), max_pitches=4, meters=[(4, 4)])
NET = NetConfig(embed=4, units=8, quarter_embed=2, phase_embed=2, meter_embed=2, key_embed=2)


@pytest.fixture(scope="module")
def network():
    from bachgen.network import build_model

    return build_model(CODEC, NET, seed=3)


@pytest.fixture(scope="module")
def saved(network, tmp_path_factory) -> Path:
    """A tiny untrained spelled bundle with its training summary and history."""
    return save_bundle(tmp_path_factory.mktemp("bundle"), network, CODEC, NET, {"note": "tiny"},
                       {"loss": [2.0, 1.5]})


def copy_of(folder: Path, target: Path) -> Path:
    return Path(shutil.copytree(folder, target))


def test_round_trip_keeps_weights_codec_and_settings(saved, network):
    assert sorted(p.name for p in saved.iterdir()) == sorted([*REQUIRED_FILES, HISTORY_FILE])
    loaded = load_bundle(saved)
    assert isinstance(loaded, SavedBundle) and isinstance(loaded, Bundle)
    assert loaded.codec.to_json() == CODEC.to_json() and loaded.net == NET
    assert loaded.config["note"] == "tiny" and loaded.config["net"]["units"] == 8
    assert json.loads((saved / HISTORY_FILE).read_text()) == {"loss": [2.0, 1.5]}
    for layer in network.layers:
        for a, b in zip(layer.get_weights(), loaded.layer_weights.get(layer.name, [])):
            np.testing.assert_array_equal(a, b)
    assert loaded._model is None  # read without Keras
    for a, b in zip(network.get_weights(), loaded.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_loading_a_bundle_starts_no_tensorflow(saved):
    code = (f"import sys\nfrom bachgen.bundle import load_bundle\nb = load_bundle({str(saved)!r})\n"
            "from bachgen.step import load_step\nload_step(b)\n"
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.stdout.strip() == "[]", result.stderr


def test_a_compiled_model_is_saved_without_optimizer_state(saved, network, tmp_path):
    import keras

    from bachgen.network import build_model

    model = build_model(CODEC, NET, seed=3)
    model.compile(optimizer=keras.optimizers.Adam(), loss="mse")
    model.optimizer.build(model.trainable_variables)
    save_bundle(tmp_path, model, CODEC, NET, {})
    assert (tmp_path / MODEL_FILE).stat().st_size <= (saved / MODEL_FILE).stat().st_size * 1.1


def test_only_the_conditioned_network_can_be_stepped(network):
    assert can_step(Bundle(network, CODEC, NET, {}))
    original = Bundle(None, CODEC, NetConfig(arch="original", units=8), {})
    assert not can_step(original)
    with pytest.raises(ConfigError, match="original"):
        require_step(original)


def test_missing_folder_says_so(tmp_path):
    with pytest.raises(BundleError, match="does not exist") as info:
        load_bundle(tmp_path / "nowhere")
    assert "bachgen train" in str(info.value) and "BACHGEN_MODEL_DIR" in str(info.value)


@pytest.mark.parametrize("name", REQUIRED_FILES)
def test_a_missing_file_is_named(saved, tmp_path, name):
    folder = copy_of(saved, tmp_path / "b")
    (folder / name).unlink()
    with pytest.raises(BundleError, match=f"incomplete: {name} missing") as info:
        load_bundle(folder)
    assert "bachgen train --bundle-dir" in str(info.value)
    with pytest.raises(BundleError, match=name):
        check_files(folder)


def test_a_bundle_without_history_still_loads(saved, tmp_path):
    folder = copy_of(saved, tmp_path / "b")
    (folder / HISTORY_FILE).unlink()
    assert load_bundle(folder).net == NET


def test_truncated_model_file_is_reported(saved, tmp_path):
    folder = copy_of(saved, tmp_path / "b")
    data = (folder / MODEL_FILE).read_bytes()
    (folder / MODEL_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(BundleError, match="truncated or corrupt"):
        load_bundle(folder)


def test_corrupt_model_file_is_reported(saved, tmp_path):
    folder = copy_of(saved, tmp_path / "b")
    data = bytearray((folder / MODEL_FILE).read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(b ^ 0xFF for b in data[middle:middle + 64])  # CRC fails
    (folder / MODEL_FILE).write_bytes(bytes(data))
    with pytest.raises(BundleError, match="model.keras"):
        load_bundle(folder)


@pytest.mark.parametrize("codec", [
    {"name": "spelled", "durations": "x"},
    {"name": "words"},
    [],
])
def test_an_unreadable_codec_is_reported(saved, tmp_path, codec):
    folder = copy_of(saved, tmp_path / "b")
    (folder / CODEC_FILE).write_text(json.dumps(codec))
    with pytest.raises(BundleError, match="Cannot load the model bundle"):
        load_bundle(folder)


def test_unreadable_network_settings_are_reported(saved, tmp_path):
    folder = copy_of(saved, tmp_path / "b")
    (folder / CONFIG_FILE).write_text(json.dumps({"net": {"units": 8, "wings": 2}}))
    with pytest.raises(BundleError, match="Cannot load the model bundle"):
        load_bundle(folder)


def test_a_network_sized_for_another_codec_is_refused(saved, tmp_path):
    folder = copy_of(saved, tmp_path / "b")
    codec = CODEC.to_json()
    codec["durations"] = codec["durations"][:-1]  # one token fewer than the network writes
    (folder / CODEC_FILE).write_text(json.dumps(codec))
    with pytest.raises(BundleError, match="does not fit together") as info:
        load_bundle(folder)
    assert f"writes {CODEC.vocab_size} logits" in str(info.value)


def test_default_folder_is_assets_model_unless_the_environment_says(monkeypatch, tmp_path):
    monkeypatch.delenv("BACHGEN_MODEL_DIR", raising=False)
    assert default_bundle_dir() == REPO / "assets" / "model"
    monkeypatch.setenv("BACHGEN_MODEL_DIR", str(tmp_path))
    assert default_bundle_dir() == tmp_path
