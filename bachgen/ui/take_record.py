"""A take as the page keeps it: one dict per take, with the music, its files, what happened
on the way, its form and the line that names it; and what is made from it later, away from
the page (the piano roll, the WAV download), the end of its score jobs, and its timing log line.

A take's form is kept as plain data: its subject's description (or why it has none), the
entries of the subject found in it (:func:`entry_record`: enough to outline them on a piano
roll drawn again, :func:`take_entries`), and whether it ends with a close.

Plain Python (no page): the page (:mod:`bachgen.ui.takes`) keeps these dicts in its
session and shows them. The logger names are the page's, so the server's log reads as before.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import time
from typing import TYPE_CHECKING, Any

from bachgen import catalog
from bachgen.plan import Section
from bachgen.subject import Entry

if TYPE_CHECKING:
    from bachgen.pipeline import ComposeSettings, Composition

log = logging.getLogger("bachgen.app")
#: One JSON line per take: where its seconds went (read by the load and browser tests).
timing_log = logging.getLogger("bachgen.timings")



def make_take(number: int, settings: ComposeSettings, composition: Composition,
              want_score: bool) -> dict[str, Any]:
    """Take ``number`` as the session keeps it: the music, its files and what happened on
    the way (no audio, score or trace yet: the page adds them as they come)."""
    stats = dict(composition.stats or {})
    return {
        "number": number,
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
        "form": take_form(settings, composition),
    }


def take_form(settings: ComposeSettings, composition: Composition) -> dict[str, Any]:
    """The take's form as plain data: its subject (a description, or ``None`` and why),
    its subject's key, its entries (:func:`entry_record`) and whether it ends with a close
    (``None``: its ending could not be checked)."""
    stats = composition.stats or {}
    subject = composition.subject
    ending = stats.get("ending")
    return {
        "subject": stats.get("subject"),
        "no_subject": None if subject is not None else no_subject_reason(settings),
        "subject_key": subject.key if subject is not None else None,
        "entries": [entry_record(e, subject.key if subject else None, composition.piece.bar_ticks)
                    for e in composition.entries],
        "closes": ending.get("closes") if ending else None,
        "asked": {"entries": settings.form.entries, "close": settings.form.close},
        "sections": [dataclasses.asdict(section) for section in composition.sections],
        "bar_ticks": composition.piece.bar_ticks,
    }


def take_sections(take: dict[str, Any]) -> list[Section]:
    """A whole fugue's plan made again from its record (empty for a take)."""
    return [Section(**record) for record in (take.get("form") or {}).get("sections", [])]


def no_subject_reason(settings: ComposeSettings) -> str:
    """Why a take has no subject to bring back, from where it started."""
    seed = settings.seed
    if seed.shapes_take:
        return "the take it was made from has none"
    if seed.file_bytes is not None:
        return "the file does not open with one voice alone"
    if not seed.fugue and not seed.random_place:
        return "it starts from silence"
    return "its seed has no line alone to take one from"


def entry_record(entry: Entry, subject_key: str | None, bar_ticks: int) -> dict[str, Any]:
    """An entry as the take keeps it: what the summary lists (bar, voice, key) and what a
    piano roll drawn again needs to outline it (onsets, pitches, level, voice)."""
    return {**entry.to_dict(subject_key, bar_ticks), "onsets": list(entry.onsets),
            "voice_index": entry.voice}


def take_entries(take: dict[str, Any]) -> list[Entry]:
    """The take's entries made again from its record (:func:`entry_record`)."""
    return [Entry(int(r["start"]), int(r["level"]), tuple(int(p) for p in r["pitches"]),
                  tuple(int(t) for t in r["onsets"]), int(r.get("voice_index", 0)), str(r["voice"]))
            for r in (take.get("form") or {}).get("entries", [])]


def describe(settings: ComposeSettings, stats: dict[str, Any]) -> str:
    """One line naming the take: length, where it started, creativity and seed."""
    seed = settings.seed
    if seed.own is not None:
        start = f"on {stats.get('seed_source') or 'your subject'}, {seed.own.voices} voices"
    elif seed.shapes_take:
        start = f"— {stats.get('seed_source', seed.file_name)} —"
    elif seed.file_bytes is not None:
        start = f"from {seed.file_name or 'your file'}"
    elif seed.random_place:
        source = str(stats.get("seed_source", ""))
        fugue_id = source.split(" ")[0]
        place = catalog.FUGUE_TITLES.get(fugue_id)
        start = f"from a random place ({place.split(',')[0]})" if place else "from a random place"
    elif seed.fugue:
        fugue = catalog.fugue(seed.fugue)
        start = f"from Book {'I' * fugue.book} Fugue {fugue.number}, bar {seed.start_bar}"
    else:
        start = "from silence"
    s = settings.sampling
    length = f"{s.bars} bars" if s.bars is not None else f"{s.events} events"
    return f"{length} {start}, creativity {s.temperature:g}, seed {s.seed}"


def draw_pianoroll(take: dict[str, Any]) -> bytes:
    """The take's piano roll (PNG), drawn after its audio; empty, with a notice, if it fails."""
    from bachgen.render import pianoroll

    started = time.perf_counter()
    piece = take["piece"]
    sections = take_sections(take)
    try:
        png = pianoroll.pianoroll_png(piece, take.get("seed_end_tick"), float(take["tempo"]),
                                      title=piece.name, entries=take_entries(take),
                                      subject_key=(take.get("form") or {}).get("subject_key"),
                                      sections=sections, axis="bars" if sections else "seconds")
    except Exception as exc:  # noqa: BLE001 (keep the take; say what happened)
        log.exception("drawing the piano roll failed")
        take["notices"].append(f"No piano roll ({type(exc).__name__}: {exc}).")
        return b""
    take["timings"]["pianoroll"] = time.perf_counter() - started
    return png


def take_wav(take: dict[str, Any], engine: Any) -> bytes:
    """The take as a 44.1 kHz WAV file, rendered when its download is asked for (called by
    the download button on a server thread, so it uses no page element)."""
    synth = engine.synthesizers.get(take["soundfont"]) if engine is not None else None
    if synth is None:
        notice = engine.synthesizers.notice if engine is not None else None
        raise RuntimeError(notice or "Audio is not available.")
    return synth.wav_bytes(take["piece"], float(take["tempo"]))


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
