"""The page's controls: the sidebar (where the music starts and how it is written), the
settings its widgets make, and the buttons beside a take that shape it into a new one
(keep its first bars and write the rest again, or continue it).

The widgets keep their values in ``st.session_state`` under their keys; the settings are
read from there.
"""

from __future__ import annotations

import dataclasses
import random
from typing import TYPE_CHECKING, Any

import streamlit as st

from bachgen.config import FormConfig, RenderConfig, SamplingConfig
from bachgen.catalog import FUGUE_TITLES
from bachgen.fugue import EXAMPLE_SUBJECT, FUGUE_BEST_OF
from bachgen.render.pianoroll import key_text
from bachgen.ui.corpus_panel import usable_fugues

if TYPE_CHECKING:
    from bachgen.pipeline import ComposeSettings

SEED_SOURCES = {
    "subject": "Your own subject: a whole fugue",
    "fugue": "A fugue",
    "random": "A random place in the 48",
    "file": "Your own file",
    "none": "No seed",
}
SNAP_MODES = {
    "c-major": "Snap to C major",
    "to-c": "Transpose to C",
    "off": "Off",
}
UPLOAD_TYPES = ["mid", "midi", "xml", "musicxml", "mxl", "krn"]
#: Voices a whole fugue may have, and at first.
FUGUE_VOICES, DEFAULT_FUGUE_VOICES = (2, 3, 4, 5), 3
#: The length control: bars of new music, fewest, most and at first.
MIN_BARS, MAX_BARS, DEFAULT_BARS = 4, 120, 24


def new_seed() -> None:
    """Button callback: a new random seed for the next take."""
    st.session_state["seed"] = random.randint(0, 99_999)


def controls(have_corpus: bool) -> None:
    """The sidebar: where the music starts and how it is written."""
    seed_controls(have_corpus)
    music_controls()


def seed_controls(have_corpus: bool) -> None:
    """The sidebar's seed: a fugue and its bar, a random place, an uploaded file or none
    (without the corpus, only the last two)."""
    sidebar = st.sidebar
    sidebar.header("Seed")
    sources = list(SEED_SOURCES) if have_corpus else ["subject", "file", "none"]
    if st.session_state.get("seed_source") not in sources:
        st.session_state["seed_source"] = "fugue" if have_corpus else "none"
    source = sidebar.radio("Start from", sources, format_func=SEED_SOURCES.get,
                           key="seed_source",
                           help="The model continues the music it is given.")
    if source == "fugue":
        offered = usable_fugues()
        sidebar.selectbox("Fugue", offered, index=offered.index("wtc1f02") if "wtc1f02" in offered else 0,
                          format_func=FUGUE_TITLES.get, key="fugue")
        sidebar.number_input("Start bar", min_value=1, max_value=500, value=1, step=1,
                             key="start_bar",
                             help="The seed is taken from the fugue starting at this bar.")
    elif source == "file":
        sidebar.file_uploader("Seed file (MIDI, MusicXML or kern)", type=UPLOAD_TYPES,
                              key="upload")
    elif source == "subject":
        subject_controls()
    if have_corpus is False and source != "file":
        sidebar.caption("With the corpus downloaded you can also start from Bach's fugues.")


def subject_controls() -> None:
    """The sidebar's subject for a whole fugue: typed in tinyNotation (or ABC), or a one-voice
    file; its key when not the one inferred; the fugue's voices. What is typed stays in the
    session (the box keeps it through every run of the page)."""
    sidebar = st.sidebar
    state = st.session_state
    # A widget's value is dropped when it is not drawn (another seed chosen): the text is kept
    # under a key of its own too, and given back when the box is drawn again.
    state.setdefault("subject_text", state.get("subject_typed", EXAMPLE_SUBJECT))
    sidebar.text_area("Subject", key="subject_text", height=90, on_change=keep_typed,
                      help="tinyNotation: an optional metre, then notes — c4 is middle C for a quarter, "
                           "c' an octave up, C an octave down, e- flat, f# sharp, 8 an eighth, "
                           "r a rest; each note keeps the last length given. ABC with its "
                           "X:/M:/L:/K: lines works too.")
    sidebar.caption(f"For example `{EXAMPLE_SUBJECT}`. Or a one-voice file:")
    sidebar.file_uploader("Subject file (MIDI, MusicXML or kern)", type=UPLOAD_TYPES, key="subject_upload")
    state.setdefault("subject_key", state.get("subject_key_typed", ""))
    sidebar.text_input("Key (empty: inferred)", key="subject_key", placeholder="e.g. C, g, E-, f#",
                       on_change=keep_typed)
    sidebar.select_slider("Voices", options=FUGUE_VOICES, value=DEFAULT_FUGUE_VOICES, key="fugue_voices")
    subject_preview(sidebar)


