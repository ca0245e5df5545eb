"""bachgen — the Streamlit page.

A thin layer over the package: widgets become a :class:`~bachgen.pipeline.ComposeSettings`,
:func:`~bachgen.pipeline.compose` writes the music, and the page shows what came back.
The model, the player's audio workers and the score's engraver are started once per server
(``st.cache_resource``) and shared by every session; takes asking at once are drawn together
(:class:`bachgen.batching.DrawQueue`). A take's audio comes first: the player gets compressed
audio (FLAC at 22.05 kHz, made in worker processes, see
:class:`bachgen.audio.SynthesizerProcesses`), and what the page draws after it waits while
other sessions' takes still wait for theirs (:class:`bachgen.batching.AudioFirst`). The WAV
download is rendered only when it is asked for. Every take of a session is kept
(bytes in ``st.session_state``) so earlier ones stay playable and downloadable. Errors are
shown as messages on the page, never as tracebacks. Each take's seconds per stage are
logged as one ``bachgen take {...}`` line (JSON) on the server's standard error.

Run with ``make run`` (or ``streamlit run app.py``).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import multiprocessing
import os
import random
import re
import sys
import time
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from typing import Any

import streamlit as st

from bachgen import catalog
from bachgen.config import CorpusConfig, RenderConfig, SamplingConfig
from bachgen.errors import BachgenError, OfflineError

log = logging.getLogger("bachgen.app")
#: One JSON line per take: where its seconds went (read by the load and browser tests).
timing_log = logging.getLogger("bachgen.timings")

#: How long a thread of the server may hold Python's interpreter lock before another gets it
#: (Python's default is 5 ms). The model's steps, FluidSynth and the encoder let go of the
#: lock thousands of times a take and must wait for it again each time; behind a session
#: drawing its page, every wait lasted the whole 5 ms (a take's audio took 15 s instead of
#: 0.34 s beside one busy thread; 0.8 s at 1 ms).
sys.setswitchinterval(0.001)

#: How many takes a session keeps (oldest dropped first).
MAX_TAKES = 10
#: Longest wait for a take's score (MusicXML, then SVG), in seconds.
ENGRAVE_TIMEOUT_S = 180
#: How many of the newest takes keep their audio (a minute of the player's FLAC is about 1.5 MB).
KEEP_AUDIO = 3
#: The player's audio: "flac" (the default), "ogg" (Ogg Vorbis: four times smaller, eight
#: times slower to make) or "wav" (see bachgen.audio.PLAYER_FORMATS); the WAV download is
#: the same whichever is chosen.
PLAYER_AUDIO = os.environ.get("BACHGEN_PLAYER_AUDIO", "flac")
#: Takes rendered for the player side by side (one per CPU core, at most 2: more only share them).
PLAYER_SYNTHS = max(1, min(2, os.cpu_count() or 1))
#: Longest wait of a page's after-audio work for other listeners' audio (see bachgen.batching.AudioFirst).
AFTER_AUDIO_WAIT_S = 20.0
#: A take that has not got its audio after this long no longer holds the others back.
HOLD_EXPIRES_S = 60.0

SEED_SOURCES = {
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
STAGES = {
    "seed": "Reading the seed",
    "sample": "Composing",
    "midi": "Writing the MIDI file",
    "audio": "Playing it on the piano",
    "pianoroll": "Drawing the piano roll",
    "score": "Engraving the score",
    "done": "Done",
}
UPLOAD_TYPES = ["mid", "midi", "xml", "musicxml", "mxl", "krn"]
FUGUE_IDS = [f.id for f in catalog.FUGUES]
TITLES = {f.id: f.title for f in catalog.FUGUES}


# --------------------------------------------------------------------------- resources


@st.cache_resource(show_spinner="Loading the model…")
def load_engine(model_dir: str, corpus_dir: str):
    """The shared engine (model, codec, synthesizer, lock) for one model folder, of whichever
    kind the folder holds (the shipped spelled model, or a word bundle).

    The arguments are the environment's choices, so a different folder loads anew.
    A failure is not cached: the next run tries again.
    """
    from bachgen.pipeline import TimedLock
    from bachgen.pipeline import load_engine as load

    engine = load(bundle_dir=model_dir or None, corpus=CorpusConfig.from_env())
    engine.lock = TimedLock()  # shared by the sessions: each take notes its wait for the model
    warm_up(engine)
    return engine


@st.cache_resource(show_spinner=False)
def player_synth(soundfont: str) -> tuple[Any, str | None]:
    """The synthesizers of the page's player (22.05 kHz, :data:`PLAYER_SYNTHS` worker
    processes side by side, see :class:`bachgen.audio.SynthesizerProcesses`), shared by all
    sessions, or ``None`` and the notice saying why there is no audio."""
    from bachgen import audio

    try:
        return audio.SynthesizerProcesses(soundfont or None, size=PLAYER_SYNTHS), None
    except BachgenError as exc:
        return None, f"Audio is off: {exc}"


@st.cache_resource(show_spinner=False)
def audio_first():
    """The server's :class:`~bachgen.batching.AudioFirst`, shared by all sessions."""
    from bachgen.batching import AudioFirst

    return AudioFirst(AFTER_AUDIO_WAIT_S, HOLD_EXPIRES_S)


