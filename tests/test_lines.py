"""A network told the lines: the bass and top columns read from tokens (training) agree with
those read from the grammar's state (sampling), and the codec keeps the setting."""

from __future__ import annotations

import numpy as np

from bachgen.codec import KeyCondition, SpelledCodec
from bachgen.config import LINE_FEATURES, NetConfig
from bachgen.lines import line_columns, state_columns
from bachgen.rows import RowConditions, SeedRow

from .conftest import make_piece

Q = 48


def piece():
    """C3 under E4–G4, a rest, then D3 held under F4 and A4."""
    return make_piece((0, Q, 48), (0, Q // 2, 64), (Q // 2, Q // 2, 67),
                      (2 * Q, 2 * Q, 50), (2 * Q, Q, 65), (3 * Q, Q, 69))


def codec():
    return SpelledCodec.build([piece()], lines=True)


def test_columns_from_tokens_name_the_last_bass_and_top_and_this_bass():
    c = codec()
    ids = np.asarray(c.encode(piece()))
    names = [c.token_name(int(t)) for t in ids]
    cols = line_columns(c.kind, c.pitch_index, ids)
    index = lambda pitch: pitch - c.low + 1  # noqa: E731
    assert names[:3] == ["S48", "S64", "D24"]
    assert cols[0].tolist() == [0, 0, index(48)]
    assert cols[2].tolist() == [index(48), index(64), 0]  # after the event: its bass and top, nothing yet
    rest = names.index("D48")
    assert cols[rest].tolist() == [0, 0, 0]  # after a rest there is no line to follow


def test_columns_from_the_grammar_agree_with_the_tokens():
    c = codec()
    ids = np.asarray(c.encode(piece()))
    state = c.empty_state(1)
    from_state = []
    for t in ids:
        c.advance_inplace(state, int(t))
        from_state.append(state_columns(state.prev, state.cur)[0].tolist())
    assert from_state == line_columns(c.kind, c.pitch_index, ids).tolist()


def test_the_codec_keeps_the_setting_and_gives_the_columns():
    c = codec()
    again = SpelledCodec.from_json(c.to_json())
    assert again.lines and again.feature_names[-3:] == LINE_FEATURES
    assert not SpelledCodec.from_json(SpelledCodec.build([piece()]).to_json()).lines
    ids = c.encode(piece())
    feats = c.features(ids, (4, 4), 0, KeyCondition(False, 0))
    assert feats.shape == (len(ids), 4 + 3)
    assert c.feature_sizes()["bass"] == c.pitches + 1
    assert NetConfig(lines=True).input_names[-3:] == LINE_FEATURES


def test_the_sampler_reads_the_columns_from_its_grammar():
    c = codec()
    ids = c.encode(piece())
    row = SeedRow(tuple(ids), 0, (4, 4), KeyCondition(False, 0))
    conditions = RowConditions.of(c, [row])
    state = c.start_states([ids], [0])
    got = conditions.features(c, state.tick, state)
    assert got[0].tolist() == c.features(ids, (4, 4), 0, KeyCondition(False, 0))[-1].tolist()


def test_the_train_command_of_a_network_told_the_lines_gives_it_back():
    from dataclasses import asdict

    from bachgen.cli import build_parser
    from bachgen.cli.train import configs_from
    from bachgen.config import FitConfig
    from bachgen.train import train_command

    net, fit = NetConfig(lines=True, bass_embed=12), FitConfig(epochs=4)
    command = train_command(asdict(net), asdict(fit), "runs/lines")
    assert "--lines" in command.split() and "--bass-embed 12" in command
    assert configs_from(build_parser().parse_args(command.split()[1:])) == (net, fit)
