"""A fugue subject the user brings — typed as tinyNotation or ABC, or a one-voice MIDI, MusicXML,
kern or ABC file — read into a :class:`~bachgen.subject.Subject` with its meter and key.

**tinyNotation** (music21's own) is the text notation: ``"3/4 c4 d8 e- f g4 r8 a"`` is the
shortest thing to type that needs nothing but notes. An optional leading time signature (4/4
when there is none); octaves as music21 reads them (``c`` middle C, ``c'`` the octave above,
``C`` the octave below, ``CC`` two below); ``#`` sharp, ``-`` flat; lengths 1 2 4 8 16 32 with
dots, a note without one keeping the one before; ``~`` ties; ``trip{c8 d e}`` and ``quad{...}``
tuplets; ``r`` a rest. Two things are read before music21 sees a token: ``|`` bar lines (checked
against the meter), and apostrophes written after an accidental (``c#'``, which music21 would
silently read as ``c#``) moved in front of it.

**ABC** is read when the text has header lines (``X:``, ``M:``, ``L:``, ``K:``), since folk
tunes are shared that way. ``K:`` gives the key (a mode on its own tonic: ionian, lydian and
mixolydian count as major, aeolian, dorian, phrygian and locrian as minor), ``M:`` the meter.

**Upbeat.** A subject starts where its first note does, counted from the start of its first
bar. Two ways to write one that starts mid-bar: a leading rest (``"4/4 r2 c4 d4 | e1"`` starts
on beat 3; the rest is dropped and becomes the subject's ``offset``), or a short first bar
closed by a bar line (``"4/4 c4 d4 | e1"``, the same; ABC's short first bar works alike).

**Files** go through :func:`bachgen.seeds.load_seed_file` (format from the bytes, notes cleaned,
on the grid), then must hold one line; notes overlapping by a 16th or less (legato) are cut to
the next onset. The seed reader keeps no key signature: a file's key is inferred unless given.

**Key**: ``key``, else ABC's ``K:``, else :func:`~bachgen.subject_key.infer_key` (45 of 48).

Refused, each with one :class:`~bachgen.errors.SubjectError` line naming the token, note or bar
and saying what to do (limits in :class:`SubjectLimits`): empty text or only rests; a token
music21 cannot read; two notes at once; fewer than 4 or more than 40 notes; a line wider than a
twelfth (19 semitones: the widest of the 48 WTC subjects spans 17, and a wider line leaves the
other voices no room for its entries in the compass) or one that cannot be placed in the
compass C2–C6 by octaves (a line outside it is moved by octaves; :attr:`SubjectInput.octaves`);
longer than 8 bars (the longest of the 48 is 7.2); a meter the model does not know; a note off
the grid of :func:`bachgen.seeds.snap_tick` (32nds and 16th triplets; 64ths are refused rather
than moved, since a typed note means what it says); a name that is not a key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from fractions import Fraction
from pathlib import PurePath
from typing import Any, Sequence

from .errors import SeedFileError, SubjectError
from .events import RESOLUTION, Note, key_is_minor, pitch_name
from .formats import decode_text
from .seeds import load_seed_file, snap_tick
from .subject import Subject
from .subject_key import MAJOR_MODES, MODE, infer_key, key_from_name

#: Notes overlapping the next by at most this many ticks (a 16th) are legato, not two voices.
LEGATO = RESOLUTION // 4
TINY_HINT = ("Write tinyNotation, tokens apart by spaces: a letter a-g (c is middle C, c' an octave "
             "higher, C lower), # or - for sharp or flat, a length 1 2 4 8 16 32 (a dot lengthens), "
             "r a rest, | a bar line; "
             "e.g. '3/4 c4 d8 e- f g4 r8 a'.")
ONE_LINE_HINT = "A subject is one line: write (or bring) one note at a time, the subject alone."
METER = re.compile(r"(\d+)/(\d+)")
BAR_LINE = re.compile(r"[|:\[\]]*\|[|:\[\]]*")
ABC_HEADER = re.compile(r"^\s*([XMLK]):(.*)$", re.MULTILINE)
ABC_KEY = re.compile(r"([A-Ga-g])([#b]?)([A-Za-z]*)")


@dataclass(frozen=True)
class SubjectLimits:
    """What a subject may be: notes (``min_notes``–``max_notes``), its span in semitones, its
    length in bars, the compass it is placed in (MIDI pitches) and the longest text read."""

    min_notes: int = 4
    max_notes: int = 40
    max_span: int = 19
    max_bars: float = 8.0
    compass: tuple[int, int] = (36, 84)
    max_chars: int = 4000


@dataclass(frozen=True)
class SubjectInput:
    """A subject as the user gave it: the line (notes in ticks from its first onset, ``offset``
    ticks after the bar line, key and source set), its meter, its key (``key_inferred`` when no
    key was given or written), the notation it came in and how many octaves it was moved to fit
    the compass (``octaves``, 0 when it fit as written)."""

    subject: Subject
    time_signature: tuple[int, int]
    key: str
    key_inferred: bool
    notation: str
    octaves: int = 0


@dataclass(frozen=True)
class _Line:
    """A line as read, not yet checked: notes in ticks from the start of bar ``first_bar``, each
    with where it was written (for messages), its meter, and the key its notation states."""

    notes: tuple[Note, ...]
    where: tuple[str, ...]
    time_signature: tuple[int, int]
    notation: str
    source: str
    key: str | None = None
    first_bar: int = 1


# --------------------------------------------------------------------------- entry points


def read_subject_text(text: str, key: str | None = None,
                      meters: Sequence[tuple[int, int]] | None = None,
                      limits: SubjectLimits = SubjectLimits()) -> SubjectInput:
    """A subject typed as tinyNotation, or as ABC when the text has ABC header lines.

    ``key`` (a key name, checked; blank: none) overrides ABC's ``K:`` and inference; ``meters``
    are the time signatures the model knows (``None``: any); ``limits`` what a subject may be.
    Raises :class:`SubjectError` and nothing else.
    """
    if not isinstance(text, str) or not text.strip():
        raise SubjectError("The subject is empty.", TINY_HINT)
    if len(text) > limits.max_chars:
        raise SubjectError(f"The text is {len(text):,} characters long; a subject is a few bars.",
                           "Write the subject alone.")
    return _checked(read_line(text), key, meters, limits)


@lru_cache(maxsize=64)
def read_line(text: str) -> _Line:
    """The line ``text`` writes, not yet checked (kept: the page reads the box on every run)."""
    return _read_abc(text) if ABC_HEADER.search(text) else _read_tiny(text)


def read_subject_file(data: bytes, filename: str, key: str | None = None,
                      meters: Sequence[tuple[int, int]] | None = None,
                      limits: SubjectLimits = SubjectLimits()) -> SubjectInput:
    """A subject from a one-voice MIDI, MusicXML or kern file (read as a seed file is), or an
    ``.abc`` file (read as text). Raises :class:`SubjectError` and nothing else."""
    name = PurePath(str(filename or "")).name or "the file"
    if PurePath(name).suffix.lower() == ".abc":
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise SubjectError(f"{name} was not received as file contents.", "Bring an ABC tune.")
        text = decode_text(bytes(data))
        if text is None:
            raise SubjectError(f"{name} is named .abc but is not a text file.", "Bring an ABC tune.")
        return read_subject_text(text, key, meters, limits)
    try:
        piece, report = load_seed_file(data, name)
    except SeedFileError as exc:
        raise SubjectError(exc.message, exc.hint) from exc
    notes = _legato_trimmed(sorted(piece.notes, key=lambda n: (n.start, n.pitch)))
    fmt = "musicxml" if report.format == "mxl" else report.format
    first_bar = report.leading_bars_removed + 1
    line = _Line(tuple(Note(n.start, n.duration, n.pitch) for n in notes),
                 tuple(f"{pitch_name(n.pitch)} in bar {first_bar + n.start // piece.bar_ticks}"
                       for n in notes),
                 piece.time_signature, fmt, name, None, first_bar)
    return _checked(line, key, meters, limits)


def _legato_trimmed(notes: list[Note]) -> list[Note]:
    """Each note overlapping the next onset by at most :data:`LEGATO` ticks cut to that onset."""
    out = list(notes)
    for i, (a, b) in enumerate(zip(notes, notes[1:])):
        if a.start < b.start < a.end <= b.start + LEGATO:
            out[i] = Note(a.start, b.start - a.start, a.pitch)
    return out


# --------------------------------------------------------------------------- checks


def _checked(line: _Line, key: str | None, meters: Sequence[tuple[int, int]] | None,
             limits: SubjectLimits) -> SubjectInput:
    """The subject of ``line`` once it passes every check (see the module docstring)."""
    notes, ts = list(line.notes), line.time_signature
    if not notes:
        raise SubjectError("The subject has no notes.",
                           "Write its notes (rests alone are not a subject).")
    _one_voice(line)
    if len(notes) < limits.min_notes:
        raise SubjectError(f"The subject has {len(notes)} note{'s' * (len(notes) != 1)}; "
                           f"it needs at least {limits.min_notes}.",
                           "Write a line of a few notes: a fugue's subject is a short tune.")
    if len(notes) > limits.max_notes:
        raise SubjectError(f"The subject has {len(notes)} notes; at most {limits.max_notes} are taken.",
                           "Write only the subject, the tune the fugue opens with.")
    known = [tuple(m) for m in meters] if meters is not None else None
    if known is not None and tuple(ts) not in known:
        raise SubjectError(f"The model does not know {ts[0]}/{ts[1]}.",
                           "Use one of " + ", ".join(f"{a}/{b}" for a, b in known) + ".")
    bar = RESOLUTION * 4 * ts[0] // ts[1]
    first = notes[0].start
    if (first % bar + notes[-1].end - first) > limits.max_bars * bar:
        raise SubjectError(f"The subject runs past {limits.max_bars:g} bars of {ts[0]}/{ts[1]}.",
                           "Write only the subject (none of Bach's 48 runs past 7 bars and a quarter).")
    octaves = _octaves(line, limits)
    subject_key, inferred = _key_of(line, key)
    moved = tuple(Note(n.start - first, n.duration, n.pitch + 12 * octaves) for n in notes)
    subject = Subject(moved, first % bar, subject_key, line.source)
    return SubjectInput(subject, tuple(ts), subject_key, inferred, line.notation, octaves)


def _one_voice(line: _Line) -> None:
    """:class:`SubjectError` at the first place two notes sound together."""
    bar = RESOLUTION * 4 * line.time_signature[0] // line.time_signature[1]
    for i in range(1, len(line.notes)):
        a, b = line.notes[i - 1], line.notes[i]
        if b.start < a.end:
            beat = _beat(b.start % bar, line.time_signature)
            at = f"bar {line.first_bar + b.start // bar}, beat {beat}"
            raise SubjectError(f"Two notes sound together in {at} ({pitch_name(a.pitch)} and "
                               f"{pitch_name(b.pitch)}).", ONE_LINE_HINT)


def _beat(tick: int, ts: tuple[int, int]) -> str:
    """The beat (1 = the downbeat) a tick within a bar falls on, ``"2"`` or ``"2.5"``."""
    return f"{1 + tick * ts[1] / (RESOLUTION * 4):g}"


def _octaves(line: _Line, limits: SubjectLimits) -> int:
    """Octaves to move the line by to place it in the compass (0 when it is in it); a
    :class:`SubjectError` when it is too wide for one voice or for the compass."""
    low_i = min(range(len(line.notes)), key=lambda i: line.notes[i].pitch)
    high_i = max(range(len(line.notes)), key=lambda i: line.notes[i].pitch)
    low, high = line.notes[low_i].pitch, line.notes[high_i].pitch
    span = f"from {line.where[low_i]} to {line.where[high_i]}"
    if high - low > limits.max_span:
        twelfth = " (a twelfth)" if limits.max_span == 19 else ""
        raise SubjectError(f"The subject spans {high - low} semitones, {span}; one voice's line "
                           f"spans at most {limits.max_span}{twelfth}.",
                           "Move its highest or lowest notes by an octave.")
    bottom, top = limits.compass
    candidates = [k for k in range(-10, 11) if low + 12 * k >= bottom and high + 12 * k <= top]
    if not candidates:
        raise SubjectError(f"The subject ({span}) cannot be placed between {pitch_name(bottom)} "
                           f"and {pitch_name(top)}, even moved by octaves.",
                           "Write a narrower line.")
    return min(candidates, key=abs)


def _key_of(line: _Line, key: str | None) -> tuple[str, bool]:
    """The subject's key and whether it was inferred: the ``key`` given, else the key the
    notation states, else :func:`infer_key`."""
    if key is not None and str(key).strip():
        return key_from_name(key), False
    if line.key is not None:
        return line.key, False
    return infer_key(line.notes), True


# --------------------------------------------------------------------------- tinyNotation


def _read_tiny(text: str) -> _Line:
    """A tinyNotation line, token by token, so a token music21 cannot read is named."""
    from music21 import tinyNotation

    tokens = re.sub(r"^\s*tinynotation:", "", text, flags=re.IGNORECASE).split()
    converter = tinyNotation.Converter(raiseExceptions=True, makeNotation=False)
    converter.setupRegularExpressions()
    events: list[tuple[Fraction, Fraction, Any, int, str]] = []  # start, length, element, index, token
    bars: list[tuple[Fraction, int, str]] = []
    signature, position, opened = None, Fraction(0), {}
    for index, token in enumerate(tokens, 1):
        if BAR_LINE.fullmatch(token):
            bars.append((position, index, token))
            continue
        if METER.fullmatch(token):
            signature = _tiny_meter(token, index, signature, bool(events))
        before = len(converter.stream.elements)
        try:
            converter.parseOne(index, _apostrophes_first(token))
            converter.stream.coreElementsChanged()
        except Exception as exc:  # noqa: BLE001 - music21 raises many types for a bad token
            raise SubjectError(f"Cannot read {token!r} (token {index}).", TINY_HINT) from exc
        opened.update({id(s): (index, token) for s in converter.activeStates if id(s) not in opened})
        for element in converter.stream.elements[before:]:
            if getattr(element, "isNote", False) or getattr(element, "isRest", False):
                length = Fraction(element.duration.quarterLength)
                events.append((position, length, element, index, token))
                position += length
    _closed(converter.activeStates, opened, tinyNotation.TupletState)
    ts = signature or (4, 4)
    origin = _origin(bars, ts)
    notes, where = _joined([(origin + start, length, None if e.isRest else int(round(e.pitch.ps)),
                             _ties_on(e), f"{token!r} (token {index})")
                            for start, length, e, index, token in events], ts)
    return _Line(notes, where, ts, "tinynotation", "your subject")


def _apostrophes_first(token: str) -> str:
    """``c#'`` written as ``c'#``: music21 reads octave marks only straight after the letter."""
    return re.sub(r"([a-g])([#\-n]+)('+)", r"\1\3\2", token)