def player_audio(piece, render: RenderConfig, engine) -> tuple[bytes | None, str, str | None, dict]:
    """The take's audio for the player: bytes, their MIME type, a notice when there are none,
    and the seconds spent (waiting for the synthesizer, rendering, encoding). There is audio
    when the engine has a synthesizer (the WAV download uses that one)."""
    if engine.synthesizer(render.soundfont) is None:
        return None, "", engine.audio_notice or "Audio is off: FluidSynth is not installed.", {}
    synth, notice = player_synth(render.soundfont or "")
    if synth is None:
        return None, "", notice, {}
    try:
        made = synth.player_audio(piece, render.tempo_bpm, kind=PLAYER_AUDIO)
    except BachgenError as exc:
        return None, "", f"No audio: {exc}", {}
    return made.data, made.mime, None, made.timings()


def log_timings(kind: str, take: dict[str, Any]) -> None:
    """One line on the server's standard error: the take's seconds per stage, as JSON."""
    if not timing_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        timing_log.addHandler(handler)
        timing_log.setLevel(logging.INFO)
        timing_log.propagate = False
    record = {"seed": take["seed"], "events": take["stats"].get("events"),
              "take": take["number"], "audio_bytes": len(take["audio"] or b""),
              "timings": {k: round(v, 4) for k, v in take["timings"].items()},
              "trace": take["trace"]}
    timing_log.info("bachgen %s %s", kind, json.dumps(record, sort_keys=True))


def warm_up(engine) -> None:
    """Compose a few events once, so the first press of Generate is as quick as the rest:
    it reads the corpus, builds the copy index, loads the soundfont and imports the
    renderers (for either kind of engine). A failure here is left for the real take to report."""
    from bachgen.pipeline import ComposeSettings, SeedSpec, compose

    fugue = "wtc1f02" if engine.corpus_available else None
    settings = ComposeSettings(seed=SeedSpec(fugue=fugue),
                               sampling=SamplingConfig(events=16, seed=0),
                               render=RenderConfig(score=False))
    try:
        compose(settings, engine)
    except Exception:  # noqa: BLE001 (only a warm-up)
        log.warning("warm-up composition failed", exc_info=True)


#: Run first in the score worker: music first (lower priority), and end with the server.
#: (A pool worker holds both ends of its own job queue, so it would wait for work for
#: ever once the server is gone; the watcher thread ends it instead.) Passed as source
#: text because functions of this page cannot be sent to another process reliably:
#: every session's run of the page is a module of its own.
_ENGRAVER_INIT = """
import os, threading, time
os.nice(10)
def watch(server_pid={server_pid}):
    while os.getppid() == server_pid:
        time.sleep(1.0)
    os._exit(0)
threading.Thread(target=watch, name="bachgen-engraver-watch", daemon=True).start()
"""


