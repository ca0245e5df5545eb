"""A session's takes: composing one with the page's settings (audio first, with a progress
bar), engraving its score afterwards in the shared engraver, and showing every take kept —
the newest with its statistics, the earlier ones in expanders — with its player,
downloads, shaping buttons, piano roll (its entries of the subject outlined), form and score.

Takes are dicts (:func:`bachgen.ui.take_record.make_take`) kept in ``st.session_state["takes"]``.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from concurrent.futures import BrokenExecutor
from typing import TYPE_CHECKING, Any

import streamlit as st

from bachgen.config import RenderConfig
from bachgen.errors import BachgenError
from bachgen.render.score_pages import score_pages
from bachgen.ui.take_record import (
    cancel_engraving,
    draw_pianoroll,
    log_timings,
    make_take,
    take_entries,
    take_wav,
)
from bachgen.ui.controls import build_settings, shape_controls, shaped_settings
from bachgen.ui.form_panel import form_panel
from bachgen.ui.listen import browser_plays, opening_player, play_in_player
from bachgen.ui.quality_panel import stats_panel
from bachgen.ui.resources import audio_first, engraver, player_audio

if TYPE_CHECKING:
    from bachgen.pipeline import ComposeSettings, Composition

log = logging.getLogger("bachgen.app")

#: How many takes a session keeps (oldest dropped first).
MAX_TAKES = 10
#: Longest wait for a take's score (MusicXML, then SVG), in seconds.
ENGRAVE_TIMEOUT_S = 180
#: How many of the newest takes keep their audio (a minute of the player's FLAC is about 1.5 MB).
KEEP_AUDIO = 3

STAGES = {
    "seed": "Reading the seed",
    "sample": "Composing",
    "midi": "Writing the MIDI file",
    "audio": "Playing it on the piano",
    "pianoroll": "Drawing the piano roll",
    "score": "Engraving the score",
    "done": "Done",
}


# --------------------------------------------------------------------------- generating


def generate(engine: Any, run_started: float, shape: dict[str, Any] | None = None,
             player_slot: Any = None) -> dict[str, Any] | None:
    """Compose one take with the page's settings and keep it in the session.

    The player's audio is made here, right after the music; the score is engraved
    afterwards (:func:`engrave`), once the audio is on the page: it takes several
    seconds, the music itself about one. ``run_started`` (epoch seconds) is when this
    run of the page began, for the take's timing record. ``shape`` (from the buttons
    beside a take, :func:`~bachgen.ui.controls.shape_controls`) continues an earlier take
    or writes it again after its first bars, as a new take. With ``player_slot`` (and the
    browser playing), the take's opening is played there while the rest is drawn
    (:func:`~bachgen.ui.listen.opening_player`).
    """
    trace = {"run_started_at": run_started, "generate_started_at": time.time()}
    started = time.perf_counter()
    try:
        settings = build_settings()
        if shape is not None:
            settings = shaped_settings(settings, shape)
    except BachgenError as exc:
        st.error(str(exc))
        return None
    want_score = settings.render.score
    settings = dataclasses.replace(settings, render=dataclasses.replace(
        settings.render, score=False, audio=False, pianoroll=False))  # the page makes these after
    ticket, made, server_audio = audio_first().hold(), None, not browser_plays()
    early = None
    if player_slot is not None and not server_audio:
        early = opening_player(player_slot, st.session_state["take_counter"] + 1,
                               settings.render.tempo_bpm, trace)
    try:
        made = compose_with_progress(settings, engine, server_audio, early)
    finally:
        if made is None:
            audio_first().release(ticket)
    if made is None:
        return None
    elapsed = time.perf_counter() - started
    st.caption(f"Composed in {elapsed:.1f} s")
    composition, (sound, mime, notice, audio_timings) = made
    trace["composed_at"] = time.time()
    take = new_take(settings, composition, want_score)
    audio_ok = sound is not None if server_audio else can_render_wav(engine, settings)
    take.update(audio=sound, audio_mime=mime, audio_ok=audio_ok, trace=trace, ticket=ticket)
    take["notices"] += [notice] if notice else []
    take["timings"].update(audio_timings, click_to_music=elapsed)
    state = st.session_state
    cancel_engraving(state["takes"])
    takes = (state["takes"] + [take])[-MAX_TAKES:]
    for old in takes[:-KEEP_AUDIO]:  # bound the memory a session holds
        old["audio"] = None
    state["takes"] = takes
    state["playing"] = state["autoplay_take"] = take["number"]  # the player plays it at once
    return take


def can_render_wav(engine: Any, settings: ComposeSettings) -> bool:
    """Whether the server can render the take's WAV download (it has a synthesizer)."""
    return engine.synthesizers.get(settings.render.soundfont) is not None