def keep_typed() -> None:
    """Widget callback: the subject and key as typed, kept beside the widgets' own values."""
    state = st.session_state
    state["subject_typed"] = state.get("subject_text", "")
    state["subject_key_typed"] = state.get("subject_key", "")


def subject_preview(where: Any) -> None:
    """What the subject box reads as, under it: its notes, key (inferred or given) and metre —
    or, in one line, what cannot be read. Reading it is cheap, so it is said on every run."""
    from bachgen.errors import SubjectError
    from bachgen.notation import read_subject_text

    state = st.session_state
    if state.get("subject_upload") is not None or not (state.get("subject_text") or "").strip():
        return
    try:
        read = read_subject_text(state["subject_text"], (state.get("subject_key") or "").strip() or None)
    except SubjectError as exc:
        where.error(str(exc))
        return
    how = "inferred" if read.key_inferred else "given"
    where.caption(f"Read: {len(read.subject.notes)} notes in {read.time_signature[0]}/{read.time_signature[1]}, "
                  f"{key_text(read.key)} {'minor' if read.key[0].islower() else 'major'} ({how}).")


def own_subject_of(state: Any) -> Any:
    """The subject the sidebar gives (the uploaded file when there is one, else the box), as
    an :class:`~bachgen.seeding.OwnSubject`; a clear error when there is none."""
    from bachgen.errors import SubjectError
    from bachgen.seeding import OwnSubject

    key = (state.get("subject_key") or "").strip() or None
    voices = int(state.get("fugue_voices") or DEFAULT_FUGUE_VOICES)
    upload = state.get("subject_upload")
    if upload is not None:
        return OwnSubject(file_bytes=upload.getvalue(), file_name=upload.name, key=key, voices=voices)
    text = (state.get("subject_text") or "").strip()
    if not text:
        raise SubjectError("The subject box is empty.", f"Type a subject, e.g. {EXAMPLE_SUBJECT}")
    return OwnSubject(text=text, key=key, voices=voices)


def music_controls() -> None:
    """The sidebar's music: length in bars, form, creativity, random seed, tempo, key, and
    whether the seed is played and the score engraved."""
    sidebar = st.sidebar
    sidebar.header("Music")
    sidebar.slider("Length (bars)", min_value=MIN_BARS, max_value=MAX_BARS, value=DEFAULT_BARS, step=1,
                   key="bars", help="How many bars of new music to write; the take ends on a bar line.")
    form_controls()
    sidebar.slider("Creativity", min_value=0.1, max_value=2.0, value=SamplingConfig.temperature,
                   step=0.05,
                   key="temperature",
                   help="Sampling temperature: low stays close to what the model knows best, "
                        "high takes more chances.")
    col_seed, col_button = sidebar.columns([3, 2], vertical_alignment="bottom")
    col_seed.number_input("Random seed", min_value=0, max_value=2**31 - 1, step=1, key="seed",
                          help="The same seed and settings give the same piece.")
    col_button.button("New seed", key="new_seed", on_click=new_seed)
    sidebar.slider("Tempo (quarter notes a minute)", min_value=40, max_value=160, value=80,
                   step=4, key="tempo")
    sidebar.radio("Key", list(SNAP_MODES), index=list(SNAP_MODES).index(RenderConfig.snap),
                  format_func=SNAP_MODES.get, key="snap",
                  help="Snap to C major: nudge every note onto the C major scale (as the "
                       "original project did). Transpose to C: move the whole piece to C major "
                       "or A minor. Off: keep what the model wrote.")
    sidebar.toggle("Play the seed first", value=False, key="include_seed")
    sidebar.toggle("Engrave the score", value=True, key="render_score")


def form_controls() -> None:
    """The sidebar's form: whether the seed's subject comes back in the new music (planned
    entries) and whether the take ends like a fugue (a close on the tonic)."""
    sidebar = st.sidebar
    sidebar.toggle("Bring the subject back", value=True, key="form_entries",
                   help="The subject the seed opens with comes back in turn in each voice, "
                        "in the home key and in related keys.")
    sidebar.toggle("End with a close", value=True, key="form_close",
                   help="The last bars end like a fugue: the bass goes from the dominant to the "
                        "tonic under a tonic chord held to the bar line.")


