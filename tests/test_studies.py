"""The study options of the spelled model (key treatment, augmentation, modes, the original
network) and the study runner's list and table."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bachgen.codec import KeyCondition, SpelledCodec
from bachgen.errors import BundleError, ConfigError

from .conftest import make_piece

CODEC_ARGS = dict(durations=(6, 12, 24, 48, 96), max_pitches=4, meters=[(4, 4), (3, 4)])
PIECE = make_piece((0, 48, 48), (0, 48, 52), (48, 24, 55), (72, 24, 57), (96, 96, 60))
SHIPPED_CODEC = Path(__file__).resolve().parent.parent / "assets" / "model" / "codec.json"


@pytest.mark.parametrize("told, key, column", [
    ("key", KeyCondition(False, 0), 3), ("key", KeyCondition(True, 2), 12),
    ("key", KeyCondition(False, -3), 0), ("mode", KeyCondition(True, 2), 10),
    ("mode", KeyCondition(False, -3), 3), ("none", KeyCondition(True, 2), 3),
    ("none", KeyCondition(False, 1), 3),
])
def test_key_told_writes_the_key_column(told, key, column):
    codec = SpelledCodec(**CODEC_ARGS, key_told=told)
    ids = codec.encode(PIECE)
    feats = codec.features(ids, (4, 4), 0, key)
    assert (feats[:, 3] == column).all()
    plain = SpelledCodec(**CODEC_ARGS).features(ids, (4, 4), 0, key)
    assert np.array_equal(feats[:, :3], plain[:, :3])  # only the key column differs
    assert codec.told_key(codec.told_key(key)) == codec.told_key(key)


@pytest.mark.parametrize("told", ["key", "mode", "none"])
def test_key_told_is_saved_in_the_codec_json(told):
    codec = SpelledCodec(**CODEC_ARGS, key_told=told)
    again = SpelledCodec.from_json(json.loads(json.dumps(codec.to_json())))
    assert again.key_told == told and again.to_json() == codec.to_json()


def test_a_codec_json_without_key_told_loads_as_key_with_the_same_features():
    data = SpelledCodec(**CODEC_ARGS).to_json()
    del data["key_told"]
    old = SpelledCodec.from_json(data)
    assert old.key_told == "key"
    ids = old.encode(PIECE)
    for key in (KeyCondition(True, -2), KeyCondition(False, 3)):
        expected = SpelledCodec(**CODEC_ARGS).position_features(
            old.first_tick(PIECE) + np.cumsum(old.ticks[np.asarray(ids)]), (4, 4), key)
        assert old.features(ids, (4, 4), 0, key).tobytes() == expected.tobytes()
        assert expected[0, 3] == key.index


@pytest.mark.skipif(not SHIPPED_CODEC.exists(), reason="no shipped bundle")
def test_the_shipped_codec_tells_the_key():
    shipped = json.loads(SHIPPED_CODEC.read_text())
    assert SpelledCodec.from_json(shipped).key_told == shipped.get("key_told", "key") == "key"


def test_bad_key_told_is_refused():
    with pytest.raises(ConfigError):
        SpelledCodec(**CODEC_ARGS, key_told="shift")
    with pytest.raises(BundleError):
        SpelledCodec.from_json({**SpelledCodec(**CODEC_ARGS).to_json(), "key_told": "shift"})


@pytest.mark.parametrize("options", [{"arch": "lstm"}, {"augment": "all24"}, {"modes": "dorian"}])
def test_bad_study_options_are_refused(options):
    from bachgen.config import FitConfig, NetConfig

    with pytest.raises(ConfigError):
        NetConfig(**options) if "arch" in options else FitConfig(**options)


@pytest.mark.parametrize("told, refused", [("key", True), ("mode", False), ("none", False)])
def test_all12_needs_a_codec_that_does_not_tell_the_shift(told, refused):
    from bachgen.config import FitConfig
    from bachgen.data import check_key_treatment
    from bachgen.evaluation.studies import Variant

    codec = SpelledCodec(**CODEC_ARGS, key_told=told)
    variant = Variant("v", "all12", fit={"augment": "all12"}, key_told=told)
    if refused:
        with pytest.raises(ConfigError):
            check_key_treatment(codec, FitConfig(augment="all12"))
        with pytest.raises(ConfigError):
            variant.configs()
    else:
        check_key_treatment(codec, FitConfig(augment="all12"))
        assert variant.configs()[1].augment == "all12"


def test_all12_keeps_the_own_key_and_moves_it_twelve_ways():
    from bachgen.data import ALL12, own_key_versions

    piece = replace(PIECE, key="d", time_signature=(4, 4))
    codec = SpelledCodec(**CODEC_ARGS, key_told="mode")
    versions = own_key_versions(piece, codec)
    assert [v.shift for v in versions] == list(ALL12)
    base = np.asarray(codec.encode(piece))
    assert np.array_equal(versions[5].ids, base)  # shift 0: the piece's own key
    assert all((v.features[:, 3] == KeyCondition(True, 0).index).all() for v in versions)


@pytest.fixture(scope="module")
def corpus_codec(corpus_pieces):
    return SpelledCodec.build(corpus_pieces)


@pytest.mark.parametrize("modes", ["major", "minor", "both"])
def test_modes_keep_the_fugues_of_one_mode(corpus_pieces, corpus_codec, modes):
    from bachgen.config import FitConfig
    from bachgen.data import in_modes, prepare_data
    from bachgen.events import key_is_minor

    data = prepare_data(corpus_pieces, corpus_codec, FitConfig(modes=modes, shifts=0, limit_pieces=4))
    keys = {p.name: p.key for p in corpus_pieces}
    used = data.names["train"] + data.names["validation"]
    if modes != "both":
        assert all(key_is_minor(keys[n]) == (modes == "minor") for n in used)
    assert len(data.names["train"]) == 4 and in_modes(corpus_pieces[0], "both")


def test_the_original_network_trains_saves_and_is_scored(tmp_path):
    from bachgen.bundle import load_bundle, require_step, save_bundle
    from bachgen.config import FitConfig, NetConfig
    from bachgen.data import Data, cut_windows, piece_versions
    from bachgen.evaluation.heldout import model_bits, model_input_names
    from bachgen.evaluation.told import told_generations
    from bachgen.train import fit_model

    codec = SpelledCodec(**CODEC_ARGS)
    piece = replace(PIECE, key="E", name="tiny")
    versions = piece_versions(piece, codec, 2)
    counts = np.bincount(np.concatenate([v.ids for v in versions]), minlength=codec.vocab_size)
    data = Data(cut_windows(versions, 6, 3), cut_windows(versions[:1], 6, 6), counts)
    net, fit = NetConfig(units=8, arch="original"), FitConfig(seq_len=6, stride=3, epochs=1, batch_size=8)
    model, history, _ = fit_model(codec, data, net, fit)
    assert model_input_names(model) == ["tokens"] and len(history["val_loss"]) == 1
    save_bundle(tmp_path, model, codec, net, {"fit": {"modes": "both"}})
    bundle = load_bundle(tmp_path)
    assert bundle.net.arch == "original" and model.count_params() == bundle.model.count_params()
    bits = model_bits(bundle, piece)
    assert 0 < bits["bits_per_note"] < 30 and bits["notes"] == len(PIECE.notes)
    with pytest.raises(ConfigError):
        require_step(bundle)
    with pytest.raises(ConfigError):
        told_generations(bundle, [piece], 5, 5, None, 0)


def test_the_conditioned_network_is_scored_with_its_own_inputs(tiny_spelled_dir):
    from bachgen.bundle import load_bundle, require_step
    from bachgen.evaluation.heldout import model_bits, model_input_names
    from bachgen.network import INPUTS

    bundle = load_bundle(tiny_spelled_dir)
    require_step(bundle)
    assert model_input_names(bundle.model) == list(INPUTS)
    assert model_bits(bundle, replace(PIECE, key="c", name="tiny"))["bits_per_note"] > 0


def test_the_study_list_names_each_variant_with_its_settings(capsys):
    from bachgen.cli import main
    from bachgen.evaluation.studies import STUDY_FIT, VARIANTS, variants_by_name

    assert [v.name for v in variants_by_name()] == [v.name for v in VARIANTS]
    assert [v.name for v in variants_by_name(["minor", "original"])] == ["original", "minor"]
    for variant in VARIANTS:
        net, fit = variant.configs()
        assert fit.epochs == {**STUDY_FIT, **variant.fit}["epochs"] and net.arch == variant.net.get("arch", net.arch)
        command = variant.command(Path("out") / variant.name)
        assert command.startswith("bachgen train ") and f"(key told: {variant.key_told})" in command
    assert main(["studies", "list", "--out", "o"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in listed] == [v.name for v in VARIANTS]
    with pytest.raises(ConfigError):
        variants_by_name(["no-such-study"])


def test_a_study_with_an_unknown_option_is_refused():
    from bachgen.evaluation.studies import Variant

    with pytest.raises(ConfigError):
        Variant("bad", "a typo", fit={"epoch": 3}).configs()


def test_the_results_table_has_one_row_per_model(tmp_path):
    from bachgen.evaluation.studies import write_results

    pooled = {"bits_per_note": 5.0, "struck": 3.0, "held": 1.5, "duration": 0.5}
    trained = {"training": {"epochs_run": 4, "best_epoch": 4, "minutes": 11.5, "load_average": [2.0, 2.5],
                            "val_bits_per_token": 2.41},
               "held_out": {"pooled": pooled, "fugues": 6}}
    results = {"reference": {**trained, "yardstick": [
                   {"seed": 1722, "inside": 30, "pieces": 48, "classifier": 0.7},
                   {"seed": 7, "inside": 33, "pieces": 48, "classifier": 0.65}]},
               "original": {**trained, "yardstick_skipped": "no step"},
               "major+minor": {"held_out": {"pooled": pooled, "fugues": 6}}}
    write_results(tmp_path, results, {"reference": "shipped settings"})
    table = (tmp_path / "results.md").read_text().splitlines()
    rows = [line for line in table if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) == 3 and "30/48 / 33/48" in rows[0] and "0.70 / 0.65" in rows[0]
    assert "5.00 (3.00/1.50/0.50)" in rows[1] and rows[2].startswith("| major+minor |")
    assert json.loads((tmp_path / "results.json").read_text())["reference"]["held_out"]["fugues"] == 6