def _tiny_meter(token: str, index: int, signature: tuple[int, int] | None, after_notes: bool
                ) -> tuple[int, int]:
    """The time signature a token states; :class:`SubjectError` for a bad or changing one."""
    num, den = (int(x) for x in token.split("/"))
    if not (1 <= num <= 32 and den in (1, 2, 4, 8, 16, 32)):
        raise SubjectError(f"Cannot read {token!r} (token {index}): it is not a time signature.",
                           "Write one like 4/4, 3/4 or 6/8 before the notes.")
    if signature is not None or after_notes:
        raise SubjectError(f"The meter changes at {token!r} (token {index}); a subject keeps one.",
                           "Write one time signature, before the notes.")
    return num, den


def _closed(states: Sequence[Any], opened: dict[int, tuple[int, str]], tuplet: type) -> None:
    """:class:`SubjectError` for a tuplet group left open at the end of the text."""
    for state in states:
        if isinstance(state, tuplet):
            index, token = opened[id(state)]
            raise SubjectError(f"The group opened by {token!r} (token {index}) is never closed.",
                               "End it with '}' after its last note, e.g. trip{c8 d e}.")


def _origin(bars: list[tuple[Fraction, int, str]], ts: tuple[int, int]) -> Fraction:
    """Where in its bar the text begins (quarters): a short first bar closed by ``|`` is an
    upbeat; later bar lines must fall a whole bar apart."""
    if not bars:
        return Fraction(0)
    bar = Fraction(4 * ts[0], ts[1])
    first = bars[0][0]
    if first > bar:
        raise SubjectError(f"The first bar, closed by {bars[0][2]!r} (token {bars[0][1]}), holds "
                           f"{float(first):g} quarters; a bar of {ts[0]}/{ts[1]} holds {float(bar):g}.",
                           "Put the bar line where the bar ends, or leave bar lines out.")
    origin = (bar - first) % bar
    for position, index, token in bars[1:]:
        into = (origin + position) % bar
        if into:
            raise SubjectError(f"The bar line {token!r} (token {index}) falls {float(into):g} quarters "
                               f"into a bar of {ts[0]}/{ts[1]}.",
                               f"Each bar holds {float(bar):g} quarters; move the bar line or fix "
                               "the lengths.")
    return origin


