"""A plan held by the sampler: planned notes struck and held where the plan says, events cut at
planned onsets, the close, best of N — on a real (tiny, untrained) network, so whatever the
network prefers, only the rules can put the planned notes there."""

from __future__ import annotations

import numpy as np
import pytest

from bachgen.codec import KeyCondition, SpelledCodec
from bachgen.config import FormConfig, SamplingConfig
from bachgen.constraints import Rules
from bachgen.events import Note, Piece
from bachgen.form import binary_rhythm, ending, take_plan, take_span
from bachgen.harmony import clashes, harshness
from bachgen.pipeline import ComposeSettings, SeedSpec, compose, draw, make_seed
from bachgen.plan import Close, Plan, PlannedEntry
from bachgen.rows import SampleSettings, SeedRow, TakeRows
from bachgen.sampling import sample_takes

CODEC = SpelledCodec(durations=(6, 12, 24, 48, 96, 192), max_pitches=4, meters=[(4, 4)])
LOW = CODEC.low


def entry(start: int, *notes: tuple[int, int, int]) -> PlannedEntry:
    return PlannedEntry(start, 0, 0, "bass", tuple(Note(start + s, d, p) for s, d, p in notes))


PLAN = Plan((entry(192, (0, 48, 60), (48, 96, 62)),), None, None, 3)


def test_a_rule_asks_for_the_planned_pitch_struck_at_its_onset_and_held_while_it_lasts():
    rules = Rules(PLAN, CODEC)
    assert rules.at(192).required == ((60, True),) and rules.at(192).boundary == 240
    assert rules.at(216).required == ((60, False),)
    assert rules.at(240).required == ((62, True),) and rules.at(240).released == (60,)
    assert rules.at(100).required == () and rules.at(100).boundary == 192
    assert rules.at(336).required == () and rules.at(336).boundary is None


def mask_at(rules: Rules, tick: int, written: list[int] = (), prev: tuple[int, ...] = ()) -> np.ndarray:
    """The mask of one row at ``tick`` after writing the pitches ``written`` (ascending)."""
    mask = np.ones(CODEC.vocab_size, dtype=bool)
    mask[0] = False
    before = np.zeros(CODEC.pitches, dtype=bool)
    before[[p - LOW for p in prev]] = True
    last = written[-1] - LOW if written else -1
    rules.restrict(mask, tick, last, len(written), before)
    return mask


def names(mask: np.ndarray) -> set[str]:
    return {CODEC.token_name(t) for t in np.nonzero(mask)[0]}


def test_below_the_planned_pitch_anything_above_it_nothing_and_no_duration_before_it():
    allowed = names(mask_at(Rules(PLAN, CODEC), 192, [48]))
    assert "S60" in allowed and "S55" in allowed and "H60" not in allowed
    assert not any(n.startswith("D") for n in allowed) and "S61" not in allowed


def test_once_struck_events_may_not_pass_the_next_planned_onset():
    allowed = names(mask_at(Rules(PLAN, CODEC), 192, [60]))
    assert {n for n in allowed if n.startswith("D")} == {"D2", "D6", "D12", "D24", "D48"}


def test_a_planned_note_is_not_held_past_its_end():
    allowed = names(mask_at(Rules(PLAN, CODEC), 240, [], prev=(55, 60)))
    assert "H60" not in allowed and "H55" in allowed


def test_with_the_voice_cap_reached_only_the_planned_pitch_may_come():
    allowed = names(mask_at(Rules(PLAN, CODEC, cap_voices=True), 192, [40, 45]))
    assert allowed == {"S60"}


def test_no_event_holds_more_pitches_than_the_fugue_has_voices_planned_note_or_not():
    rules = Rules(Plan((), None, 960, 3), CODEC)
    assert not any(n.startswith(("S", "H")) for n in names(mask_at(rules, 100, [40, 45, 50])))
    assert "S60" in names(mask_at(rules, 100, [40, 45]))
    free = Rules(Plan((), None, 960, 3), CODEC, cap_voices=False)
    assert "S60" in names(mask_at(free, 100, [40, 45, 50]))


