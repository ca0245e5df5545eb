"""The user's own seed file: MIDI, MusicXML or kern bytes in, a clean :class:`Piece` out.

This is an input boundary, so it trusts nothing: the real format is told from the
bytes (not the file name), sizes are limited by :class:`SeedLimits`, every library
call is wrapped, and the only exception that leaves :func:`load_seed_file` is
:class:`~bachgen.errors.SeedFileError` with one readable line saying what is wrong
and what to do. Whatever was changed on the way in (drums dropped, times moved to
the grid, notes capped or cut off) is counted in a :class:`SeedReport`.

Cleaning, the same for every format:

* drum notes (MIDI channel 10, unpitched notation) and zero-length notes are dropped;
* pitches outside the piano (21-108) are moved by octaves onto the keyboard;
* each onset and end moves to the nearer of a 32nd-note grid (6 ticks at 48 per
  quarter) or a 16th-triplet grid (8 ticks), ties going to the 32nd grid; a note
  that would vanish keeps one grid step;
* a note longer than ``SeedLimits.max_note_quarters`` is cut to that length;
* of notes struck together on one pitch the longest is kept;
* leading silence is removed in whole bars;
* notes past ``max_minutes`` or beyond ``max_notes`` are cut off (reported).

Velocities and the sustain pedal are ignored: the model knows neither.
"""

from __future__ import annotations

import bisect
import io
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from typing import Any, Iterable

from .config import check
from .corpus import parse_kern
from .errors import BachgenError, SeedFileError
from .formats import MIDI_SUFFIXES, WHAT_TO_DO, detect_format, short
from .events import RESOLUTION, Note, Piece
from .harmony import estimate_key
from .reduction import HIGHEST_PITCH, LOWEST_PITCH
from .subject import FORM_TEXT, Subject

DRUM_CHANNEL = 9  # MIDI channel 10, counted from 0
DEFAULT_TEMPO_BPM = 120.0  # MIDI's tempo when a file sets none
#: Largest uncompressed MusicXML accepted from inside an .mxl archive.


@dataclass(frozen=True)
class SeedLimits:
    """How much of a seed file is accepted.

    ``max_bytes`` bounds the upload, ``max_notes`` and ``max_minutes`` the music kept
    (later notes are cut off and reported), ``max_note_quarters`` the length of one
    note (32 = 8 bars of 4/4), and the file's tempo is clamped to
    ``min_tempo_bpm``-``max_tempo_bpm`` when it is reported and used for ``max_minutes``.
    ``grid`` (ticks at 48 a quarter): onsets and ends move to its multiples instead of the
    32nd and 16th-triplet grids — for a take of our own read back (the codec's grid, on
    which its notes already lie), so that the kept music stays note for note.
    """

    max_bytes: int = 2_000_000
    max_notes: int = 20_000
    max_minutes: float = 20.0
    max_note_quarters: float = 32.0
    min_tempo_bpm: float = 20.0
    max_tempo_bpm: float = 300.0
    grid: int | None = None

    def __post_init__(self) -> None:
        check(self.max_bytes >= 1, "max_bytes must be at least 1.")
        check(self.max_notes >= 1, "max_notes must be at least 1.")
        check(self.max_minutes > 0, "max_minutes must be positive.")
        check(self.max_note_quarters > 0, "max_note_quarters must be positive.")
        check(0 < self.min_tempo_bpm <= self.max_tempo_bpm,
               "the tempo range must be positive and min_tempo_bpm <= max_tempo_bpm.")
        check(self.grid is None or self.grid >= 1, "grid must be at least 1 tick.")