def _ties_on(element: Any) -> bool:
    """Whether a written note is tied to the next."""
    return element.tie is not None and element.tie.type in ("start", "continue")


def _joined(events: Sequence[tuple[Fraction, Fraction, int | None, bool, str]], ts: tuple[int, int]
            ) -> tuple[tuple[Note, ...], tuple[str, ...]]:
    """The notes of a written line (``(start, length)`` in quarters, pitch or ``None`` for a
    rest, tied on, where written) in ticks: rests dropped, a tied note joined to the next note
    of its pitch, each checked on the grid."""
    spans: list[list[Any]] = []  # [start, end, pitch, where] in ticks
    tied = False
    for start, length, pitch, ties_on, place in events:
        if pitch is None:
            tied = False
            continue
        begin, end = start * RESOLUTION, (start + length) * RESOLUTION
        if tied and spans and spans[-1][2] == pitch and spans[-1][1] == begin:
            spans[-1][1] = end
        else:
            spans.append([begin, end, pitch, place])
        tied = ties_on
    for begin, end, _, place in spans:
        _on_grid(begin, end, place, ts)
    return (tuple(Note(int(b), int(e - b), p) for b, e, p, _ in spans),
            tuple(w for _, _, _, w in spans))


def _on_grid(begin: Fraction, end: Fraction, place: str, ts: tuple[int, int]) -> None:
    """:class:`SubjectError` when a note starts or ends off the grid the model knows."""
    bar = RESOLUTION * 4 * ts[0] // ts[1]
    for tick in (Fraction(begin), Fraction(end)):
        if tick.denominator != 1 or snap_tick(int(tick) % bar) != int(tick) % bar:
            raise SubjectError(f"The note {place} falls off the model's grid (its finest notes "
                               f"are 32nds and 16th triplets).",
                               "Use longer notes there, or a slower time signature.")