def compose_with_progress(settings: ComposeSettings, engine: Any, server_audio: bool = True,
                          early: Any = None) -> tuple[Any, tuple] | None:
    """The composition and, with ``server_audio``, the server's audio for the page's player
    (see :func:`~bachgen.ui.resources.player_audio`; without it the browser plays the MIDI
    file), with a progress bar (gone when done); ``None`` after showing the error when it
    could not be composed. ``early``: :func:`bachgen.pipeline.compose`'s, for the opening.

    A progress bar rather than a spinner: each waiting page's spinner costs its browser a
    tenth of a CPU core, and eight pages waiting together share two cores with the server."""
    from bachgen.pipeline import compose

    bar = st.progress(0.0, text="Composing…")
    shown = {"stage": "", "fraction": -1.0}

    def progress(stage: str, fraction: float) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0) * 0.85  # the audio comes after
        if stage == "done" or (stage == shown["stage"] and fraction - shown["fraction"] < 0.2):
            return  # fewer, larger steps: each update is a message to the browser
        shown.update(stage=stage, fraction=fraction)
        bar.progress(fraction, text=STAGES.get(stage, stage.capitalize()))

    try:
        composition = compose(settings, engine, progress=progress, early=early)
        if not server_audio:
            return composition, (None, "", None, {})
        progress("audio", 1.0)
        return composition, player_audio(composition.piece, settings.render, engine)
    except BachgenError as exc:
        st.error(str(exc))
    except Exception as exc:  # a bug: keep the session alive, log the details for us
        log.exception("compose failed")
        st.error(f"Something went wrong while composing ({type(exc).__name__}: {exc}). "
                 "Try other settings; if it keeps happening, please report it.")
    finally:
        bar.empty()
    return None


def new_take(settings: ComposeSettings, composition: Composition,
             want_score: bool) -> dict[str, Any]:
    """A take as the session keeps it, numbered after the session's takes so far."""
    state = st.session_state
    state["take_counter"] += 1
    return make_take(state["take_counter"], settings, composition, want_score)


# --------------------------------------------------------------------------- engraving


def engrave(take: dict[str, Any], where: Any) -> None:
    """Engrave the take's score (MusicXML, then SVG) in the score worker, showing the wait.

    The wait is a loop of small page updates, so pressing a button meanwhile interrupts
    it at once; the job keeps running in the worker and the next run picks it up again.
    """
    from bachgen.render import entry_labels, score

    piece, tempo = take["piece"], float(take["tempo"])
    labels = entry_labels(take_entries(take), (take.get("form") or {}).get("subject_key"))
    box, shown = where.empty(), -1
    try:
        pool = engraver()
        job = take.get("score_job")
        if job is None:
            job = {"xml": pool.submit(score.musicxml_bytes, piece, tempo, labels), "svg": None,
                   "started": time.perf_counter()}
            take["score_job"] = job
        while True:
            waited = time.perf_counter() - job["started"]
            if job["svg"] is None and job["xml"].done():
                job["svg"] = pool.submit(score.score_svg, piece, tempo,
                                         musicxml=job["xml"].result())
            if job["svg"] is not None and job["svg"].done():
                take["musicxml"], take["svg"] = job["xml"].result(), job["svg"].result()
                take["timings"]["engrave"] = waited
                take["trace"]["score_shown_at"] = time.time()
                log_timings("score", take)
                break
            if waited > ENGRAVE_TIMEOUT_S:
                take["notices"].append("The score took too long to engrave; MIDI and audio "
                                       "are ready.")
                break
            if int(waited) != shown:  # a message to the browser once a second, not more
                shown = int(waited)
                box.caption(f":material/hourglass_top: Engraving the score… {shown} s")
            time.sleep(0.3)
    except BachgenError as exc:
        take["notices"].append(f"No engraved score: {exc}")
    except BrokenExecutor:
        engraver.clear()  # the worker died: a new one starts next time
        take["notices"].append("The score engraver stopped; press Engrave the score to retry.")
    except Exception as exc:  # noqa: BLE001 (keep the take; say what happened)
        log.exception("engraving failed")
        take["notices"].append(f"No engraved score ({type(exc).__name__}: {exc}).")
    take["score_job"] = None
    take["score_tried"] = True
    box.empty()


def replay(take: dict[str, Any], engine: Any) -> None:
    """Render the audio of an older take again (older takes do not keep theirs)."""
    render = RenderConfig(tempo_bpm=float(take["tempo"]), soundfont=take["soundfont"])
    sound, mime, notice, _ = player_audio(take["piece"], render, engine)
    if sound is None:
        st.warning(notice or "Audio is not available.")
        return
    take["audio"], take["audio_mime"] = sound, mime
    takes = st.session_state["takes"]
    for other in takes[:-KEEP_AUDIO]:  # still no more than KEEP_AUDIO + 1 in memory
        if other is not take:
            other["audio"] = None