@dataclass
class SeedReport:
    """What reading a seed file found and changed, so nothing happens silently."""

    filename: str = ""
    format: str = ""
    notes_read: int = 0
    notes_kept: int = 0
    dropped: dict[str, int] = field(default_factory=lambda: {
        "drums": 0, "zero_length": 0, "unpitched": 0})
    moved_into_range: int = 0
    quantised_moves: int = 0
    lengthened: int = 0
    capped: int = 0
    merged: int = 0
    truncated: int = 0
    leading_bars_removed: int = 0
    tempo_bpm: float | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "filename": self.filename, "format": self.format, "notes_read": self.notes_read,
            "notes_kept": self.notes_kept, "dropped": dict(self.dropped),
            "moved_into_range": self.moved_into_range, "quantised_moves": self.quantised_moves,
            "lengthened": self.lengthened, "capped": self.capped, "merged": self.merged,
            "truncated": self.truncated, "leading_bars_removed": self.leading_bars_removed,
            "tempo_bpm": self.tempo_bpm, "notes": list(self.notes),
        }

    def summary(self) -> str:
        """One or two readable sentences for the user."""
        parts = [f"Read {self.notes_read} notes from {self.filename or 'the file'} "
                 f"({self.format}); kept {self.notes_kept}."]
        changes = []
        for reason, count in self.dropped.items():
            if count:
                changes.append(f"{count} {reason.replace('_', '-')} dropped")
        for label, count in (("moved onto the piano by octaves", self.moved_into_range),
                             ("moved to the grid", self.quantised_moves),
                             ("lengthened to one grid step", self.lengthened),
                             ("shortened to the longest allowed note", self.capped),
                             ("merged unisons", self.merged),
                             ("cut off at the length limit", self.truncated)):
            if count:
                changes.append(f"{count} {label}")
        if changes:
            parts.append("; ".join(changes).capitalize() + ".")
        parts += self.notes
        return " ".join(parts)


@dataclass(frozen=True)
class RawNote:
    """A note as read, before cleaning: times in quarter notes (any precision)."""

    start: float
    end: float
    pitch: int
    voice: int = 0


# --------------------------------------------------------------------------- grid


def snap_tick(tick: float, resolution: int = RESOLUTION, grid: int | None = None) -> int:
    """``tick`` moved to the nearer of the 32nd grid or the 16th-triplet grid (ties: 32nd);
    with ``grid``, to its nearest multiple of ``grid`` ticks (at 48 a quarter)."""
    if grid is not None:
        step = grid * resolution / RESOLUTION
        return int(round(round(tick / step) * step))
    straight = resolution / 8
    triplet = resolution / 6
    a = round(tick / straight) * straight
    b = round(tick / triplet) * triplet
    return int(round(a if abs(tick - a) <= abs(tick - b) else b))


# --------------------------------------------------------------------------- entry point


def load_seed_file(data: bytes, filename: str, limits: SeedLimits = SeedLimits()
                   ) -> tuple[Piece, SeedReport]:
    """Read a seed file's bytes into a cleaned Piece and a report of what was done.

    The format is detected from the content (:func:`detect_format`). Raises
    :class:`SeedFileError` — and nothing else — when the file cannot be used.
    """
    name = PurePath(str(filename or "")).name or "the file"
    try:
        return _load(data, name, limits)
    except SeedFileError:
        raise
    except BachgenError as exc:  # e.g. a CorpusError from the kern parser
        raise SeedFileError(f"{name} could not be read: {exc.message}", WHAT_TO_DO) from exc
    except RecursionError as exc:
        raise SeedFileError(f"{name} is nested too deeply to read.", WHAT_TO_DO) from exc
    except MemoryError as exc:
        raise SeedFileError(f"{name} is too large to read.", "Use a shorter file.") from exc
    except Exception as exc:  # noqa: BLE001 - a parser bug must not crash the app
        raise SeedFileError(
            f"{name} could not be read ({type(exc).__name__}: {short(exc)}).",
            WHAT_TO_DO,
        ) from exc


def _load(data: bytes, name: str, limits: SeedLimits) -> tuple[Piece, SeedReport]:
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise SeedFileError(f"{name} was not received as file contents.", WHAT_TO_DO)
    if not data.strip():
        raise SeedFileError(f"{name} is empty.", WHAT_TO_DO)
    if len(data) > limits.max_bytes:
        raise SeedFileError(
            f"{name} is {len(data) / 1e6:.1f} MB; the limit is {limits.max_bytes / 1e6:g} MB.",
            "Use a shorter excerpt as the seed (a few bars are enough).",
        )
    fmt, payload = detect_format(data, name)
    report = SeedReport(filename=name, format=fmt)
    suffix = PurePath(name).suffix.lower()
    if suffix in MIDI_SUFFIXES and fmt != "midi":
        report.notes.append(f"The file is named {suffix} but holds {fmt}; it was read as {fmt}.")
    if fmt == "midi":
        raw, meta = read_midi(payload, name, report)
    elif fmt in ("musicxml", "mxl"):
        raw, meta = read_music21(payload, name, "musicxml", report)
    else:
        raw, meta = read_kern(payload, name, report)
    return clean(raw, name, report, limits, **meta), report