@st.cache_resource(show_spinner=False)
def engraver() -> ProcessPoolExecutor:
    """One worker process, shared by all sessions, that engraves scores.

    Engraving (music21, then verovio) takes seconds of pure CPU and holds Python's
    global lock for long stretches; in its own process it cannot stall the other
    sessions' music or the server. One worker: scores are made one after another.
    The worker is started at once and warmed up with a tiny score.
    """
    from bachgen import score
    from bachgen.events import Note, Piece

    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=exec,
                               initargs=(_ENGRAVER_INIT.format(server_pid=os.getpid()), {}))
    tiny = Piece(tuple(Note(i * 48, 48, 60 + 2 * i) for i in range(4)))
    pool.submit(score.score_svg, tiny, 80.0)  # imports music21 and verovio in the worker
    return pool


def corpus_config() -> CorpusConfig:
    return CorpusConfig.from_env()


@st.cache_resource(show_spinner="Measuring the real fugues…", max_entries=32)
def real_bands(corpus_dir: str, cache_dir: str, events: int) -> dict[str, tuple[float, float]]:
    """The band of every statistic over the real fugues' stretches of ``events`` events,
    measured once per server for each corpus folder and length. A failure is not cached."""
    from bachgen import quality

    config = CorpusConfig(corpus_dir=corpus_dir or None, cache_dir=cache_dir or None)
    return quality.real_bands_for(config, events)


def corpus_ready() -> bool:
    """Whether kern files are here and verified — all 48, or all but damaged or missing
    ones, which :func:`usable_fugues` leaves out (remembered once true)."""
    if st.session_state.get("corpus_ready"):
        return True
    from bachgen import corpus

    usable, broken = corpus.usable(corpus_config())
    st.session_state["usable_fugues"] = usable
    st.session_state["broken_notice"] = corpus.broken_notice(broken, len(usable)) if broken else None
    st.session_state["corpus_ready"] = bool(usable)
    return bool(usable)


def usable_fugues() -> list[str]:
    """The fugues the dropdown offers: those whose files are verified."""
    return st.session_state.get("usable_fugues") or FUGUE_IDS


# --------------------------------------------------------------------------- state


def init_state() -> None:
    state = st.session_state
    state.setdefault("takes", [])
    state.setdefault("take_counter", 0)
    state.setdefault("offline", False)
    if "seed" not in state:
        state["seed"] = random.randint(0, 99_999)


def new_seed() -> None:
    st.session_state["seed"] = random.randint(0, 99_999)


# --------------------------------------------------------------------------- corpus


def corpus_panel() -> bool:
    """Fetch the corpus on a session's first visit when it is missing (with a progress bar;
    offline, say so once and offer the rest of the page); True when the fugues are usable."""
    try:
        if corpus_ready():
            if st.session_state.get("broken_notice"):
                st.warning(st.session_state["broken_notice"])
            return True
    except BachgenError as exc:
        st.error(str(exc))
        return False
    if st.session_state["offline"]:
        st.warning(
            "The 48 fugues are not on this machine and their source cannot be reached. "
            "You can still compose from your own file or from no seed."
        )
        if st.button("Try the download again", key="corpus_retry"):
            st.session_state["offline"] = False
            st.rerun()
        return False
    st.info(
        "The 48 fugues (half a megabyte of kern files) are not on this machine yet. "
        "They are fetched now, once, to seed new pieces from Bach's own music — or compose "
        "from your own file or from no seed."
    )
    first_visit = not st.session_state.get("corpus_tried")  # fetch once without being asked
    if st.button("Download the corpus", key="corpus_download", type="primary") or first_visit:
        from bachgen import corpus

        st.session_state["corpus_tried"] = True

        bar = st.progress(0.0, text="Connecting…")

        def progress(done: int, total: int, name: str) -> None:
            bar.progress(done / max(total, 1), text=f"{done} of {total}: {TITLES.get(name, name)}")

        try:
            corpus.download(corpus_config(), progress=progress)
        except OfflineError as exc:
            st.session_state["offline"] = True
            bar.empty()
            st.warning(str(exc))
            return False
        except BachgenError as exc:
            bar.empty()
            st.error(str(exc))
            return False
        st.session_state["corpus_ready"] = None  # check again
        st.session_state["seed_source"] = "fugue"
        load_engine.clear()  # the engine looks for the fugues once; let it look again
        st.rerun()
    return False