@pytest.mark.parametrize("binary, lengths", [
    (True, {"D6", "D12", "D24", "D48", "D96", "D192"}),  # in twos: whole 32nds only
    (False, {"D2", "D6", "D12", "D24", "D48", "D96", "D192"}),
])
def test_a_take_whose_seed_divides_the_beat_in_twos_has_no_triplet_lengths(binary, lengths):
    rules = Rules(Plan((), None, 960, 3, binary=binary), CODEC)
    assert {n for n in names(mask_at(rules, 96, [60])) if n.startswith("D")} == lengths


@pytest.mark.parametrize("ids, binary", [
    ([13, 25, "D12", 14, "D24"], True),      # a 16th and an 8th
    ([13, "D12", 14, "D16"], False),         # a triplet 8th
])
def test_the_seed_s_rhythm_is_binary_when_every_event_lasts_whole_32nds(ids, binary):
    codec = SpelledCodec(durations=(6, 12, 16, 24, 48), max_pitches=4, meters=[(4, 4)])
    tokens = [codec.durations.index(int(t[1:])) + 1 + 2 * codec.pitches if isinstance(t, str) else t for t in ids]
    assert binary_rhythm(codec, tokens) is binary


def test_the_final_chord_is_the_tonic_over_the_tonic_held_half_a_bar_or_more():
    close = Close(Note(288, 96, 55), 48, 384, 576, frozenset({0, 3, 4, 7}))
    rules = Rules(Plan((), close, 576, 3), CODEC)
    assert names(mask_at(rules, 384)) == {"S48"}
    upper = names(mask_at(rules, 384, [48]))
    above = {n for n in upper if n.startswith("S") and int(n[1:]) > 48}  # the grammar ascends
    assert above and above <= {f"S{p}" for p in range(49, 109) if p % 12 in (0, 3, 4, 7)}
    assert {n for n in upper if n.startswith("D")} == {"D96", "D192"}
    below = names(mask_at(rules, 288, []))
    assert "S55" in below and "S54" not in below and "S50" not in below
    assert rules.finished(480) and not rules.finished(384)


@pytest.mark.parametrize("pitches, harsh", [((60, 64, 67), 1), ((60, 61), 1), ((60, 65), 1), ((60, 67), 0),
                                            ((48, 60, 64, 67, 72), 3), ((60, 66, 71), 3)])
def test_harshness_counts_clashes_and_pitches_beyond_two(pitches, harsh):
    assert harshness(pitches) == harsh
    assert clashes(pitches) <= harsh


@pytest.mark.parametrize("pitches, strict, mild", [
    ((43, 59, 62, 65), 4, 3),   # G B D F: the minor seventh over G is not counted, B-F still is
    ((55, 59, 62, 65), 4, 3),
    ((59, 62, 65), 2, 1),       # B D F: the tritone over B
    ((48, 54), 1, 0), ((48, 58), 1, 0),
    ((48, 60, 64, 67), 2, 2), ((60, 61), 1, 1), ((60, 65), 1, 1), ((60, 71), 1, 1),
    ((60, 66, 71), 3, 2), ((48, 52, 62), 3, 3), ((50, 62, 66, 72), 5, 4), ((), 0, 0), ((60,), 0, 0)])
def test_the_mild_chooser_does_not_count_the_tritone_and_minor_seventh_over_the_lowest(pitches, strict, mild):
    assert harshness(pitches) == harshness(pitches, "strict") == strict
    assert harshness(pitches, "mild") == mild


def test_the_chooser_is_strict_unless_asked_and_reaches_the_rules():
    from bachgen.cli import build_parser
    from bachgen.cli.common import form_config
    from bachgen.errors import ConfigError
    from bachgen.form import take_rules

    assert FormConfig().chooser == "strict" and Rules(PLAN, CODEC).chooser == "strict"
    assert take_rules(PLAN, CODEC, FormConfig(chooser="mild")).chooser == "mild"
    for command in ("evaluate --generated", "generate --fugue wtc1f02"):
        args = build_parser().parse_args([*command.split(), "--chooser", "mild", "--best-of", "3"])
        assert form_config(args) == FormConfig(best_of=3, chooser="mild")
        assert form_config(build_parser().parse_args(command.split())).chooser == "strict"
    with pytest.raises(ConfigError):
        FormConfig(chooser="lenient")