# --------------------------------------------------------------------------- format


# --------------------------------------------------------------------------- MIDI


def _midi_file(data: bytes, name: str) -> Any:
    """The parsed MIDI file (mido), or a :class:`SeedFileError` saying it is truncated or damaged."""
    import mido

    try:
        return mido.MidiFile(file=io.BytesIO(data), clip=True)
    except EOFError as exc:
        raise SeedFileError(f"{name} is a truncated MIDI file (it ends too early).",
                            "The file is incomplete; download or export it again.") from exc
    except Exception as exc:  # noqa: BLE001 - mido raises OSError, ValueError, KeyError, ...
        raise SeedFileError(f"{name} is a damaged MIDI file ({short(exc)}).",
                            "Export it again from your music program.") from exc


def _quarters_per_tick(division: int, name: str, report: SeedReport) -> float:
    """Quarter notes per MIDI tick from the header's time division (SMPTE time read at 120
    quarters a minute, said in ``report``)."""
    if division == 0:
        raise SeedFileError(f"{name} has an invalid MIDI header (0 ticks per beat).",
                            "Export it again from your music program.")
    if division > 0:
        return 1.0 / division
    frames = -(division >> 8)  # SMPTE time: -frames per second in the high byte, ticks per frame low
    per_frame = division & 0xFF
    ticks_per_second = frames * per_frame if frames > 0 and per_frame > 0 else 0
    if ticks_per_second <= 0:
        raise SeedFileError(f"{name} has an invalid MIDI time division.",
                            "Export it again from your music program.")
    report.notes.append("The file uses SMPTE time; it was read at 120 quarter notes per minute.")
    return DEFAULT_TEMPO_BPM / 60.0 / ticks_per_second


def read_midi(data: bytes, name: str, report: SeedReport) -> tuple[list[RawNote], dict[str, Any]]:
    """Notes from standard-MIDI-file bytes (via mido), times in quarter notes.

    Formats 0 and 1 are read as one piece; of a format-2 file (independent
    patterns) the first pattern holding notes is used. Drums and zero-length notes
    are dropped and counted; a key struck again before its note-off ends the
    earlier note; notes left open end with their track.
    """
    midi = _midi_file(data, name)
    division = midi.ticks_per_beat
    quarters_per_tick = _quarters_per_tick(division, name, report)
    tracks = list(midi.tracks)
    if midi.type == 2:
        report.notes.append("MIDI format 2: the first pattern with notes was used.")
    elif midi.type not in (0, 1):
        raise SeedFileError(f"{name} has an unknown MIDI format ({midi.type}).",
                            "Export it as a standard MIDI file (format 0 or 1).")

    tempos: list[tuple[int, int]] = []
    time_signature: tuple[int, int] | None = None
    raw: list[RawNote] = []
    voices: dict[tuple[int, int], int] = {}
    for index, track in enumerate(tracks):
        notes, track_tempos, signature = _read_track(track, index, voices, report)
        if midi.type == 2:
            if notes:
                raw, tempos, time_signature = notes, track_tempos, signature
                break
            continue
        raw += notes
        tempos += track_tempos
        time_signature = time_signature or signature

    tempos.sort()
    meta: dict[str, Any] = {"time_signature": time_signature, "form": carried_form(tracks)}
    if division > 0:
        initial = next((t for tick, t in tempos if tick == 0), 500_000)
        meta["tempo_bpm"] = 60_000_000 / initial if initial > 0 else DEFAULT_TEMPO_BPM
        meta["seconds_at"] = _tempo_map(tempos, division)
    else:
        meta["tempo_bpm"] = DEFAULT_TEMPO_BPM
    notes = [RawNote(n.start * quarters_per_tick, n.end * quarters_per_tick, n.pitch, n.voice)
             for n in raw]
    return notes, meta