# --------------------------------------------------------------------------- ABC


def _read_abc(text: str) -> _Line:
    """An ABC tune: its one voice's notes, ``M:`` as the meter, ``K:`` as the key."""
    fields = [(m.group(1), m.group(2).strip()) for m in ABC_HEADER.finditer(text)]
    tunes = sum(1 for f, _ in fields if f == "X")
    if tunes > 1:
        raise SubjectError(f"The text holds {tunes} ABC tunes.", "Keep the one with the subject.")
    meters = {v.split("%")[0].strip() for f, v in fields if f == "M"}
    meters |= {m.strip() for m in re.findall(r"\[M:([^\]]*)\]", text)}
    if len(meters) > 1:
        raise SubjectError(f"The meter changes ({', '.join(sorted(meters))}); a subject keeps one.",
                           "Write one M: line.")
    ts = _abc_meter(next(iter(meters), ""))
    keys = [v for f, v in fields if f == "K"]
    key = _abc_key(keys[0]) if keys else None
    if not any(f in "LM" for f, _ in fields):  # ABC's unit length is an eighth when none is set
        at = re.search(r"^\s*K:", text, re.MULTILINE)
        text = text[:at.start()] + "L:1/8\n" + text[at.start():] if at else "L:1/8\n" + text
    return _abc_line(_abc_part(text), ts, key)


