"""A take as the page keeps it: its form is plain data that draws the same outlines again,
and the summary's lines and table are made from it (no page needed)."""

from __future__ import annotations

from io import BytesIO

import pytest

from bachgen.config import FormConfig, RenderConfig, SamplingConfig
from bachgen.pipeline import ComposeSettings, SeedSpec, compose
from bachgen.render.pianoroll import ENTRY_SHADE
from bachgen.ui.form_panel import entries_table, form_lines
from bachgen.ui.take_record import describe, draw_pianoroll, make_take, take_entries

QUIET = RenderConfig(audio=False, score=False, pianoroll=False)


@pytest.fixture(scope="module")
def composed(engine):
    """A take of 12 bars from Book I Fugue 2 with its form, the tiny model writing round it."""
    settings = ComposeSettings(seed=SeedSpec(fugue="wtc1f02"), sampling=SamplingConfig(bars=12, seed=7),
                               render=QUIET)
    return settings, compose(settings, engine)


def shade_drawn(png: bytes) -> bool:
    from matplotlib.image import imread

    pixels = imread(BytesIO(png))[..., :3]
    shade = tuple(int(ENTRY_SHADE[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return bool((abs(pixels - shade).max(axis=-1) < 1e-3).any())


def test_a_take_keeps_its_entries_as_plain_data_and_gets_them_back(composed):
    import json

    settings, composition = composed
    take = make_take(1, settings, composition, want_score=False)
    form = take["form"]
    json.dumps(form)  # plain data only
    assert composition.entries, "the plan's entries are found in the take"
    assert take_entries(take) == composition.entries
    assert [e["bar"] for e in form["entries"]] == [e["bar"] for e in composition.stats["entries"]]
    assert form["subject"] == composition.stats["subject"] and form["no_subject"] is None
    assert form["closes"] == composition.stats["ending"]["closes"]
    assert take["label"].startswith("12 bars from Book I Fugue 2, bar 1")


def test_the_piano_roll_drawn_again_keeps_the_outlines(composed):
    settings, composition = composed
    take = make_take(1, settings, composition, want_score=False)
    assert shade_drawn(draw_pianoroll(take))
    take["form"]["entries"] = []
    assert not shade_drawn(draw_pianoroll(take))


def test_the_summary_lists_the_subject_the_entries_and_the_close(composed):
    settings, composition = composed
    form = make_take(1, settings, composition, want_score=False)["form"]
    subject, ending = form_lines(form)
    assert composition.stats["subject"] in subject
    assert ("ends with a close" in ending) == bool(form["closes"])
    table = entries_table(form)
    assert table["bar"] == [str(e["bar"]) for e in composition.stats["entries"]]
    assert all(v and v != "—" for v in table["voice"])


@pytest.mark.parametrize("seed, reason", [
    (SeedSpec(fugue=None), "starts from silence"),
    (SeedSpec(fugue=None, file_bytes=b"MThd", file_name="x.mid"), "does not open with one voice alone"),
    (SeedSpec(fugue=None, file_bytes=b"MThd", file_name="t.mid", continue_take=True),
     "take it was made from has none"),
])
def test_a_take_without_a_subject_says_why(seed, reason):
    from bachgen.ui.take_record import no_subject_reason

    settings = ComposeSettings(seed=seed, form=FormConfig())
    assert reason in no_subject_reason(settings)


def test_a_take_from_silence_has_no_subject_and_says_so(engine):
    settings = ComposeSettings(seed=SeedSpec(fugue=None), sampling=SamplingConfig(bars=4, seed=1),
                               render=QUIET)
    take = make_take(1, settings, compose(settings, engine), want_score=False)
    subject, _ = form_lines(take["form"])
    assert take["form"]["entries"] == [] and "no subject — it starts from silence" in subject
    assert take["label"].startswith("4 bars from silence")


@pytest.mark.parametrize("closes, asked, words", [
    (True, True, "ends with a close"),
    (False, True, "though one was planned"),
    (False, False, "does not end with a close."),
    (None, True, "could not be checked"),
])
def test_the_ending_line(closes, asked, words):
    assert words in form_lines({"subject": "s", "closes": closes, "asked": {"close": asked}})[1]


def test_describe_names_the_length_in_events_when_no_bars_are_set():
    settings = ComposeSettings(seed=SeedSpec(fugue=None), sampling=SamplingConfig(events=50, seed=3))
    assert describe(settings, {}).startswith("50 events from silence")