def carried_form(tracks: Iterable[Any]) -> dict[str, Any] | None:
    """The form a take's MIDI file carries (its subject and close, a text event written by
    :func:`bachgen.render.midi.piece_to_midi_bytes`), or ``None`` — also when it is damaged."""
    for track in tracks:
        for message in track:
            text = getattr(message, "text", None)
            if message.type == "text" and isinstance(text, str) and text.startswith(FORM_TEXT):
                try:
                    data = json.loads(text[len(FORM_TEXT):])
                    if data.get("subject") is not None:
                        Subject.from_dict(data["subject"])
                    return {"subject": data.get("subject"), "close_bars": int(data.get("close_bars") or 0)}
                except (ValueError, TypeError, KeyError, AttributeError):
                    return None
    return None


def _read_track(track: Iterable[Any], index: int, voices: dict[tuple[int, int], int],
                report: SeedReport) -> tuple[list[RawNote], list[tuple[int, int]], tuple[int, int] | None]:
    """Raw notes (times in MIDI ticks), tempo changes and the first time signature of a track."""
    tick = 0
    open_notes: dict[tuple[int, int], tuple[int, int]] = {}  # (channel, pitch) -> (start, voice)
    notes: list[RawNote] = []
    tempos: list[tuple[int, int]] = []
    signature = None

    def close(channel: int, pitch: int, at: int) -> None:
        start, voice = open_notes.pop((channel, pitch))
        if at <= start:
            report.dropped["zero_length"] += 1
        else:
            notes.append(RawNote(start, at, pitch, voice))

    for message in track:
        tick += max(0, int(message.time))
        kind = message.type
        if kind == "note_on" and message.velocity > 0:
            if message.channel == DRUM_CHANNEL:
                report.dropped["drums"] += 1
                continue
            report.notes_read += 1
            slot = (message.channel, message.note)
            if slot in open_notes:  # struck again while sounding: the earlier note ends
                close(message.channel, message.note, tick)
            voice = voices.setdefault((index, message.channel), len(voices))
            open_notes[slot] = (tick, voice)
        elif kind in ("note_off", "note_on"):
            slot = (message.channel, message.note)
            if slot in open_notes:
                close(message.channel, message.note, tick)
        elif kind == "set_tempo":
            tempos.append((tick, int(message.tempo)))
        elif kind == "time_signature" and signature is None:
            signature = (int(message.numerator), int(message.denominator))
    for channel, pitch in list(open_notes):
        close(channel, pitch, tick)
    return notes, tempos, signature


def _tempo_map(tempos: list[tuple[int, int]], division: int):
    """A function: quarter-note position -> seconds, following the file's tempo changes."""
    points: list[tuple[float, float, float]] = []  # (quarter, seconds, seconds per quarter)
    quarter, seconds, per_quarter = 0.0, 0.0, 0.5
    for tick, tempo in tempos:
        at = tick / division
        seconds += (at - quarter) * per_quarter
        quarter = at
        per_quarter = max(tempo, 1) / 1e6
        points.append((quarter, seconds, per_quarter))
    if not points or points[0][0] > 0:
        points.insert(0, (0.0, 0.0, 0.5))

    starts = [point[0] for point in points]

    def seconds_at(position: float) -> float:
        base = points[max(0, bisect.bisect_right(starts, position) - 1)]
        return base[1] + (position - base[0]) * base[2]

    return seconds_at


# --------------------------------------------------------------------------- notation formats


def read_kern(text: str, name: str, report: SeedReport) -> tuple[list[RawNote], dict[str, Any]]:
    """Notes from Humdrum kern text (parsed as the corpus is, by :func:`bachgen.corpus.parse_kern`)."""
    piece, parse_report = parse_kern(text, name)
    report.dropped["zero_length"] += parse_report.grace_notes_dropped
    if parse_report.bar_errors:
        report.notes.append(f"{len(parse_report.bar_errors)} bar(s) do not add up; read as written.")
    report.notes_read = len(piece.notes) + parse_report.grace_notes_dropped
    raw = [RawNote(n.start / piece.resolution, n.end / piece.resolution, n.pitch, n.voice)
           for n in piece.notes]
    return raw, {"time_signature": piece.time_signature}