# --------------------------------------------------------------------------- controls


def controls(have_corpus: bool) -> None:
    """The sidebar: where the music starts and how it is written."""
    sidebar = st.sidebar
    sidebar.header("Seed")
    sources = list(SEED_SOURCES) if have_corpus else ["file", "none"]
    if st.session_state.get("seed_source") not in sources:
        st.session_state["seed_source"] = "fugue" if have_corpus else "none"
    source = sidebar.radio("Start from", sources, format_func=SEED_SOURCES.get,
                           key="seed_source",
                           help="The model continues the music it is given.")
    if source == "fugue":
        offered = usable_fugues()
        sidebar.selectbox("Fugue", offered, index=offered.index("wtc1f02") if "wtc1f02" in offered else 0,
                          format_func=TITLES.get, key="fugue")
        sidebar.number_input("Start bar", min_value=1, max_value=500, value=1, step=1,
                             key="start_bar",
                             help="The seed is taken from the fugue starting at this bar.")
    elif source == "file":
        sidebar.file_uploader("Seed file (MIDI, MusicXML or kern)", type=UPLOAD_TYPES,
                              key="upload")
    if have_corpus is False and source != "file":
        sidebar.caption("With the corpus downloaded you can also start from Bach's fugues.")

    sidebar.header("Music")
    sidebar.slider("Length (events)", min_value=50, max_value=1000, value=400, step=50,
                   key="events", help="How many new chords and notes to write.")
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


def build_settings():
    """The widgets' values as a ComposeSettings (raises BachgenError for bad input)."""
    from bachgen.errors import SeedFileError
    from bachgen.pipeline import ComposeSettings, SeedSpec

    state = st.session_state
    source = state["seed_source"]
    if source == "fugue":
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
    sampling = dataclasses.replace(SamplingConfig(), events=int(state["events"]),
                                   temperature=float(state["temperature"]),
                                   seed=int(state["seed"]))
    render = dataclasses.replace(RenderConfig(), tempo_bpm=float(state["tempo"]),
                                 snap=state["snap"], include_seed=bool(state["include_seed"]),
                                 audio=True, score=bool(state["render_score"]))
    return ComposeSettings(seed=seed, sampling=sampling, render=render)


def describe(settings, stats: dict[str, Any]) -> str:
    """One line naming the take: length, where it started, creativity and seed."""
    seed = settings.seed
    if seed.shapes_take:
        start = f"— {stats.get('seed_source', seed.file_name)} —"
    elif seed.file_bytes is not None:
        start = f"from {seed.file_name or 'your file'}"
    elif seed.random_place:
        source = str(stats.get("seed_source", ""))
        fugue_id = source.split(" ")[0]
        place = TITLES.get(fugue_id)
        start = f"from a random place ({place.split(',')[0]})" if place else "from a random place"
    elif seed.fugue:
        fugue = catalog.fugue(seed.fugue)
        start = f"from Book {'I' * fugue.book} Fugue {fugue.number}, bar {seed.start_bar}"
    else:
        start = "from silence"
    s = settings.sampling
    return f"{s.events} events {start}, creativity {s.temperature:g}, seed {s.seed}"


# --------------------------------------------------------------------------- generating


