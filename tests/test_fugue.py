"""A whole fugue on a subject: its plan (exposition, middle entries, final entry, close), the
subject moved into related keys, and a fugue drawn by the shipped network."""

from __future__ import annotations

import numpy as np
import pytest

from bachgen.config import FormConfig, RenderConfig, SamplingConfig
from bachgen.errors import ConfigError
from bachgen.events import Note
from bachgen.fugue import FUGUE_BEST_OF, FugueShape, entry_order, first_voice, in_mode, plan_fugue, stated
from bachgen.pipeline import ComposeSettings, SeedSpec, compose, load_engine
from bachgen.plan import Span
from bachgen.seeding import OwnSubject
from bachgen.subject import Subject

BAR = 192
#: A subject of our own in C major: two bars, from the downbeat (c g a g f e d e f d c).
C_MAJOR_LINE = (60, 67, 69, 67, 65, 64, 62, 64, 65, 62, 60)


def subject(pitches=C_MAJOR_LINE, key="C", offset=0, length=24) -> Subject:
    notes = tuple(Note(i * length, length if i < len(pitches) - 1 else 2 * length, p) for i, p in enumerate(pitches))
    return Subject(notes, offset, key, "a test")


def fugue_span(subj: Subject, bars: int = 48, voices: int = 3, minor: bool = False) -> Span:
    return Span(subj.offset + subj.length, bars * BAR, bars * BAR, BAR, 0, minor, voices)


def plan(bars=48, voices=3, seed=1, subj=None, middle=True):
    subj = subj or subject()
    rng = np.random.default_rng(seed)
    order = entry_order(first_voice(subj, voices), voices, rng)
    return plan_fugue(subj, fugue_span(subj, bars, voices), FugueShape(voices, order), FormConfig(entries=middle), rng)