def read_music21(text: str, name: str, fmt: str, report: SeedReport
                 ) -> tuple[list[RawNote], dict[str, Any]]:
    """Notes from MusicXML text via music21: tied notes joined, grace and unpitched notes dropped."""
    import warnings

    try:
        import music21
    except ImportError as exc:
        raise SeedFileError("Reading MusicXML needs music21, which is not installed.",
                            "Install it (pip install music21) or use a MIDI file.") from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = music21.converter.parseData(text, format=fmt)
    except Exception as exc:  # noqa: BLE001 - music21 raises many types
        raise SeedFileError(f"{name} is not valid MusicXML ({short(exc)}).",
                            "Export it again from your notation program, or use MIDI.") from exc
    parts = list(getattr(score, "parts", None) or [score])
    raw: list[RawNote] = []
    time_signature = None
    tempo = None
    for voice, part in enumerate(parts):
        if time_signature is None:
            signatures = part.recurse().getElementsByClass("TimeSignature")
            if signatures:
                time_signature = (int(signatures[0].numerator), int(signatures[0].denominator))
        if tempo is None:
            marks = part.recurse().getElementsByClass("MetronomeMark")
            if marks and marks[0].getQuarterBPM():
                tempo = float(marks[0].getQuarterBPM())
        raw += _part_notes(part, voice, report)
    return raw, {"time_signature": time_signature, "tempo_bpm": tempo}


def _part_notes(part: Any, voice: int, report: SeedReport) -> list[RawNote]:
    """The notes of one music21 part, ties joined pitch by pitch.

    music21's ``stripTies`` joins a chord only when all its notes are tied, so ties
    are followed here per pitch: a note whose tie stops or continues exactly where
    an open note of the same pitch ends extends that note instead of striking again.
    """
    spans: list[list[float]] = []  # [start, end, pitch]
    open_ties: dict[int, int] = {}  # pitch -> index in spans of the note a tie continues
    for element in part.flatten().notes:
        members = list(element.notes) if element.isChord else [element]
        pitched = [(m, getattr(m, "pitch", None)) for m in members]
        pitched = [(m, p) for m, p in pitched if p is not None]
        report.dropped["unpitched"] += len(members) - len(pitched)
        if not pitched:
            continue
        length = float(element.duration.quarterLength)
        if element.duration.isGrace or length <= 0:
            report.notes_read += len(pitched)
            report.dropped["zero_length"] += len(pitched)
            continue
        start = float(element.offset)
        for member, pitch in pitched:
            midi = int(round(pitch.ps))
            tie = member.tie.type if member.tie is not None else (
                element.tie.type if element.tie is not None and not element.isChord else None)
            index = open_ties.get(midi)
            if tie in ("stop", "continue") and index is not None \
                    and abs(spans[index][1] - start) < 1e-6:
                spans[index][1] = start + length
            else:
                report.notes_read += 1
                index = len(spans)
                spans.append([start, start + length, midi])
            if tie in ("start", "continue"):
                open_ties[midi] = index
            else:
                open_ties.pop(midi, None)
    return [RawNote(a, b, int(p), voice) for a, b, p in spans]


# --------------------------------------------------------------------------- cleaning


def _fold(pitch: int) -> int:
    while pitch < LOWEST_PITCH:
        pitch += 12
    while pitch > HIGHEST_PITCH:
        pitch -= 12
    return pitch


def _valid_signature(signature: tuple[int, int] | None) -> tuple[int, int]:
    if signature and 1 <= signature[0] <= 32 and signature[1] in (1, 2, 4, 8, 16, 32):
        return signature
    return (4, 4)