def _abc_meter(value: str) -> tuple[int, int]:
    """``M:`` as a time signature (``C`` 4/4, ``C|`` 2/2, none or free: 4/4)."""
    if value in ("", "none", "C"):
        return (4, 4)
    if value == "C|":
        return (2, 2)
    found = METER.fullmatch(value)
    if found and 1 <= int(found.group(1)) <= 32 and int(found.group(2)) in (1, 2, 4, 8, 16, 32):
        return int(found.group(1)), int(found.group(2))
    raise SubjectError(f"M:{value} is not a meter the subject can take.",
                       "Write one like M:4/4, M:3/4 or M:6/8.")


def _abc_key(value: str) -> str | None:
    """``K:`` as a key name (``None`` for ``K:none`` or the Highland pipes' ``K:HP``)."""
    words = value.split("%")[0].split()
    if not words or words[0].lower() in ("none", "hp"):
        return None
    head = words[0] + (words[1] if len(words) > 1 and MODE.fullmatch(words[1]) else "")
    found = ABC_KEY.fullmatch(head)
    if not found or (found.group(3) and not MODE.fullmatch(found.group(3))):
        raise SubjectError(f"K:{value} is not a key.", "Write one like K:G, K:Dm, K:Bb or K:Ador.")
    mode = found.group(3).lower()
    minor = bool(mode) and not mode.startswith(MAJOR_MODES)
    return key_from_name(found.group(1) + found.group(2) + (" minor" if minor else " major"))