@pytest.mark.parametrize("voices", [2, 3, 4, 5])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_exposition_brings_each_voice_in_turn_subject_and_answer_alternating(voices, seed):
    p = plan(voices=voices, seed=seed)
    exposition = p.entries[:voices]
    assert sorted(e.voice for e in exposition) == list(range(voices))
    assert [e.level for e in exposition] == [0 if k % 2 == 0 else 7 for k in range(voices)]
    assert all(b.start >= a.end for a, b in zip(exposition, exposition[1:]))
    assert all(e.start % (BAR // 2) == 0 for e in exposition)     # the subject's place in the bar, or half a bar on
    assert exposition[1].start == exposition[0].end               # the answer as soon as the subject ends
    assert p.caps == tuple((e.start, k + 1) for k, e in enumerate(exposition))


def test_the_answer_is_tonal_when_the_head_moves_from_tonic_to_dominant():
    answer = plan().entries[1]
    assert answer.answer == "tonal"                   # c g: the g is answered by c, not d
    assert [n.pitch % 12 for n in answer.notes[:3]] == [7, 0, 4]


@pytest.mark.parametrize("seed", range(6))
def test_middle_entries_are_in_related_keys_and_the_final_entry_in_the_tonic_before_the_close(seed):
    p = plan(seed=seed)
    middle, final = p.entries[3:-1], p.entries[-1]
    assert middle, "48 bars leave room for middle entries"
    assert {e.level for e in middle} <= {7, 9, 5, 4, 2}
    assert all(a.level != b.level for a, b in zip(middle, middle[1:]))
    assert final.level == 0 and final.end <= p.close.dominant.start
    kinds = [s.kind for s in p.sections]
    assert kinds[0] == "exposition" and kinds[-2:] in (["final entry", "close"], ["episode", "close"])
    assert all(a.end <= b.start for a, b in zip(p.sections, p.sections[1:]))


def test_without_middle_entries_only_the_exposition_the_final_entry_and_the_close():
    p = plan(middle=False)
    assert len(p.entries) == 4 and [s.kind for s in p.sections][-1] == "close"


@pytest.mark.parametrize("pitches, minor, level, to_minor, expected", [
    ((60, 64, 67, 71), False, 9, True, (69, 72, 76, 80)),   # C major → a minor: E→C, B→G# (leading tone)
    ((60, 63, 67, 71), True, 3, False, (63, 67, 70, 74)),   # c minor → E♭ major: E♭→G, B (raised) → D
    ((60, 62, 64), False, 7, False, (67, 69, 71)),          # the same mode: moved as it is
])
def test_a_middle_entry_keeps_each_note_on_its_scale_degree_in_the_new_mode(pitches, minor, level, to_minor, expected):
    assert tuple(in_mode(pitches, 0, minor, level, to_minor)) == expected


def test_too_few_bars_for_the_voices_say_how_many_are_needed():
    with pytest.raises(ConfigError, match=r"too few .* 5 voices") as caught:
        plan(bars=10, voices=5)
    assert "at least" in caught.value.hint


def test_the_subject_opens_in_the_voice_its_register_is_nearest_and_stays_there():
    low = subject(tuple(p - 24 for p in C_MAJOR_LINE))
    assert first_voice(low, 3) == 0 and first_voice(subject(), 4) >= 2
    assert [n.pitch for n in stated(subject(), 0, 3).notes][0] in (36, 48)


def test_own_subject_is_given_one_way_and_for_two_to_five_voices():
    with pytest.raises(ConfigError, match="2 to 5 voices"):
        OwnSubject(subject=subject(), voices=6)
    with pytest.raises(ConfigError, match="one way"):
        OwnSubject(text="c4 d e f", subject=subject())


@pytest.fixture(scope="module")
def shipped(corpus_config):
    return load_engine(None, corpus_config)


def fugue_settings(voices=3, bars=32, seed=5, subj=None, keep_voices=False):
    own = OwnSubject(subject=subj or subject(), voices=voices)
    return ComposeSettings(seed=SeedSpec(fugue=None, own=own), sampling=SamplingConfig(bars=bars, seed=seed),
                           render=RenderConfig(audio=False, score=False),
                           form=FormConfig(keep_voices=keep_voices, best_of=FUGUE_BEST_OF))


@pytest.mark.parametrize("voices", [2, 4])
def test_a_fugue_holds_its_plan_and_ends_on_the_tonic(shipped, voices):
    fugue = compose(fugue_settings(voices), shipped)
    piece, stats = fugue.piece, fugue.stats
    assert piece.bars == 32 and stats["ending"]["closes"]
    sounding = {(n.start, n.pitch) for n in piece.notes}
    planned = stats["planned_entries"]
    for entry in planned:   # every planned entry's first notes are there, at its pitches
        starts = [entry["start"] + n.start for n in subject().notes[:4]]
        assert all((t, p) in sounding for t, p in zip(starts, entry["pitches"]))
    first_answer = planned[1]["start"]
    assert max(sum(1 for n in piece.notes if n.start <= t < n.end)
               for t in range(0, first_answer, 12)) == 1, "the subject is stated alone"
    assert [s["kind"] for s in stats["sections"]][0] == "exposition" and fugue.png
    assert len({n.voice for n in piece.notes}) == voices


def test_asked_to_a_fugue_s_entries_keep_their_place_among_the_voices(shipped):
    """With ``keep_voices`` the bass's entry has nothing under it, the top voice's nothing over
    it, once the voices it lies between have entered."""
    fugue = compose(fugue_settings(3, bars=32, seed=2, keep_voices=True), shipped)
    piece, planned = fugue.piece, fugue.stats["planned_entries"]
    names = {"bass": "lowest", "soprano": "highest"}
    checked = 0
    for entry in planned[3:]:   # after the exposition every voice has entered
        where = names.get(entry["voice"])
        if where is None:
            continue
        for n in subject().notes:
            t, p = entry["start"] + n.start, entry["pitches"][subject().notes.index(n)]
            sounding = [m.pitch for m in piece.notes if m.start <= t < m.end]
            assert p == (min(sounding) if where == "lowest" else max(sounding)), (entry, t)
            checked += 1
    assert checked