# --------------------------------------------------------------------------- showing


def downloads(take: dict[str, Any], where: Any, engine: Any) -> None:
    """MIDI, WAV (rendered only when clicked) and, once engraved, MusicXML."""
    number = take["number"]
    name = f"bachgen-take{number}"
    cols = where.columns(3)
    cols[0].download_button("MIDI", take["midi"], file_name=f"{name}.mid", mime="audio/midi",
                            on_click="ignore", key=f"dl_midi_{number}",
                            icon=":material/download:")
    if take["audio_ok"]:
        cols[1].download_button("WAV", functools.partial(take_wav, take, engine),
                                file_name=f"{name}.wav", mime="audio/wav", on_click="ignore",
                                key=f"dl_wav_{number}", icon=":material/download:")
    if take["musicxml"]:
        cols[2].download_button("MusicXML", take["musicxml"], file_name=f"{name}.musicxml",
                                mime="application/vnd.recordare.musicxml+xml",
                                on_click="ignore", key=f"dl_xml_{number}",
                                icon=":material/download:")


def show_score(svg: str, where: Any) -> None:
    """The score's pages, one under the other, in a scrolling box."""
    box = where.container(height=620, border=True)
    for page in score_pages(svg):
        box.image(page, width="stretch")


def show_audio(take: dict[str, Any], where: Any, latest: bool, engine: Any) -> None:
    """The take's server-rendered player (when the browser does not play the takes itself;
    then a take not in the player gets a button to play it there); an older take without
    its audio gets a button to make it again."""
    if browser_plays():
        if st.session_state.get("playing") != take["number"]:
            where.button("Play in the player", key=f"play_{take['number']}",
                         on_click=play_in_player, args=(take["number"],),
                         icon=":material/play_arrow:",
                         help="Shows this take in the player above, with its piano roll.")
        return
    if take["audio"]:
        where.audio(take["audio"], format=take["audio_mime"])
        take["trace"].setdefault("audio_sent_at", time.time())
    elif take["piece"] is not None and take["audio_ok"]:
        if where.button("Play it again", key=f"replay_{take['number']}",
                        help="Older takes do not keep their audio; it is made again."):
            replay(take, engine)
            if take["audio"]:
                where.audio(take["audio"], format=take["audio_mime"])


def show_take(take: dict[str, Any], where: Any, latest: bool, engine: Any) -> Any:
    """One take on the page; returns the placeholder where its score goes. A take just made
    shows its audio, downloads and buttons first (cheap, and no stale button of the take
    before stays in their place); the piano roll and the statistics wait for other
    listeners' audio (:func:`~bachgen.ui.resources.audio_first`)."""
    number = take["number"]
    for notice in take["notices"]:
        where.info(notice)
    show_audio(take, where, latest, engine)
    downloads(take, where, engine)  # before any wait: the buttons in view are this take's
    shape_controls(take, where)
    if take.get("ticket") is not None:
        audio_first().release(take.pop("ticket"))
        take["timings"]["after_audio_wait"] = audio_first().wait()
    # The browser's player draws its own roll (a whole fugue's plan above it); the still one is
    # for a browser that cannot play.
    if take["png"] is None and take["piece"] is not None and not browser_plays():
        take["png"] = draw_pianoroll(take)
    if take["png"]:
        where.image(take["png"], caption="Piano roll (the entries of the subject outlined)"
                    if take_entries(take) else "Piano roll", width="stretch")
    form_panel(take, where)
    if latest:
        stats_panel(take, where)
    slot = where.empty()
    if take["svg"]:
        with slot.container():
            if latest:
                st.subheader("Score")
            show_score(take["svg"], st)
    elif take["score_tried"] or not take["score_wanted"]:
        if slot.button("Engrave the score", key=f"engrave_{number}",
                       help="Writes the MusicXML file and draws the score (a few seconds)."):
            take["score_wanted"] = True
            take["score_tried"] = False
    return slot


def results(engine: Any) -> tuple[dict[str, Any] | None, Any]:
    """Every take of the session, newest first; the newest and its score placeholder."""
    takes = st.session_state["takes"]
    if not takes:
        st.caption("Choose a seed and press **Generate**. Each take of this session is kept below.")
        return None, None
    latest = takes[-1]
    st.subheader(f"Take {latest['number']}")
    st.caption(latest["label"])
    slot = show_take(latest, st.container(), latest=True, engine=engine)
    if len(takes) > 1:
        st.subheader("Earlier takes")
        for take in reversed(takes[:-1]):
            with st.expander(f"Take {take['number']} — {take['label']}"):
                old_slot = show_take(take, st.container(), latest=False, engine=engine)
            if take["score_wanted"] and not take["score_tried"]:
                engrave(take, old_slot)
                st.rerun()
    return latest, slot