def clean(raw: list[RawNote], name: str, report: SeedReport, limits: SeedLimits,
          time_signature: tuple[int, int] | None = None, tempo_bpm: float | None = None,
          seconds_at=None, form: dict[str, Any] | None = None) -> Piece:
    """Raw notes -> a clean Piece on the model's grid (see the module docstring)."""
    if not raw:
        if report.dropped["drums"] or report.dropped["unpitched"]:
            raise SeedFileError(f"{name} holds only drums / unpitched percussion.",
                                "Use a file with pitched notes (piano, strings, ...).")
        raise SeedFileError(f"{name} contains no notes.",
                            "Use a file with at least a few notes of music.")
    _clamp_tempo(tempo_bpm, report, limits)
    notes, cut = _on_the_grid(raw, report, limits, seconds_at)
    if not notes and cut:
        raise SeedFileError(f"{name} has no notes in its first {limits.max_minutes:g} minutes.",
                            "Use a file whose music starts near the beginning.")
    if not notes:
        raise SeedFileError(f"{name} contains no usable notes.",
                            "Use a file with at least a few notes of music.")
    notes = _merge_unisons(notes, report)
    notes.sort()
    if len(notes) > limits.max_notes:
        cut += len(notes) - limits.max_notes
        notes = notes[: limits.max_notes]
    if cut:
        report.truncated = cut
        report.notes.append(
            f"Only the first {limits.max_minutes:g} minutes / {limits.max_notes} notes were kept.")

    piece = _without_leading_bars(notes, name, report, _valid_signature(time_signature))
    return replace(piece, meta={**piece.meta, "form": form}) if form else piece


def _clamp_tempo(tempo_bpm: float | None, report: SeedReport, limits: SeedLimits) -> None:
    """The file's tempo into ``report``, held within the limits (said when it was not)."""
    if tempo_bpm is not None and math.isfinite(tempo_bpm) and tempo_bpm > 0:
        clamped = min(max(tempo_bpm, limits.min_tempo_bpm), limits.max_tempo_bpm)
        if clamped != tempo_bpm:
            report.notes.append(f"The tempo {tempo_bpm:.0f} was clamped to {clamped:.0f}.")
        report.tempo_bpm = round(clamped, 2)


def _on_the_grid(raw: list[RawNote], report: SeedReport, limits: SeedLimits, seconds_at: Any
                 ) -> tuple[list[Note], int]:
    """Raw notes on the model's grid, capped, on the keyboard; and how many came too late."""
    resolution = RESOLUTION
    cap = int(limits.max_note_quarters * resolution)
    seconds_per_quarter = 60.0 / (report.tempo_bpm or DEFAULT_TEMPO_BPM)
    max_quarters = limits.max_minutes * 60.0 / seconds_per_quarter
    notes: list[Note] = []
    cut = 0
    for item in raw:
        if not (math.isfinite(item.start) and math.isfinite(item.end)) or item.end <= item.start:
            report.dropped["zero_length"] += 1
            continue
        too_late = (seconds_at(item.start) > limits.max_minutes * 60.0 if seconds_at
                    else item.start > max_quarters)
        if too_late:
            cut += 1
            continue
        exact_start, exact_end = item.start * resolution, item.end * resolution
        start, end = snap_tick(exact_start, resolution, limits.grid), snap_tick(exact_end, resolution, limits.grid)
        if abs(start - exact_start) > 1e-6 or abs(end - exact_end) > 1e-6:
            report.quantised_moves += 1
        if end <= start:
            end = start + (limits.grid or resolution // 8)
            report.lengthened += 1
        if end - start > cap:
            end = start + cap
            report.capped += 1
        pitch = _fold(item.pitch)
        if pitch != item.pitch:
            report.moved_into_range += 1
        notes.append(Note(start, end - start, pitch, item.voice))
    return notes, cut


def _without_leading_bars(notes: list[Note], name: str, report: SeedReport,
                          signature: tuple[int, int]) -> Piece:
    """The piece, its leading silence removed in whole bars, its key estimated."""
    piece = Piece(tuple(notes), RESOLUTION, PurePath(name).stem, None, signature)
    bars = notes[0].start // piece.bar_ticks
    if bars:
        shift = bars * piece.bar_ticks
        notes = [replace(n, start=n.start - shift) for n in notes]
        report.leading_bars_removed = bars
    piece = piece.with_notes(notes)
    report.notes_kept = len(notes)
    piece = replace(piece, key=estimate_key(piece),
                    meta={"source": "seed-file", "format": report.format,
                          "tempo_bpm": report.tempo_bpm, "seed_report": report.to_dict()})
    return piece


def _merge_unisons(notes: list[Note], report: SeedReport) -> list[Note]:
    best: dict[tuple[int, int], Note] = {}
    for note in notes:
        slot = (note.start, note.pitch)
        kept = best.get(slot)
        if kept is not None:
            report.merged += 1
        if kept is None or note.duration > kept.duration:
            best[slot] = note
    return list(best.values())