def generate(engine, run_started: float, shape: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Compose one take with the page's settings and keep it in the session.

    The player's audio is made here, right after the music; the score is engraved
    afterwards (:func:`engrave`), once the audio is on the page: it takes several
    seconds, the music itself about one. ``run_started`` (epoch seconds) is when this
    run of the page began, for the take's timing record. ``shape`` (from the buttons
    beside a take, :func:`shape_controls`) continues an earlier take or writes it again
    after its first bars, as a new take.
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
    ticket, made = audio_first().hold(), None
    try:
        made = compose_with_progress(settings, engine)
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
    take.update(audio=sound, audio_mime=mime, audio_ok=sound is not None, trace=trace, ticket=ticket)
    take["notices"] += [notice] if notice else []
    take["timings"].update(audio_timings, click_to_music=elapsed)
    state = st.session_state
    cancel_engraving(state["takes"])
    takes = (state["takes"] + [take])[-MAX_TAKES:]
    for old in takes[:-KEEP_AUDIO]:  # bound the memory a session holds
        old["audio"] = None
    state["takes"] = takes
    return take


def shaped_settings(settings, shape: dict[str, Any]):
    """The page's settings with an earlier take as the seed: all of it to continue
    (``shape["events"]`` new events), or its first ``shape["keep_bars"]`` bars kept."""
    from bachgen.errors import SeedFileError
    from bachgen.pipeline import SeedSpec

    take = next((t for t in st.session_state["takes"] if t["number"] == shape["take"]), None)
    if take is None or not take.get("midi"):
        raise SeedFileError(f"Take {shape['take']} is no longer kept in this session.",
                            "Shape one of the takes shown below.")
    seed = SeedSpec(fugue=None, file_bytes=take["midi"], file_name=f"take {shape['take']}.mid",
                    continue_take="events" in shape, keep_bars=shape.get("keep_bars"))
    sampling = settings.sampling
    if "events" in shape:
        sampling = dataclasses.replace(sampling, events=int(shape["events"]))
    return dataclasses.replace(settings, seed=seed, sampling=sampling)


def ask_to_shape(number: int, how: str) -> None:
    """Button callback: remember which take to shape and how, for this run of the page."""
    state = st.session_state
    if how == "continue":
        state["shape"] = {"take": number, "events": int(state[f"more_{number}"])}
    else:
        state["shape"] = {"take": number, "keep_bars": int(state[f"keep_{number}"])}


def shape_controls(take: dict[str, Any], where) -> None:
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
    more.number_input("Events to add", min_value=10, max_value=1000, value=200, step=10,
                      key=f"more_{number}")
    cont.button("Continue", key=f"continue_{number}", on_click=ask_to_shape, args=(number, "continue"),
                help="Keeps the whole take and writes more after its end.")


