"""The model bundles: a save/load round trip of a word bundle, one clear error for each way
a word or a spelled bundle can break, and which kind a folder holds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bachgen.bundle import (Bundle, bundle_kind, default_bundle_dir, load_any_bundle, load_bundle,
                            save_bundle, words_bundle_dir)
from bachgen.codecs import WordCodec
from bachgen.config import ModelConfig, TokenConfig
from bachgen.errors import BundleError
from bachgen.model import build_model
from bachgen.tokens import Vocabulary

WORDS = ["60:1/2", "62:1/2", "64:1/4", "60.64.67:1", "R:1/2", "55:1/4", "59:1/4"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> tuple[Path, Bundle]:
    vocab = Vocabulary(WORDS, list(range(len(WORDS), 0, -1)))
    config = ModelConfig(vocab_size=len(vocab), embed_dim=4, units=8, layers=2, seq_len=6)
    bundle = Bundle(build_model(config, seed=7), vocab, TokenConfig(transpose="common", holds=False),
                    config, {"title": "tiny", "sections": [{"title": "Notes", "body": "small"}]},
                    {"config": {"epochs": 1}})
    folder = tmp_path_factory.mktemp("bundle")
    save_bundle(bundle, folder)
    return folder, bundle


def copy_of(folder: Path, target: Path) -> Path:
    target.mkdir()
    for item in folder.iterdir():
        (target / item.name).write_bytes(item.read_bytes())
    return target


def test_round_trip_keeps_weights_vocabulary_and_settings(saved):
    folder, original = saved
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md", "codec.json", "config.json", "model.keras", "vocabulary.json"]
    loaded = load_bundle(folder)
    assert loaded.vocab.words == original.vocab.words
    assert loaded.vocab.counts == original.vocab.counts
    assert loaded.tokens == original.tokens and loaded.model_config == original.model_config
    assert loaded.card["title"] == "tiny" and loaded.training == {"config": {"epochs": 1}}
    for a, b in zip(original.model.get_weights(), loaded.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert [l.name for l in loaded.model.layers if l.name.startswith(("lstm", "logits"))] == [
        "lstm_0", "lstm_1", "logits"]
    ids = np.array([[1, 2, 3, 4]], dtype="int32")
    np.testing.assert_allclose(np.asarray(original.model(ids)), np.asarray(loaded.model(ids)),
                               rtol=1e-6, atol=1e-6)
    card = (folder / "README.md").read_text()
    assert card.startswith("# tiny") and "## Notes" in card and "| tokens | transpose | common |" in card
    config = json.loads((folder / "config.json").read_text())
    assert {"tokens", "model", "training"} <= set(config)


def test_the_codec_is_saved_beside_the_network_and_read_back_first(saved, tmp_path):
    folder, original = saved
    assert json.loads((folder / "codec.json").read_text()) == original.codec.to_json()
    other = copy_of(folder, tmp_path / "b")
    codec = json.loads((other / "codec.json").read_text())
    codec["tokens"]["grid"] = 4  # the codec file wins over the settings in config.json
    (other / "codec.json").write_text(json.dumps(codec))
    loaded = load_bundle(other)
    assert isinstance(loaded.codec, WordCodec)
    assert loaded.codec.tokens.grid == 4 and loaded.tokens.grid == 4


def test_a_bundle_saved_before_codec_json_loads_its_codec_from_the_vocabulary(saved, tmp_path):
    folder, original = saved
    old = copy_of(folder, tmp_path / "old")
    (old / "codec.json").unlink()
    loaded = load_bundle(old)
    assert loaded.codec.to_json() == original.codec.to_json()


def test_a_codec_this_loader_does_not_run_is_refused(saved, tmp_path):
    folder = copy_of(saved[0], tmp_path / "b")
    from bachgen.codecs.spelled import SpelledCodec

    (folder / "codec.json").write_text(json.dumps(SpelledCodec([12], max_pitches=4).to_json()))
    with pytest.raises(BundleError, match="uses the 'spelled' codec"):
        load_bundle(folder)


def test_a_compiled_model_is_saved_without_optimizer_state(saved, tmp_path):
    import keras

    folder, original = saved
    model = build_model(original.model_config, seed=7)
    model.compile(optimizer=keras.optimizers.Adam(), loss="mse")
    model.optimizer.build(model.trainable_variables)
    save_bundle(Bundle(model, original.vocab, original.tokens, original.model_config), tmp_path)
    assert (tmp_path / "model.keras").stat().st_size <= (folder / "model.keras").stat().st_size * 1.1


def test_missing_folder_says_so(tmp_path):
    with pytest.raises(BundleError, match="does not exist") as info:
        load_bundle(tmp_path / "nowhere")
    assert "bachgen train" in str(info.value)


def test_missing_file_is_named(saved, tmp_path):
    folder = copy_of(saved[0], tmp_path / "b")
    (folder / "vocabulary.json").unlink()
    with pytest.raises(BundleError, match="incomplete: vocabulary.json missing"):
        load_bundle(folder)


def test_truncated_model_file_is_reported(saved, tmp_path):
    folder = copy_of(saved[0], tmp_path / "b")
    data = (folder / "model.keras").read_bytes()
    (folder / "model.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(BundleError, match="truncated or corrupt"):
        load_bundle(folder)


def test_corrupt_model_file_is_reported(saved, tmp_path):
    folder = copy_of(saved[0], tmp_path / "b")
    data = bytearray((folder / "model.keras").read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(64)  # damaged bytes inside a member: CRC fails
    (folder / "model.keras").write_bytes(bytes(data))
    with pytest.raises(BundleError, match="model.keras"):
        load_bundle(folder)


def test_vocabulary_of_another_size_is_reported(saved, tmp_path):
    folder = copy_of(saved[0], tmp_path / "b")
    Vocabulary(WORDS[:-2]).save(folder / "vocabulary.json")
    with pytest.raises(BundleError, match="vocabulary sizes differ") as info:
        load_bundle(folder)
    message = str(info.value)
    assert "vocabulary.json 6" in message and "logits 8" in message and "embedding 8" in message


def test_default_folder_is_assets_model_unless_the_environment_says(monkeypatch, tmp_path):
    monkeypatch.delenv("BACHGEN_MODEL_DIR", raising=False)
    assert default_bundle_dir() == Path(__file__).resolve().parent.parent / "assets" / "model"
    monkeypatch.setenv("BACHGEN_MODEL_DIR", str(tmp_path))
    assert default_bundle_dir() == tmp_path


def test_the_word_model_is_kept_in_assets_words():
    assert words_bundle_dir() == Path(__file__).resolve().parent.parent / "assets" / "words"


# --------------------------------------------------------------------------- kinds


@pytest.fixture(scope="module")
def spelled(tmp_path_factory) -> Path:
    """A tiny untrained spelled bundle."""
    from bachgen.codecs.spelled import SpelledCodec
    from bachgen.conditioned import NetConfig, build_model
    from bachgen.conditioned import save_bundle as save_spelled

    codec = SpelledCodec(durations=(12, 24, 48), max_pitches=4, meters=[(4, 4)])
    net = NetConfig(embed=4, units=8, quarter_embed=2, phase_embed=2, meter_embed=2, key_embed=2)
    folder = tmp_path_factory.mktemp("spelled")
    return save_spelled(folder, build_model(codec, net, seed=3), codec, net, {"note": "tiny"})


def test_bundle_kind_reads_the_codec_name(saved, spelled, tmp_path):
    assert bundle_kind(saved[0]) == "words" and bundle_kind(spelled) == "spelled"
    assert bundle_kind(tmp_path / "nowhere") == "words"  # the word loader says what is wrong


def test_load_any_bundle_loads_either_kind(saved, spelled):
    from bachgen.conditioned import SpelledBundle

    assert isinstance(load_any_bundle(saved[0]), Bundle)
    loaded = load_any_bundle(spelled)
    assert isinstance(loaded, SpelledBundle) and loaded.config["note"] == "tiny"


def test_the_word_loader_refuses_a_spelled_bundle_by_name(spelled):
    with pytest.raises(BundleError, match="uses the 'spelled' codec") as info:
        load_bundle(spelled)
    assert "load_any_bundle" in str(info.value)


def test_a_spelled_bundle_missing_a_file_is_named(spelled, tmp_path):
    folder = copy_of(spelled, tmp_path / "b")
    (folder / "model.keras").unlink()
    with pytest.raises(BundleError, match="incomplete: model.keras missing") as info:
        load_any_bundle(folder)
    assert "bachgen.conditioned" in str(info.value)


def test_a_truncated_spelled_model_file_is_reported(spelled, tmp_path):
    folder = copy_of(spelled, tmp_path / "b")
    data = (folder / "model.keras").read_bytes()
    (folder / "model.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(BundleError, match="truncated or corrupt"):
        load_any_bundle(folder)


def test_a_corrupt_spelled_model_file_is_reported(spelled, tmp_path):
    folder = copy_of(spelled, tmp_path / "b")
    data = bytearray((folder / "model.keras").read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(b ^ 0xFF for b in data[middle:middle + 64])  # CRC fails
    (folder / "model.keras").write_bytes(bytes(data))
    with pytest.raises(BundleError, match="model.keras"):
        load_any_bundle(folder)


def test_an_unreadable_spelled_codec_is_reported(spelled, tmp_path):
    folder = copy_of(spelled, tmp_path / "b")
    (folder / "codec.json").write_text(json.dumps({"name": "spelled", "durations": "x"}))
    with pytest.raises(BundleError, match="spelled"):
        load_any_bundle(folder)


def test_a_missing_folder_names_both_kinds(tmp_path):
    with pytest.raises(BundleError, match="does not exist") as info:
        load_any_bundle(tmp_path / "nowhere")
    assert "assets/model" in str(info.value) and "assets/words" in str(info.value)