def _abc_part(text: str) -> Any:
    """The tune's one part, parsed by music21; :class:`SubjectError` for several voices."""
    import warnings

    from music21 import converter

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = converter.parseData(text, format="abc")
    except Exception as exc:  # noqa: BLE001 - music21's ABC reader raises many types
        raise SubjectError(f"Cannot read the ABC tune ({_short(exc)}).",
                           "Check its header (X:, M:, L:, K:) and notes.") from exc
    parts = list(getattr(score, "parts", None) or [score])
    if len(parts) > 1:
        raise SubjectError(f"The tune has {len(parts)} voices.", ONE_LINE_HINT)
    return parts[0]


def _abc_line(part: Any, ts: tuple[int, int], key: str | None) -> _Line:
    """The notes of an ABC part; a short first bar is an upbeat."""
    bar = Fraction(4 * ts[0], ts[1])
    measures = list(part.getElementsByClass("Measure"))
    origin = Fraction(0)
    if len(measures) > 1 and Fraction(measures[0].duration.quarterLength) < bar:
        origin = bar - Fraction(measures[0].duration.quarterLength)
    events = []
    for element in part.flatten().notesAndRests:
        length = Fraction(element.duration.quarterLength)
        if length == 0 or "ChordSymbol" in element.classes:
            continue
        start = origin + Fraction(element.offset)
        if element.isRest:
            events.append((start, length, None, False, "a rest"))
            continue
        place = f"{_abc_name(element)} in bar {1 + int(start // bar)}"
        if element.isChord:
            raise SubjectError(f"The chord {place} sounds several notes at once.", ONE_LINE_HINT)
        events.append((start, length, int(round(element.pitch.ps)), _ties_on(element), place))
    notes, where = _joined(events, ts)
    return _Line(notes, where, ts, "abc", "your ABC tune", key)


def _abc_name(element: Any) -> str:
    if element.isChord:
        return "[" + " ".join(p.nameWithOctave for p in element.pitches) + "]"
    return element.pitch.nameWithOctave


def _short(exc: BaseException, limit: int = 100) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- writing


#: tinyNotation lengths in ticks: plain (with dots) and in a triplet group.
PLAIN_LENGTHS = {192: "1", 96: "2", 48: "4", 24: "8", 12: "16", 6: "32", 3: "64", 288: "1.",
                 144: "2.", 72: "4.", 36: "8.", 18: "16.", 9: "32.", 336: "1..", 168: "2..",
                 84: "4..", 42: "8..", 21: "16.."}
TRIPLET_LENGTHS = {128: "1", 64: "2", 32: "4", 16: "8", 8: "16", 4: "32", 2: "64"}