def compose_with_progress(settings, engine) -> tuple[Any, tuple] | None:
    """The composition and the player's audio (see :func:`player_audio`), with a progress
    bar (gone when done); ``None`` after showing the error when it could not be composed.

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
        composition = compose(settings, engine, progress=progress)
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


def new_take(settings, composition, want_score: bool) -> dict[str, Any]:
    """A take as the session keeps it: the music, its files and what happened on the way."""
    state = st.session_state
    state["take_counter"] += 1
    stats = dict(composition.stats or {})
    return {
        "number": state["take_counter"],
        "label": describe(settings, stats),
        "seed": settings.sampling.seed,
        "piece": composition.piece,
        "seed_end_tick": composition.seed_end_tick,
        "snap": settings.render.snap,
        "tempo": settings.render.tempo_bpm,
        "soundfont": settings.render.soundfont,
        "midi": composition.midi,
        "audio": None,
        "audio_mime": "",
        "audio_ok": False,
        "png": composition.png,
        "musicxml": None,
        "svg": None,
        "score_wanted": want_score,
        "score_tried": False,
        "score_job": None,
        "stats": stats,
        "notices": list(composition.notices or []),
        "timings": dict(composition.timings or {}),
        "trace": {},
    }


def engrave(take: dict[str, Any], where) -> None:
    """Engrave the take's score (MusicXML, then SVG) in the score worker, showing the wait.

    The wait is a loop of small page updates, so pressing a button meanwhile interrupts
    it at once; the job keeps running in the worker and the next run picks it up again.
    """
    from bachgen import score

    piece, tempo = take["piece"], float(take["tempo"])
    box, shown = where.empty(), -1
    try:
        pool = engraver()
        job = take.get("score_job")
        if job is None:
            job = {"xml": pool.submit(score.musicxml_bytes, piece, tempo), "svg": None,
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


def cancel_engraving(takes: list[dict[str, Any]]) -> None:
    """Stop waiting for the scores of older takes (a queued job is dropped)."""
    for take in takes:
        job = take.get("score_job")
        if job is not None:
            for future in (job["svg"], job["xml"]):
                if future is not None:
                    future.cancel()
            take["score_job"] = None
        if not take["svg"]:
            take["score_tried"] = True  # it gets an "Engrave the score" button


def replay(take: dict[str, Any], engine) -> None:
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


def take_wav(take: dict[str, Any], engine) -> bytes:
    """The take as a 44.1 kHz WAV file, rendered when its download is asked for (called by
    the download button on a server thread, so it uses no page element)."""
    synth = engine.synthesizer(take["soundfont"]) if engine is not None else None
    if synth is None:
        raise RuntimeError(getattr(engine, "audio_notice", None) or "Audio is not available.")
    return synth.wav_bytes(take["piece"], float(take["tempo"]))


# --------------------------------------------------------------------------- showing


def downloads(take: dict[str, Any], where, engine) -> None:
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


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


STAT_LABELS = {
    "events": "New events",
    "notes": "Notes",
    "seconds": "Length (s)",
    "loop_recoveries": "Loop recoveries",
    "longest_copied_run": "Longest copied run (events)",
}


def take_bands(take: dict[str, Any]) -> tuple[dict[str, tuple[float, float]] | None, int]:
    """The real band for the take's length (stretches of as many events as it wrote) and
    that length; no band without the corpus."""
    from bachgen import quality

    events = int(take["stats"].get("events") or quality.STRETCH_EVENTS)
    if not corpus_ready():
        return None, events
    config = corpus_config()
    try:
        return real_bands(config.corpus_dir or "", str(config.cache_path), events), events
    except BachgenError:
        log.warning("measuring the real fugues failed", exc_info=True)
        return None, events


def take_quality(take: dict[str, Any]) -> dict[str, Any]:
    """The take's statistics beside the real band, measured once and kept in the take
    (``take["quality"]``); measured again when the band was missing and is there now."""
    from bachgen import quality

    kept = take.get("quality")
    if kept is not None and (kept["band_events"] is not None or not corpus_ready()):
        return kept
    bands, events = take_bands(take)
    measured = quality.take_statistics(take["piece"], take.get("seed_end_tick"), bands)
    take["quality"] = {**measured, "band_events": events if bands is not None else None}
    return take["quality"]


def _stat(name: str, value: float | None) -> str:
    """A statistic for the table: shares as percentages, other figures to two decimals
    (whole numbers from 10 up)."""
    from bachgen import quality

    if value is None:
        return "–"
    if name not in quality.SHARES:
        return f"{value:.0f}" if abs(value) >= 10 else f"{value:.2f}"
    percent = value * 100
    exact = percent in (0, 100) or 1 <= percent <= 99
    return f"{percent:.0f} %" if exact else f"{percent:.1f} %"


def _band(name: str, low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "–"
    return f"{_stat(name, low)} – {_stat(name, high)}"


def _label(text: str) -> str:
    return text.replace(">=", "≥").replace("> ", "more than ")


#: The inside column: inside the real band, outside it, not measured.
INSIDE = {True: "✓", False: "✗", None: "–"}
INSIDE_COLOURS = {"✓": "color: #1b7f3b", "✗": "color: #c0392b; font-weight: bold"}


def _styled(table: dict[str, list[str]]) -> Any:
    """The table as a frame, with the inside column in green (inside) and red (outside)."""
    import pandas as pd

    frame = pd.DataFrame(table)
    if "inside" not in frame:
        return frame
    try:
        return frame.style.map(lambda mark: INSIDE_COLOURS.get(mark, ""), subset=["inside"])
    except (ImportError, AttributeError):  # styling needs jinja2 and a recent pandas
        return frame


def quality_panel(take: dict[str, Any], where) -> None:
    """Each statistic of the take's new music beside the real fugues' band (lowest to
    highest), and how many fall inside it. Never stops the page: a failure is a caption."""
    try:
        report = take_quality(take)
    except Exception as exc:  # noqa: BLE001 (the take stays; say what happened)
        log.exception("measuring the take failed")
        where.caption(f"The statistics of this piece could not be measured "
                      f"({type(exc).__name__}: {exc}).")
        return
    rows, events = report["rows"], report["band_events"]
    table = {"statistic": [_label(r["label"]) for r in rows],
             "this piece": [_stat(r["name"], r["value"]) for r in rows]}
    if events is not None:
        table["real fugues"] = [_band(r["name"], r["low"], r["high"]) for r in rows]
        table["inside"] = [INSIDE[r["inside"]] for r in rows]
    where.markdown(f"**{quality_summary(report)}**")
    left, right = where.columns([3, 2])
    left.table(_styled(table), hide_index=True)
    if events is not None:
        right.caption(f"Measured on the new music only (the seed is left out). Real fugues: "
                      f"the lowest and highest value among the 48 fugues of the Well-Tempered "
                      f"Clavier, each over a stretch of {events} events (from its 51st), "
                      f"the length of this take.")
    else:
        right.caption("Measured on the new music only (the seed is left out). The range of the "
                      "real fugues needs the corpus of the 48 fugues: download it above to "
                      "see each statistic beside it.")
    if take.get("snap") == "c-major" and events is not None:
        right.caption("Snapping to C major puts every note on one scale, as the fugues never "
                      "do: it lowers the pitch-class entropy and raises the share in the best "
                      "major scale to 100 %. Set the key to Off to measure the model's own notes.")


def quality_summary(report: dict[str, Any]) -> str:
    """One line: how many statistics are inside the real range (or measured, without it)."""
    total, measured = report["total"], report["measured"]
    missing = f" ({total - measured} could not be measured)" if measured < total else ""
    if report.get("band_events") is None:
        return f"{measured} of {total} statistics measured; the range of the real fugues " \
               f"needs the corpus"
    return f"{report['inside']} of {total} statistics inside the range of the real fugues{missing}"


def stats_panel(take: dict[str, Any], where) -> None:
    stats = take["stats"]
    shown = [(label, stats[key]) for key, label in STAT_LABELS.items() if key in stats]
    if shown:
        cols = where.columns(len(shown))
        for col, (label, value) in zip(cols, shown):
            col.metric(label, _fmt(value))
    quality_panel(take, where)
    rows = {k.replace("_", " "): _fmt(v) for k, v in stats.items() if not isinstance(v, dict)}
    timings = {f"seconds: {k}": f"{v:.2f}" for k, v in take["timings"].items()}
    with where.expander("All statistics of this piece"):
        st.table({"": list(rows) + list(timings),
                  "value": list(rows.values()) + list(timings.values())})


def score_pages(svg: str) -> list[str]:
    """The engraved score split into its pages (top-level ``<svg>`` elements)."""
    pages, depth, start = [], 0, 0
    for match in re.finditer(r"<svg\b[^>]*>|</svg\s*>", svg):
        tag = match.group()
        if tag.startswith("</"):
            depth -= 1
            if depth == 0:
                pages.append(svg[start:match.end()])
        elif tag.endswith("/>"):  # an empty <svg/> opens and closes nothing
            if depth == 0:
                pages.append(tag)
        else:
            if depth == 0:
                start = match.start()
            depth += 1
    return pages or [svg]


def show_score(svg: str, where) -> None:
    """The score's pages, one under the other, in a scrolling box."""
    box = where.container(height=620, border=True)
    for page in score_pages(svg):
        box.image(page, width="stretch")


