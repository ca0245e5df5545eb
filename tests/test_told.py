"""A network told the plan: the end and line columns from a fugue's real entries and end (training),
from a plan (sampling), the NumPy step equal to Keras with them, and the shipped model untouched."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bachgen.codec import KeyCondition, SpelledCodec
from bachgen.config import FitConfig, NetConfig
from bachgen.cues import (FAR, LINE_CATEGORIES, Cues, end_category, entry_line, line_category, piece_cues,
                          plan_cues)
from bachgen.data import cut_windows, piece_versions, window_inputs
from bachgen.errors import ConfigError
from bachgen.events import Note
from bachgen.form import told_row
from bachgen.plan import Plan, PlannedEntry
from bachgen.rows import RowConditions, SeedRow

from .conftest import make_piece

Q = 48
BAR = 4 * Q
#: A nine-note subject in C major from tick 0: c d e c g f e d c (eighths, then a half note).
SUBJECT = ((0, 24, 60), (24, 24, 62), (48, 24, 64), (72, 24, 60), (96, 24, 67), (120, 24, 65),
           (144, 24, 64), (168, 24, 62), (192, 96, 60))


def fugue():
    """Two voices: the subject in the upper (voice 1) from tick 0; the answer a fifth higher
    an octave down (level −5) in the lower (voice 0) from bar 3, whose last note leaves the
    subject (an e, not the g); a held chord to the end of bar 5."""
    upper = [(s, d, p, 1) for s, d, p in SUBJECT] + [(2 * BAR, 2 * BAR, 72, 1), (4 * BAR, BAR, 72, 1)]
    lower = [(2 * BAR + s, d, p - 5, 0) for s, d, p in SUBJECT[:-1]] + [(2 * BAR + 192, 96, 52, 0),
                                                                      (4 * BAR, BAR, 48, 0)]
    return make_piece(*upper, *lower, key="C", time_signature=(4, 4))


def test_a_fugues_cues_are_its_entries_as_played_and_its_end():
    cues = piece_cues(fugue())
    assert cues.end == 5 * BAR
    subject = [(s, s + d, p) for s, d, p in SUBJECT]
    answer = [(2 * BAR + s, 2 * BAR + s + d, p - 5) for s, d, p in SUBJECT[:-1]]  # the last note left it
    assert sorted(cues.line) == sorted(subject + answer)


def test_the_end_column_counts_whole_bars_down_to_the_last():
    ticks = np.array([0, BAR - 2, 3 * BAR, 4 * BAR - 1, 4 * BAR, 5 * BAR - 2, 5 * BAR, 20 * BAR])
    assert end_category(ticks, 5 * BAR, BAR).tolist() == [4, 4, 1, 1, 0, 0, 0, 0]
    assert end_category(np.array([0]), 20 * BAR, BAR).tolist() == [FAR]
    assert end_category(ticks, None, BAR).tolist() == [FAR] * len(ticks)


def test_the_line_column_is_the_degree_above_the_tonic_and_the_octave_band():
    assert line_category(60, 0) == 1 + 0 + 12 * 2  # c4 in C: the tonic, band 60-71
    assert line_category(67, 0) == 1 + 7 + 12 * 2
    assert line_category(57, 9) == 1 + 0 + 12 * 1  # a3 in A minor
    assert line_category(30, 0) == 1 + 6 and line_category(100, 0) == 1 + 4 + 12 * 3
    assert max(line_category(p, t) for p in range(21, 109) for t in range(12)) < LINE_CATEGORIES


def test_training_features_carry_the_real_entries_and_end_and_shift_with_the_music():
    piece = fugue()
    codec = SpelledCodec.build([piece], told=True)
    versions = {v.shift: v for v in piece_versions(piece, codec, 1)}
    base = versions[0]
    assert base.features.shape == (len(base.ids), 6)
    ticks = codec.first_tick(piece) + np.cumsum(codec.ticks[base.ids])
    line = base.features[:, 5]
    for t, category in zip(ticks, line):
        sounding = [p for s, e, p in piece_cues(piece).line if s <= t < e]
        assert category == (line_category(max(sounding), 0) if sounding else 0)
    assert set(line[(ticks >= 2 * BAR) & (ticks < 2 * BAR + 192)]) == {line_category(p - 5, 0)
                                                                       for _, _, p in SUBJECT[:-1]}
    assert base.features[ticks < 5 * BAR, 4].tolist() == (end_category(ticks[ticks < 5 * BAR], 5 * BAR, BAR)).tolist()
    up = versions[1]
    assert np.array_equal(up.features[:, 4], base.features[:, 4])
    degree = lambda f: np.where(f > 0, (f - 1) % 12, -1)  # noqa: E731
    assert np.array_equal(degree(up.features[:, 5]), degree(base.features[:, 5]))  # the tonic moved too


def test_an_untold_codec_gives_the_four_columns_it_always_gave():
    piece = fugue()
    codec = SpelledCodec.build([piece])
    version = piece_versions(piece, codec, 0)[0]
    assert version.features.shape[1] == 4 and codec.feature_names == ("quarter", "phase", "meter", "key")
    assert "told" not in codec.to_json() and not SpelledCodec.from_json(codec.to_json()).told
    assert SpelledCodec.from_json(SpelledCodec.build([piece], told=True).to_json()).told


def test_windows_feed_the_told_inputs_only_to_a_told_network():
    piece = fugue()
    codec = SpelledCodec.build([piece], told=True)
    windows = cut_windows(piece_versions(piece, codec, 0), 16, 8)
    assert windows.shape[2] == 7
    inputs, _ = window_inputs(windows, NetConfig(told=True).input_names)
    assert set(inputs) == {"tokens", "quarter", "phase", "meter", "key", "end", "line"}
    inputs, _ = window_inputs(windows, NetConfig().input_names)
    assert set(inputs) == {"tokens", "quarter", "phase", "meter", "key"}


def test_the_sampler_computes_the_same_columns_as_the_codec():
    piece = fugue()
    codec = SpelledCodec.build([piece], told=True)
    cues = Cues(9 * BAR, ((BAR, 2 * BAR, 64), (BAR + 24, BAR + 72, 55), (6 * BAR, 7 * BAR, 62)))
    rows = [SeedRow((1,), 0, (4, 4), KeyCondition(False, 2), cues),
            SeedRow((1,), 0, (3, 4), KeyCondition(True, -1), None)]
    conditions = RowConditions.of(codec, rows)
    for tick in range(0, 10 * BAR, 6):
        got = conditions.features(codec, np.array([tick, tick]))
        for r, row in enumerate(rows):
            ticks = np.array([tick])
            expected = np.concatenate([codec.position_features(ticks, row.time_signature, row.key),
                                       (row.cues or Cues()).columns(ticks, codec.bar_ticks(row.time_signature),
                                                                    (9 * row.key.minor + row.key.shift) % 12)],
                                      axis=1)
            assert got[r].tolist() == expected[0].tolist()


def test_a_told_row_carries_the_plan_and_the_seeds_own_entries():
    from bachgen.subject import subject_of

    piece = fugue()
    codec = SpelledCodec.build([piece], told=True)
    ids = tuple(codec.encode(piece))
    row = SeedRow(ids, 0, (4, 4), KeyCondition(False, 0))
    entry = PlannedEntry(6 * BAR, 7, 0, "lower", (Note(6 * BAR, 96, 55), Note(6 * BAR + 96, 96, 57)))
    plan = Plan((entry,), None, 9 * BAR, 2)
    told = told_row(codec, row, plan, subject_of(piece))
    assert told.cues == plan_cues(plan, entry_line(codec.decode(ids, 0), subject_of(piece)))
    assert told.cues.end == 9 * BAR and (6 * BAR, 6 * BAR + 96, 55) in told.cues.line
    assert (2 * BAR, 2 * BAR + 24, 55) in told.cues.line  # the seed's answer
    untold = SpelledCodec.build([piece])
    assert told_row(untold, row, plan, subject_of(piece)) is row


def test_only_the_conditioned_network_is_told_and_its_codec_must_agree():
    with pytest.raises(ConfigError, match="told"):
        NetConfig(arch="original", told=True)
    from bachgen.network import build_model

    with pytest.raises(ConfigError, match="told"):
        build_model(SpelledCodec.build([fugue()]), NetConfig(embed=4, units=4, told=True))


def test_the_numpy_step_computes_what_keras_computes_with_the_told_inputs():
    from bachgen.bundle import Bundle
    from bachgen.network import TOLD_INPUTS, build_model
    from bachgen.step import load_step

    piece = fugue()
    codec = SpelledCodec.build([piece], told=True)
    net = NetConfig(embed=8, units=12, quarter_embed=2, phase_embed=3, meter_embed=2, key_embed=2,
                    end_embed=3, line_embed=5, told=True)
    model = build_model(codec, net, seed=7)
    rng = np.random.default_rng(1)
    for layer in ("end_embed", "line_embed"):  # not the tiny starting values: every row counts
        weights = model.get_layer(layer).get_weights()[0]
        model.get_layer(layer).set_weights([rng.normal(0, 1, weights.shape).astype("float32")])
    ids = np.asarray(codec.encode(piece))[None, :]
    feats = codec.features(ids[0], (4, 4), 0, KeyCondition(False, 1), piece_cues(piece))[None]
    assert len(set(feats[0, :, 5])) > 3 and len(set(feats[0, :, 4])) > 3
    inputs = {name: (ids if name == "tokens" else feats[..., i - 1]) for i, name in enumerate(TOLD_INPUTS)}
    reference = model(inputs, training=False).numpy()
    bundle = Bundle(model, codec, net, {})
    got, _ = load_step(bundle, "numpy").run(ids, feats.astype(np.int64))
    assert np.abs(got - reference).max() < 1e-4
    tf_step = load_step(bundle, "tf")
    state = tf_step.zero_state(1)
    for t in range(ids.shape[1]):
        logits, state = tf_step(ids[:, t], feats[:, t], state)
        assert np.abs(logits - reference[:, t]).max() < 1e-4
    blind = feats.copy()
    blind[..., 5] = 0
    other, _ = load_step(bundle, "numpy").run(ids, blind.astype(np.int64))
    assert np.abs(other - got).max() > 1e-3  # the line is read


def test_the_shipped_bundle_is_not_told_and_reads_the_four_columns():
    from bachgen.bundle import assets_dir, load_bundle
    from bachgen.step import load_step

    folder = assets_dir() / "model"
    config = json.loads((folder / "config.json").read_text())
    assert "told" not in config["net"] and "told" not in json.loads((folder / "codec.json").read_text())
    bundle = load_bundle(folder)
    assert not bundle.net.told and not bundle.codec.told
    assert bundle.net.input_names == ("tokens", "quarter", "phase", "meter", "key")
    assert len(load_step(bundle).w.tables) == 5
    row = SeedRow((1,), 0, (4, 4), KeyCondition(False, 0), Cues(BAR, ((0, BAR, 60),)))
    assert RowConditions.of(bundle.codec, [row]).features(bundle.codec, np.array([0])).shape == (1, 4)


def test_the_train_command_of_a_told_network_gives_it_back():
    from dataclasses import asdict

    from bachgen.cli import build_parser
    from bachgen.cli.train import configs_from
    from bachgen.train import train_command

    net, fit = NetConfig(told=True, line_embed=6), FitConfig(epochs=4)
    command = train_command(asdict(net), asdict(fit), "runs/told")
    assert "--told" in command.split() and "--line-embed 6" in command
    assert configs_from(build_parser().parse_args(command.split()[1:])) == (net, fit)


def test_the_told_bundle_reads_six_columns_and_its_rows_are_told_the_plan():
    from bachgen.bundle import assets_dir, load_bundle
    from bachgen.step import load_step

    bundle = load_bundle(assets_dir() / "told")
    assert bundle.net.told and bundle.codec.told
    assert bundle.codec.feature_names[-2:] == ("end", "line")
    step = load_step(bundle)
    assert len(step.w.tables) == 7
    row = SeedRow((1,), 0, (4, 4), KeyCondition(False, 0), Cues(2 * BAR, ((0, BAR, 60),)))
    features = RowConditions.of(bundle.codec, [row]).features(bundle.codec, np.array([0]))
    assert features.shape == (1, 6) and features[0, 4:].tolist() == [1, line_category(60, 0)]
    logits, _ = step(np.array([1]), features, step.zero_state(1))
    assert logits.shape == (1, bundle.codec.vocab_size) and np.isfinite(logits).all()