# --------------------------------------------------------------------------- on a network


def take_with(engine, plan: Plan, seed: int = 5, best_of: int = 1, events: int = 60, chooser: str = "strict") -> list:
    row = SeedRow(tuple(engine.codec.encode_events(engine.fugue_events("wtc1f02")[:20])), 0, (4, 4),
                  KeyCondition(True, 0))
    rules = Rules(plan, engine.codec, best_of=best_of, chooser=chooser)
    ids = sample_takes(engine.step, engine.codec, [TakeRows([row], events, SampleSettings(top_p=1.0),
                                                            np.random.default_rng(seed), rules=rules)])[0][0]
    start = row.start + int(engine.codec.ticks[np.asarray(row.ids)].sum())
    return engine.codec.events(ids, start), start


@pytest.mark.parametrize("best_of", [1, 4])
def test_planned_notes_sound_exactly_where_the_plan_puts_them(engine, best_of):
    _, start = take_with(engine, Plan(), events=1)
    at = start + 192 - start % 192 + 24
    plan = Plan((entry(at, (0, 24, 72), (24, 24, 71), (48, 48, 72), (96, 48, 67)),), None, None, 3)
    events, _ = take_with(engine, plan, best_of=best_of)
    decoded = Piece(()).with_notes(engine.codec.decode(engine.codec.encode_events(events), events[0].start).notes)
    for n in plan.entries[0].notes:
        assert any(m.start == n.start and m.pitch == n.pitch and m.end == n.end for m in decoded.notes), n
    assert all(len(e.struck) + len(e.held) <= 3 for e in events if at <= e.start < plan.entries[0].end)


def test_the_same_seed_gives_the_same_take_with_a_plan(engine):
    _, start = take_with(engine, Plan(), events=1)
    plan = Plan((entry(start + 384, (0, 48, 67), (48, 48, 65)),), None, None, 3)
    assert take_with(engine, plan, best_of=3) == take_with(engine, plan, best_of=3)


@pytest.mark.parametrize("chooser", ["strict", "mild"])
def test_the_chooser_weighs_the_tries_as_the_rules_ask(engine, monkeypatch, chooser):
    import bachgen.sampling

    asked = []

    def weighed(pitches, how="strict"):
        asked.append(how)
        return harshness(pitches, how)

    monkeypatch.setattr(bachgen.sampling, "harshness", weighed)
    _, start = take_with(engine, Plan(), events=1)
    plan = Plan((entry(start + 384, (0, 48, 67), (48, 48, 65)),), None, None, 3)
    take_with(engine, plan, best_of=3, chooser=chooser)
    assert asked and set(asked) == {chooser}


def test_a_take_of_bars_ends_on_its_close(engine):
    settings = ComposeSettings(SeedSpec(fugue="wtc1f02"), SamplingConfig(seed=3, bars=8),
                               form=FormConfig(best_of=2))
    settings = ComposeSettings(settings.seed, settings.sampling,
                               settings.render.__class__(audio=False, score=False, pianoroll=False),
                               settings.form)
    made = compose(settings, engine)
    found = ending(made.piece)
    assert found is not None and found.closes and found.from_dominant
    assert made.stats["ending"]["closes"] and made.stats["subject"]
    assert made.entries, "the planned entries are found in the take"


def test_the_plan_s_span_ends_on_a_bar_line(engine):
    seed = make_seed(SeedSpec(fugue="wtc1f02"), engine, np.random.default_rng(0), [])
    span = take_span(engine.codec, seed.row, seed.moved_by, seed.key, seed.voices, SamplingConfig(bars=10))
    assert span.end % span.bar == 0 and span.end // span.bar == span.start // span.bar + 10
    plan = take_plan(seed.subject, span, FormConfig(), np.random.default_rng(0), seed.moved_by)
    assert plan.close is not None and plan.entries
    drawn = draw(SamplingConfig(seed=1, bars=10), engine, seed, np.random.default_rng(1), None,
                 FormConfig(best_of=1))
    assert drawn.plan == take_plan(seed.subject, span, FormConfig(best_of=1), np.random.default_rng(1),
                                   seed.moved_by)