def show_take(take: dict[str, Any], where, latest: bool, engine) -> Any:
    """One take on the page; returns the placeholder where its score goes. A take just made
    shows its audio, downloads and buttons first (cheap, and no stale button of the take
    before stays in their place); the piano roll and the statistics wait for other
    listeners' audio (:func:`audio_first`)."""
    number = take["number"]
    for notice in take["notices"]:
        where.info(notice)
    if take["audio"]:
        where.audio(take["audio"], format=take["audio_mime"])
        take["trace"].setdefault("audio_sent_at", time.time())
    elif not latest and take["piece"] is not None and take["audio_ok"]:
        if where.button("Play it again", key=f"replay_{number}",
                        help="Older takes do not keep their audio; it is made again."):
            replay(take, engine)
            if take["audio"]:
                where.audio(take["audio"], format=take["audio_mime"])
    downloads(take, where, engine)  # before any wait: the buttons in view are this take's
    if getattr(engine, "kind", "") == "spelled":
        shape_controls(take, where)
    if take.get("ticket") is not None:
        audio_first().release(take.pop("ticket"))
        take["timings"]["after_audio_wait"] = audio_first().wait()
    if take["png"] is None and take["piece"] is not None:
        take["png"] = draw_pianoroll(take)
    if take["png"]:
        where.image(take["png"], caption="Piano roll", width="stretch")
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


