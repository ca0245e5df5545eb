"""Sheet music: a Piece as MusicXML (music21) and as SVG engraved by verovio.

The piece is written for piano on a grand staff (treble and bass). A piece in one voice
(today's generations before :func:`bachgen.voices.split_voices`) is split at middle C
(MIDI 60) and each staff is *chordified* (notes sounding together become one chord, notes
held across a change are tied), which always gives valid notation for any texture. A
piece in several voices keeps each voice whole, as a music21 ``Voice`` on the staff of its
mean pitch, each voice chordified on its own — so the fugue's lines read as lines. Times are first snapped to the nearer of a 32nd-note or
16th-triplet grid (:func:`bachgen.seeds.snap_tick`), so no unreadable durations appear.
Labels (an entry of the subject: "alto · f") are written as words above the staff that holds
the note they name, so the score shows the form as the piano roll does.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from ..config import ReductionConfig
from ..errors import MissingDependencyError, RenderError
from ..events import Note, Piece
from ..harmony import merge_unisons
from .midi import check_tempo
from ..reduction import chordify
from ..seeds import snap_tick
from ..voices import voices_of

#: Lowest pitch written on the treble staff (middle C).
SPLIT_PITCH = 60


def _music21():
    try:
        import music21
    except ImportError as exc:
        raise MissingDependencyError(
            "The score needs music21, which is not installed.",
            "Install it with: pip install music21 (MIDI, audio and the piano roll still work).",
        ) from exc
    return music21


def notation_grid(piece: Piece) -> Piece:
    """``piece`` with every start and end on the 32nd / 16th-triplet grid (each note >= 1 step)."""
    notes = []
    for note in piece.notes:
        start = snap_tick(note.start, piece.resolution)
        end = snap_tick(note.end, piece.resolution)
        if end <= start:
            end = start + piece.resolution // 8
        notes.append(Note(start, end - start, note.pitch, note.voice))
    return piece.with_notes(merge_unisons(notes))


def _tie(music21, previous):
    """The tie type for the earlier half of a held note, given the tie it already has."""
    if previous.tie is not None and previous.tie.type in ("stop", "continue"):
        return music21.tie.Tie("continue")
    return music21.tie.Tie("start")


def _staff(music21, lines: list[list[Note]], piece: Piece, part_name: str, clef,
           tempo: float | None):
    """One staff (a music21 ``PartStaff``) holding ``lines``: one list of notes is one
    chordified line; several are the staff's voices (music21 ``Voice``s), each its own line.
    """
    staff = music21.stream.PartStaff()
    staff.partName = part_name
    staff.append(clef)
    staff.append(music21.meter.TimeSignature(f"{piece.time_signature[0]}/{piece.time_signature[1]}"))
    if piece.key:
        try:
            staff.append(music21.key.Key(piece.key))
        except Exception:  # noqa: BLE001 - an odd key name only loses the key signature
            pass
    if tempo is not None:
        staff.append(music21.tempo.MetronomeMark(number=round(tempo)))
    if len(lines) == 1:
        staff.append(_line(music21, lines[0], piece))
        return staff
    offset = staff.highestTime
    for number, notes in enumerate(lines, start=1):
        voice = music21.stream.Voice(id=str(number))
        voice.append(_line(music21, notes, piece))
        staff.insert(offset, voice)
    return staff


def _line(music21, notes: list[Note], piece: Piece) -> list:
    """``notes`` as music21 notes, chords and rests in order, chordified with ties.

    The chords are made by :func:`bachgen.reduction.chordify` (much faster than
    music21's own) and appended in order; held pitches are tied from the chord before.
    The line is padded with rests to the end of the piece (at least one bar).
    """
    resolution = piece.resolution
    events = chordify(piece.with_notes(notes), ReductionConfig(grid=1, max_event_quarters=1e9))
    elements = []
    position = 0
    previous: dict[int, object] = {}  # pitch -> the music21 note sounding it in the last chord
    for event in events:
        if event.start > position:
            elements.append(music21.note.Rest(quarterLength=Fraction(event.start - position,
                                                                     resolution)))
            previous = {}
        length = Fraction(event.duration, resolution)
        pitches = sorted(event.struck + event.held)
        current: dict[int, object] = {}
        if not pitches:
            elements.append(music21.note.Rest(quarterLength=length))
        else:
            element = (music21.note.Note(pitches[0], quarterLength=length) if len(pitches) == 1
                       else music21.chord.Chord(pitches, quarterLength=length))
            members = [element] if len(pitches) == 1 else list(element.notes)
            for pitch, member in zip(pitches, members):
                current[pitch] = member
                if pitch in event.held and pitch in previous:
                    previous[pitch].tie = _tie(music21, previous[pitch])
                    member.tie = music21.tie.Tie("stop")
            elements.append(element)
        previous = current
        position = event.start + event.duration
    end = max(piece.end, piece.bar_ticks)
    if end > position:  # pad the line to the same length as the others
        elements.append(music21.note.Rest(quarterLength=Fraction(end - position, resolution)))
    return elements


def staff_lines(piece: Piece) -> tuple[list[list[Note]], list[list[Note]]]:
    """The notes of the treble and of the bass staff, each as a list of lines.

    A piece in one voice is split at middle C (:data:`SPLIT_PITCH`), one line a staff.
    A piece in several voices (:func:`bachgen.voices.split_voices`) keeps each voice
    whole on the staff of its mean pitch (middle C and up: treble), highest first, so a
    staff holds one to three voices; an empty staff is one line of rests.
    """
    voices = voices_of(piece)
    if len(voices) <= 1:
        return ([[n for n in piece.notes if n.pitch >= SPLIT_PITCH]],
                [[n for n in piece.notes if n.pitch < SPLIT_PITCH]])
    upper: list[list[Note]] = []
    lower: list[list[Note]] = []
    for voice in voices:
        notes = [n for n in piece.notes if n.voice == voice]
        mean = sum(n.pitch for n in notes) / len(notes)
        (upper if mean >= SPLIT_PITCH else lower).append(notes)
    return upper or [[]], lower or [[]]


def piece_to_score(piece: Piece, tempo_bpm: float = 80, labels: Sequence[tuple[int, int, str]] = ()):
    """The piece as a music21 ``Score`` (grand staff, measures, ties made; voices as
    voices when the notes carry several, see :func:`staff_lines`), with ``labels``
    (``(tick, pitch, text)``) written above the note they name (:func:`add_labels`)."""
    music21 = _music21()
    tempo = check_tempo(tempo_bpm)
    piece = notation_grid(piece)
    upper, lower = staff_lines(piece)
    score = music21.stream.Score()
    score.insert(0, music21.metadata.Metadata())
    score.metadata.title = piece.name or "bachgen"
    score.metadata.composer = "bachgen, after J. S. Bach"
    treble = _staff(music21, upper, piece, "Piano", music21.clef.TrebleClef(), tempo)
    bass = _staff(music21, lower, piece, "Piano", music21.clef.BassClef(), None)
    score.insert(0, treble)
    score.insert(0, bass)
    score.insert(0, music21.layout.StaffGroup([treble, bass], name="Piano", symbol="brace",
                                              barTogether=True))
    score.makeNotation(inPlace=True)
    add_labels(music21, [treble, bass], piece, upper, labels)
    return score


def add_labels(music21, staves: list, piece: Piece, upper: list[list[Note]],
               labels: Sequence[tuple[int, int, str]]) -> None:
    """Each label ``(tick, pitch, text)`` as words above the staff holding that note (a
    note the piece does not hold: the treble staff from middle C up), in its bar at its
    place; a label past the last bar is left out."""
    held = {(n.start, n.pitch) for n in piece.notes}
    treble = {(n.start, n.pitch) for line in upper for n in line}
    for tick, pitch, text in labels:
        tick = snap_tick(tick, piece.resolution)
        on_treble = (tick, pitch) in treble if (tick, pitch) in held else pitch >= SPLIT_PITCH
        measures = list(staves[0 if on_treble else 1].getElementsByClass(music21.stream.Measure))
        bar = tick // piece.bar_ticks
        if not 0 <= bar < len(measures):
            continue
        words = music21.expressions.TextExpression(text)
        words.placement = "above"
        measures[bar].insert(Fraction(tick - bar * piece.bar_ticks, piece.resolution), words)


def musicxml_bytes(piece: Piece, tempo_bpm: float = 80,
                   labels: Sequence[tuple[int, int, str]] = ()) -> bytes:
    """The piece as an uncompressed MusicXML document (UTF-8 bytes); ``labels``
    (``(tick, pitch, text)``, e.g. the entries of the subject) as words above their notes."""
    music21 = _music21()
    check_tempo(tempo_bpm)  # a bad tempo is the caller's ConfigError, not a render failure
    try:
        score = piece_to_score(piece, tempo_bpm, labels)
        exporter = music21.musicxml.m21ToXml.GeneralObjectExporter(score)
        return exporter.parse()
    except Exception as exc:  # music21 raises many types; report instead of crashing the app
        raise RenderError(f"music21 could not write the score: {exc}.") from exc


def _verovio_resources(verovio) -> str | None:
    """verovio's data folder (fonts), or None when it cannot be located."""
    from pathlib import Path

    folder = Path(verovio.__file__).resolve().parent / "data"
    return str(folder) if folder.is_dir() else None


def score_svg(piece: Piece, tempo_bpm: float = 80, *, max_pages: int | None = None,
              page_width: int = 2100, scale: int = 40, musicxml: bytes | None = None) -> str:
    """The engraved score as SVG: **all pages**, one ``<svg>`` element per page, concatenated.

    ``max_pages`` keeps only the first pages (``None``: all). ``page_width`` and
    ``scale`` are verovio's options (page width in tenths of a millimetre at scale
    100; notes drawn at ``scale`` percent), so the defaults fit a wide web page.
    Page height adapts to the music. Pass ``musicxml`` (from :func:`musicxml_bytes`
    for the same piece) to skip making it again.
    """
    try:
        import verovio
    except ImportError as exc:
        raise MissingDependencyError(
            "The score view needs verovio, which is not installed.",
            "Install it with: pip install verovio (MIDI, audio and the piano roll still work).",
        ) from exc
    xml = (musicxml if musicxml is not None else musicxml_bytes(piece, tempo_bpm)).decode("utf-8")
    try:
        # verovio keeps its font folder per thread and sets it only in the thread that
        # imported it; app sessions run in threads of their own, so set it every time.
        resources = _verovio_resources(verovio)
        if resources:
            verovio.setDefaultResourcePath(resources)
        verovio.enableLog(verovio.LOG_OFF)
        toolkit = verovio.toolkit()
        if resources:
            toolkit.setResourcePath(resources)
        toolkit.setOptions({
            "pageWidth": page_width,
            "scale": scale,
            "adjustPageHeight": True,
            "footer": "none",
            "breaks": "auto",
        })
        if not toolkit.loadData(xml):
            raise RenderError("verovio could not read the score.")
        count = toolkit.getPageCount()
        if max_pages is not None:
            count = min(count, max(1, max_pages))
        pages = [toolkit.renderToSVG(page) for page in range(1, count + 1)]
    except RenderError:
        raise
    except Exception as exc:  # noqa: BLE001 - verovio errors become one clear message
        raise RenderError(f"verovio could not engrave the score: {exc}.") from exc
    return "\n".join(pages)