def build_settings() -> ComposeSettings:
    """The widgets' values as a ComposeSettings (raises BachgenError for bad input)."""
    from bachgen.errors import SeedFileError
    from bachgen.pipeline import ComposeSettings, SeedSpec

    state = st.session_state
    source = state["seed_source"]
    if source == "subject":
        seed = SeedSpec(fugue=None, own=own_subject_of(state))
    elif source == "fugue":
        seed = SeedSpec(fugue=state["fugue"], start_bar=int(state["start_bar"]))
    elif source == "random":
        seed = SeedSpec(fugue=None, random_place=True)
    elif source == "file":
        upload = state.get("upload")
        if upload is None:
            raise SeedFileError("No seed file is uploaded yet.",
                                "Choose a MIDI, MusicXML or kern file, or pick another seed.")
        seed = SeedSpec(fugue=None, file_bytes=upload.getvalue(), file_name=upload.name)
    else:
        seed = SeedSpec(fugue=None)
    sampling = dataclasses.replace(SamplingConfig(), bars=int(state["bars"]),
                                   temperature=float(state["temperature"]),
                                   seed=int(state["seed"]))
    render = dataclasses.replace(RenderConfig(), tempo_bpm=float(state["tempo"]),
                                 snap=state["snap"], include_seed=bool(state["include_seed"]),
                                 audio=True, score=bool(state["render_score"]))
    form = FormConfig(entries=bool(state["form_entries"]), close=bool(state["form_close"]),
                      best_of=FUGUE_BEST_OF if source == "subject" else FormConfig.best_of)
    return ComposeSettings(seed=seed, sampling=sampling, render=render, form=form)


def shaped_settings(settings: ComposeSettings, shape: dict[str, Any]) -> ComposeSettings:
    """The page's settings with an earlier take as the seed (its MIDI file, which carries its
    subject and close): all of it to continue (``shape["bars"]`` new bars), or its first
    ``shape["keep_bars"]`` bars kept."""
    from bachgen.errors import SeedFileError
    from bachgen.pipeline import SeedSpec

    take = next((t for t in st.session_state["takes"] if t["number"] == shape["take"]), None)
    if take is None or not take.get("midi"):
        raise SeedFileError(f"Take {shape['take']} is no longer kept in this session.",
                            "Shape one of the takes shown below.")
    seed = SeedSpec(fugue=None, file_bytes=take["midi"], file_name=f"take {shape['take']}.mid",
                    continue_take="bars" in shape, keep_bars=shape.get("keep_bars"))
    sampling = settings.sampling
    if "bars" in shape:
        sampling = dataclasses.replace(sampling, bars=int(shape["bars"]))
    return dataclasses.replace(settings, seed=seed, sampling=sampling)


def ask_to_shape(number: int, how: str) -> None:
    """Button callback: remember which take to shape and how, for this run of the page."""
    state = st.session_state
    if how == "continue":
        state["shape"] = {"take": number, "bars": int(state[f"more_{number}"])}
    else:
        state["shape"] = {"take": number, "keep_bars": int(state[f"keep_{number}"])}


def shape_controls(take: dict[str, Any], where: Any) -> None:
    """Keep a take's first bars and write the rest again, or continue it — each as a new take
    with the sidebar's settings and random seed."""
    number, piece = take["number"], take["piece"]
    bars = piece.bars if piece is not None else 1
    keep, regen, more, cont = where.columns([2, 3, 2, 3], vertical_alignment="bottom")
    keep.number_input("Keep bars", min_value=1, max_value=max(1, bars - 1), value=max(1, bars // 2),
                      key=f"keep_{number}", disabled=bars < 2)
    regen.button("Write the rest again", key=f"regen_{number}", on_click=ask_to_shape,
                 args=(number, "keep"), disabled=bars < 2,
                 help="Keeps the bars chosen, note for note, and writes new music after them.")
    more.number_input("Bars to add", min_value=1, max_value=MAX_BARS, value=8, step=1,
                      key=f"more_{number}")
    cont.button("Continue", key=f"continue_{number}", on_click=ask_to_shape, args=(number, "continue"),
                help="Keeps the whole take and writes more after its end (a take that ended "
                     "with a close has its last bars written anew, so the music goes on).")