def draw_pianoroll(take: dict[str, Any]) -> bytes:
    """The take's piano roll (PNG), drawn after its audio; empty, with a notice, if it fails."""
    from bachgen import pianoroll

    started = time.perf_counter()
    piece = take["piece"]
    try:
        png = pianoroll.pianoroll_png(piece, take.get("seed_end_tick"), float(take["tempo"]),
                                      title=piece.name)
    except Exception as exc:  # noqa: BLE001 (keep the take; say what happened)
        log.exception("drawing the piano roll failed")
        take["notices"].append(f"No piano roll ({type(exc).__name__}: {exc}).")
        return b""
    take["timings"]["pianoroll"] = time.perf_counter() - started
    return png


def results(engine) -> tuple[dict[str, Any] | None, Any]:
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


# --------------------------------------------------------------------------- page


def main() -> None:
    run_started = time.time()
    st.set_page_config(page_title="bachgen — new fugues in the style of Bach", page_icon="🎼",
                       layout="wide")
    init_state()
    st.title("bachgen")
    st.caption("New music in the style of J.S. Bach, written by a network that has read the 48 "
               "fugues of the Well-Tempered Clavier.")

    have_corpus = corpus_panel()
    controls(have_corpus)

    try:
        engine = load_engine(os.environ.get("BACHGEN_MODEL_DIR", ""),
                             os.environ.get("BACHGEN_CORPUS_DIR", ""))
    except BachgenError as exc:
        st.error(str(exc))
        engine = None
    except Exception as exc:  # the model could not be loaded at all
        log.exception("loading the engine failed")
        st.error(f"The model could not be loaded ({type(exc).__name__}: {exc}).")
        engine = None
    if engine is not None:
        engraver()  # start the score worker and the player's synthesizers early
        player_synth("")

    shape = st.session_state.pop("shape", None)
    if st.button("Generate", type="primary", key="generate", disabled=engine is None,
                 icon=":material/music_note:"):
        generate(engine, run_started)
    elif shape is not None and engine is not None:
        generate(engine, run_started, shape)
    latest, slot = results(engine)
    if latest is not None and latest["trace"].get("audio_sent_at") and \
            "page_done_at" not in latest["trace"]:
        latest["trace"]["page_done_at"] = time.time()  # statistics and quality drawn too
        log_timings("take", latest)
    if latest is not None and latest["score_wanted"] and not latest["score_tried"]:
        engrave(latest, slot)  # after the audio is on the page
        st.rerun()


# Streamlit runs this file as ``__main__``; the score worker process imports it under
# another name and must not build the page.
if __name__ == "__main__":
    main()