def subject_text(subject: Subject, time_signature: tuple[int, int]) -> str:
    """``subject`` written as tinyNotation, as :func:`read_subject_text` reads it back: its
    meter first, a leading rest for its offset, bar lines (a note across one tied), pitches
    spelled in its key (:func:`infer_key` when it has none), a length only where it changes."""
    bar = RESOLUTION * 4 * time_signature[0] // time_signature[1]
    names = _spelling(subject.key or infer_key(subject.notes))
    pieces: list[tuple[str, int, bool]] = []  # (pitch text or "r", ticks, tied on)
    at = 0
    for note in sorted(subject.notes, key=lambda n: n.start):
        start = subject.offset + note.start
        if start > at:
            pieces += [("r", t, False) for t in _bar_split(at, start, bar)]
        split = _bar_split(start, start + note.duration, bar)
        text = _pitch_text(note.pitch, names)
        pieces += [(text, t, i < len(split) - 1) for i, t in enumerate(split)]
        at = max(at, start + note.duration)
    return f"{time_signature[0]}/{time_signature[1]} " + _tokens(pieces, bar)


def _bar_split(start: int, end: int, bar: int) -> list[int]:
    """The lengths of ``[start, end)`` cut at bar lines."""
    out = []
    while start < end:
        stop = min(end, (start // bar + 1) * bar)
        out.append(stop - start)
        start = stop
    return out


def _tokens(pieces: Sequence[tuple[str, int, bool]], bar: int) -> str:
    """The tokens of pieces of notes and rests, each piece within one bar, bar lines between
    (a triplet group is closed before one)."""
    out: list[str] = []
    at, last, in_triplet = 0, None, False
    for text, ticks, tied in pieces:
        if at and at % bar == 0:
            if in_triplet:
                out[-1] += "}"
            out.append("|")
            in_triplet = False
        lengths = _lengths(ticks)
        for i, (length, triplet) in enumerate(lengths):
            token = text + ("" if length == last else length)
            token += "~" if text != "r" and (tied or i < len(lengths) - 1) else ""
            if triplet and not in_triplet:
                token = "trip{" + token
            elif in_triplet and not triplet:
                out[-1] += "}"
            out.append(token)
            last, in_triplet = length, triplet
        at += ticks
    if in_triplet:
        out[-1] += "}"
    return " ".join(out)


def _lengths(ticks: int) -> list[tuple[str, bool]]:
    """The fewest tinyNotation lengths adding up to ``ticks``, longest first (plain ones
    before triplets when as few): ``(length, in a triplet)``."""
    table = [(t, name, False) for t, name in PLAIN_LENGTHS.items()] + \
            [(t, name, True) for t, name in TRIPLET_LENGTHS.items()]
    best: list[tuple[float, list[tuple[int, str, bool]]] | None] = [(0.0, [])] + [None] * ticks
    for total in range(1, ticks + 1):
        for t, name, triplet in table:
            before = best[total - t] if t <= total else None
            if before is not None:
                cost = before[0] + (1.01 if triplet else 1.0)
                if best[total] is None or cost < best[total][0]:
                    best[total] = (cost, before[1] + [(t, name, triplet)])
    if best[ticks] is None:
        raise SubjectError(f"A note of {ticks} ticks cannot be written in tinyNotation.")
    return [(name, triplet) for _, name, triplet in sorted(best[ticks][1], key=lambda x: -x[0])]


def _spelling(key: str) -> dict[int, str]:
    """How each pitch class is spelled in ``key`` (music21 names): the scale's own notes (in
    minor also the raised sixth and seventh), the others as sharps in a sharp key, else flats."""
    from music21 import key as m21key
    from music21 import pitch as m21pitch

    k = m21key.Key(key)
    names = {int(p.pitchClass): p.name for p in k.getPitches()}
    if key_is_minor(key):
        for interval in ("M6", "M7"):
            raised = k.tonic.transpose(interval)
            names[int(raised.pitchClass)] = raised.name
    for pc in range(12):
        if pc not in names:
            plain = m21pitch.Pitch(pc)
            names[pc] = plain.name if k.sharps >= 0 or "#" not in plain.name else \
                plain.getEnharmonic().name
    return names


def _pitch_text(pitch: int, names: dict[int, str]) -> str:
    """A MIDI pitch as a tinyNotation pitch, spelled by ``names``."""
    from music21 import pitch as m21pitch

    spelled = m21pitch.Pitch(names[pitch % 12])
    spelled.octave = 4
    spelled.octave += (pitch - int(round(spelled.ps))) // 12
    letter, accidental = spelled.step, spelled.name[1:]
    if spelled.octave >= 4:
        return letter.lower() + "'" * (spelled.octave - 4) + accidental
    return letter * (4 - spelled.octave) + accidental
