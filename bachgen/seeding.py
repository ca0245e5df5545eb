"""Where the music starts: what the user asks for (:class:`SeedSpec`) made into the network's
seed (:class:`Seed`) — a fugue from a bar or a random place, the user's own file, a take to
continue or to write again from a bar, a subject to write a whole fugue on, or nothing.

A seed is a run of whole *events* (a fugue from a bar, a file's last events, a take's kept
part, a subject stated alone, or one quarter of silence), moved into a key the network
knows; with it come the subject its entries bring back and the fugue's voices.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import catalog, harmony, seeds
from .codec import KeyCondition, seed_transposition
from .errors import ConfigError, SeedFileError
from .events import Event, Note, Piece
from .notation import read_subject_file, read_subject_text
from .fugue import FugueShape, entry_order, first_voice, stated, voice_centres
from .reduction import chordify, events_to_piece
from .rows import SeedRow, seed_row
from .subject import Subject, own_subject, subject_of
from .voices import labelled_registers, voice_count

#: Events of the seed the network reads before writing (the original project's 50).
SEED_EVENTS = 50
#: The most voices a whole fugue is written in.
MAX_FUGUE_VOICES = 5


@dataclass(frozen=True)
class OwnSubject:
    """A subject to write a whole fugue on: typed (``text``: tinyNotation or ABC), a one-voice
    file (``file_bytes``, named ``file_name``), or already read (``subject`` in
    ``time_signature``: a corpus fugue's, for the yardstick); its ``key`` when the user names
    it (else read from the notation or inferred); the fugue's ``voices`` (2–5)."""

    text: str | None = None
    file_bytes: bytes | None = None
    file_name: str = ""
    key: str | None = None
    voices: int = 3
    subject: Subject | None = None
    time_signature: tuple[int, int] = (4, 4)

    def __post_init__(self) -> None:
        if not 2 <= self.voices <= MAX_FUGUE_VOICES:
            raise ConfigError(f"A fugue needs 2 to {MAX_FUGUE_VOICES} voices, not {self.voices}.",
                              "Choose a number of voices from 2 to 5 (default 3).")
        if sum(x is not None for x in (self.text, self.file_bytes, self.subject)) != 1:
            raise ConfigError("Give the fugue's subject one way: typed, as a file, or read.",
                              'Pass --subject "…" or --subject-file FILE.')


@dataclass(frozen=True)
class SeedSpec:
    """Where the music starts.

    ``fugue`` (a catalogue id) from ``start_bar`` (1-based) — or from event
    ``start_event`` (0-based) when given; ``random_place``: a random place in the
    corpus chosen by the random seed; ``file_bytes``: the user's own MIDI / MusicXML /
    kern file (its last events are the seed); ``own``: a subject of the user's to write a
    whole fugue on (:class:`OwnSubject`); nothing (``fugue=None``): a neutral start.

    A file can also be a take to shape: ``continue_take`` keeps all
    of it and adds the new events after its end; ``keep_bars`` keeps its first bars and
    writes new music from the next bar on. Either way the whole kept part is the seed
    and stays in the result, note for note.
    """

    fugue: str | None = "wtc1f02"
    own: OwnSubject | None = None
    start_bar: int = 1
    random_place: bool = False
    file_bytes: bytes | None = None
    file_name: str = ""
    start_event: int | None = None
    continue_take: bool = False
    keep_bars: int | None = None

    def __post_init__(self) -> None:
        if (self.continue_take or self.keep_bars is not None) and self.file_bytes is None:
            raise ConfigError("Continuing a take or keeping its first bars needs the take's file.",
                              "Pass the take (e.g. --continue take.mid).")
        if self.continue_take and self.keep_bars is not None:
            raise ConfigError("Continue a take or keep its first bars, not both.")
        if self.keep_bars is not None and self.keep_bars < 1:
            raise ConfigError("keep_bars must be at least 1.")

    @property
    def shapes_take(self) -> bool:
        """Whether the file is a take to continue or to regenerate in part."""
        return self.continue_take or self.keep_bars is not None



@dataclass
class Seed:
    """Where the music starts: the network's seed row and how to move its music back."""

    row: SeedRow
    moved_by: int                    # semitones the seed was moved for the network
    key: str | None                  # the seed's own key
    time_signature: tuple[int, int]
    name: str
    source: str
    kept: bool = False               # the seed is a take's kept part: it stays in the result
    subject: Subject | None = None   # the subject entries bring back (in the seed's own key)
    voices: int = 3                  # voices of the fugue (the most an event holds under an entry)
    registers: tuple[int, ...] = ()  # the mean pitch of each of its voices, low to high (when known)
    fugue: FugueShape | None = None  # a whole fugue on the subject (the seed states it alone)



# --------------------------------------------------------------------------- seed


def make_seed(spec: Any, engine: Any, rng: np.random.Generator, notices: list[str]) -> Seed:
    """The seed ``spec`` asks for: a subject to write a fugue on, the user's file, a place in a
    fugue, or none."""
    if spec.own is not None:
        return seed_from_subject(spec.own, engine, rng)
    if spec.file_bytes is not None:
        return _seed_from_file(spec, engine, notices)
    if spec.random_place or spec.fugue:
        return _seed_from_fugue(spec, engine, rng)
    return _no_seed(engine)


def _seed_from_fugue(spec: Any, engine: Any, rng: np.random.Generator) -> Seed:
    if spec.random_place:
        usable = engine.usable_fugues
        fugue_id = usable[int(rng.integers(len(usable)))]
        events = engine.fugue_events(fugue_id)
        start = int(rng.integers(max(1, len(events) - engine.seq_len + 1)))
        source = f"{fugue_id} from event {start}"
    else:
        fugue_id, start, source = _fugue_start(spec, engine)
    piece = engine.corpus_pieces()[fugue_id]
    row, moved_by = seed_row(engine.codec, piece, engine.seq_len, start)
    return Seed(row, moved_by, piece.key, tuple(piece.time_signature), fugue_id, source,
                subject=subject_of(piece, f"{fugue_id}, its first voice alone"),
                voices=voice_count(piece), registers=labelled_registers(piece))


def _fugue_start(spec: Any, engine: Any) -> tuple[str, int, str]:
    """The fugue ``spec`` names, the event its seed starts at, and how to say where."""
    fugue_id = spec.fugue or ""
    catalog.known_fugue(fugue_id)
    events = engine.fugue_events(fugue_id)
    start, source = _start_event(spec, engine.corpus_pieces()[fugue_id], events)
    return fugue_id, max(0, min(start, len(events) - engine.seq_len)), source


def real_continuation(spec: Any, engine: Any, events: int) -> Piece:
    """What Bach wrote after the seed ``spec`` names: the fugue's next ``events`` events, in its
    key and on its bar grid as a generation is laid out, to look at (and listen to) beside one.

    Made on demand from the corpus the user has; never stored.
    """
    if spec.file_bytes is not None or spec.random_place or not spec.fugue:
        raise ConfigError("Only a seed from a fugue has a real continuation to compare with.",
                          "Choose a fugue (e.g. --fugue wtc1f02).")
    fugue_id, start, _ = _fugue_start(spec, engine)
    piece = engine.corpus_pieces()[fugue_id]
    after = engine.fugue_events(fugue_id)[start + engine.seq_len:start + engine.seq_len + events]
    notes = events_to_piece(after).notes if after else ()
    shift = (min((n.start for n in notes), default=0) // piece.bar_ticks) * piece.bar_ticks
    return piece.with_notes([replace(n, start=n.start - shift) for n in notes])


def _start_event(spec: Any, piece: Piece, events: list[Event]) -> tuple[int, str]:
    """The event the seed starts at: ``spec.start_event``, or the first event of ``spec.start_bar``."""
    if spec.start_event is not None:
        if not 0 <= spec.start_event < len(events):
            raise ConfigError(f"start_event must be between 0 and {len(events) - 1} for {piece.name}.")
        return spec.start_event, f"{piece.name} from event {spec.start_event}"
    bars = piece.bars
    if not 1 <= spec.start_bar <= bars:
        raise ConfigError(f"start_bar must be between 1 and {bars} for {piece.name}.")
    tick = (spec.start_bar - 1) * piece.bar_ticks
    start = next((i for i, e in enumerate(events) if e.start >= tick), len(events))
    return start, f"{piece.name} from bar {spec.start_bar}"


def _seed_from_file(spec: Any, engine: Any, notices: list[str]) -> Seed:
    """The last events of the user's file; or, for a take to shape, all of it that is kept
    (read on the codec's grid, where a take's notes lie, so the kept part stays note for note)."""
    limits = seeds.SeedLimits(grid=engine.codec.grid) if spec.shapes_take else seeds.SeedLimits()
    piece, report = seeds.load_seed_file(spec.file_bytes or b"", spec.file_name, limits)
    piece = replace(piece, key=piece.key or harmony.estimate_key(piece))
    events = chordify(piece, engine.codec.reduction_config)
    if not any(e.struck for e in events):
        raise SeedFileError(f"{spec.file_name or 'The file'} holds no notes to start from.",
                            "Use a file with at least a few notes.")
    notices += list(getattr(report, "notes", []) or [])
    name = Path(spec.file_name).stem if spec.file_name else "seed"
    subject = file_subject(piece, spec.file_name or "the file", notices)
    if spec.shapes_take:
        spec = open_again(spec, piece, notices)
        return replace(_kept_seed(spec, engine, piece, name), subject=subject, voices=voice_count(piece))
    row, moved_by = seed_row(engine.codec, piece, engine.seq_len, max(0, len(events) - engine.seq_len))
    return Seed(row, moved_by, piece.key, tuple(piece.time_signature), name,
                f"file {spec.file_name}", subject=subject, voices=voice_count(piece))


def open_again(spec: SeedSpec, piece: Piece, notices: list[str]) -> SeedSpec:
    """A take that ended with a close is continued from before it: its last bars are
    written anew (the MIDI file says how many bars its close took)."""
    close_bars = int((piece.meta.get("form") or {}).get("close_bars") or 0)
    if not spec.continue_take or not close_bars or piece.bars <= close_bars:
        return spec
    notices.append(f"The take ended with a close; its last {close_bars} bars are written anew so "
                   "the music goes on.")
    return replace(spec, continue_take=False, keep_bars=piece.bars - close_bars)


def file_subject(piece: Piece, name: str, notices: list[str]) -> Subject | None:
    """A file's subject (:func:`bachgen.subject.own_subject`); none, said once, when it has no
    line of five notes or more to bring back (a take that carries none says nothing)."""
    if piece.meta.get("form"):
        return own_subject(piece, name)
    subject = own_subject(piece, f"the opening line of {name}")
    if subject is None or not subject.matchable:
        notices.append(f"{name} does not open with one voice alone, so it has no subject to bring "
                       "back; the take is written without planned entries.")
        return None
    return subject


def _kept_seed(spec: Any, engine: Any, piece: Piece, name: str) -> Seed:
    """A take as the seed: all of it (``continue_take``) or its first ``keep_bars`` bars, cut
    at the bar line (a rest to the line when its notes end sooner), so the new music
    begins exactly there. The whole kept part is read by the network and stays in the result."""
    codec, bar = engine.codec, piece.bar_ticks
    first = min(n.start for n in piece.notes)
    end = max(n.end for n in piece.notes)
    if spec.keep_bars is not None:
        bars = -(-end // bar)
        cut = spec.keep_bars * bar
        if cut <= first or cut >= end:
            raise ConfigError(f"{spec.file_name or 'The take'} has notes in bars {first // bar + 1}–{bars}: "
                              f"keeping {spec.keep_bars} bar(s) must keep some and leave some.",
                              "Choose a bar inside the take, or continue the whole take.")
        piece = piece.with_notes([replace(n, duration=min(n.end, cut) - n.start)
                                  for n in piece.notes if n.start < cut])
        end, how = cut, f"bars 1–{spec.keep_bars} of {spec.file_name or 'a take'} kept"
    else:
        end, how = -(-end // codec.grid) * codec.grid, f"{spec.file_name or 'a take'} continued"
    moved_by, key = seed_transposition(piece.key)
    events = chordify(piece.transpose(moved_by), codec.reduction_config)
    last = events[-1].start + events[-1].duration
    if last < end:
        events.append(Event(last, end - last, (), ()))
    row = SeedRow(tuple(codec.encode_events(events)), events[0].start, tuple(piece.time_signature), key)
    return Seed(row, moved_by, piece.key, tuple(piece.time_signature), name, how, kept=True)


def _no_seed(engine: Any) -> Seed:
    """A quarter of silence in C major, 4/4: the network starts from nothing."""
    codec = engine.codec
    ids = tuple(codec.encode_events([Event(0, codec.resolution, (), ())]))
    return Seed(SeedRow(ids, 0, (4, 4), KeyCondition(False, 0)), 0, "C", (4, 4),
                       "bachgen", "no seed")


def seed_from_subject(own: OwnSubject, engine: Any, rng: np.random.Generator) -> Seed:
    """A whole fugue's seed: the subject stated alone in the voice its register is nearest
    (moved by octaves to lie there), the order the other voices enter in drawn
    (:func:`bachgen.fugue.entry_order`). The seed stays in the result: it is the fugue's
    opening."""
    subject, time_signature = read_own(own, engine)
    voice = first_voice(subject, own.voices)
    subject = stated(subject, voice, own.voices)
    shape = FugueShape(own.voices, entry_order(voice, own.voices, rng), time_signature[0] % 2 == 0)
    piece = Piece(tuple(Note(subject.offset + n.start, n.duration, n.pitch, 0) for n in subject.notes),
                  name="fugue", key=subject.key, time_signature=time_signature)
    row, moved_by = seed_row(engine.codec, piece, 2 * len(subject.notes) + 1)  # every note, a rest before each
    return Seed(row, moved_by, subject.key, time_signature, f"fugue on {subject.source}", subject.source,
                kept=True, subject=subject, voices=own.voices, fugue=shape,
                registers=tuple(round(c) for c in voice_centres(own.voices)))


def read_own(own: OwnSubject, engine: Any) -> tuple[Subject, tuple[int, int]]:
    """The subject ``own`` gives, in its key, and its meter (one ``engine``'s network knows;
    ``engine`` ``None``: not checked yet). A :class:`~bachgen.errors.SubjectError` names what
    cannot be used (:mod:`bachgen.notation`)."""
    if own.subject is not None:
        return own.subject, own.time_signature
    meters = engine.codec.meters if engine is not None else None
    if own.text is not None:
        read = read_subject_text(own.text, own.key, meters)
    else:
        read = read_subject_file(own.file_bytes or b"", own.file_name, own.key, meters)
    return read.subject, read.time_signature

