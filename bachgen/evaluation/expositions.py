"""How Bach lays out a whole fugue: the exposition, the entries after it, the episodes and the
close, measured over the 48 fugues so a plan of a whole fugue can follow them.

Per fugue (:func:`layout`):

* **the exposition** — each voice's first notes (the kern spines give every note its voice; a
  split spine stays in its voice) are its first entry: the order the voices enter in, as
  register ranks (0 = the lowest voice by mean pitch), and for each entry its level and kind,
  read by lining the voice's first notes up with the subject's head (:func:`align_head`: the
  same rhythm, each pitch within a whole tone of one level — a tonal answer bends a note by a
  whole tone, which :func:`bachgen.subject.find_entries` does not follow) and whether
  ``find_entries`` finds it at that onset in that voice. A voice whose first entry comes after
  two other entries of the subject has come *late*: the exposition ends before it.
* **the subject's length** — the first voice alone runs up to the second voice's entry; the
  part of it the later voices copy (:func:`imitated_ticks`) is the subject proper, the rest a
  codetta. An entry ends that long after its onset.
* **after the exposition** — the entries ``find_entries`` finds of the subject and of the
  answer as the second voice states it (so tonal-answer forms count), their levels (semitones
  above the subject, mod 12), the episodes between them and the last entry in the tonic;
* **the close** — a pedal in the lowest voice (the tonic or the dominant held or repeated, as
  its lowest sounding pitch, for a bar or more before the last sonority, within the last
  four bars) and how long the last sonority lasts.

:func:`measure` gathers the figures of a set of fugues;
:func:`bachgen.evaluation.exposition_report.to_markdown` writes them as ``docs/expositions.md``
shows them. Nothing here imports music21 or TensorFlow.
"""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..events import RESOLUTION, Note, Piece, key_is_minor, key_tonic_pc
from ..plan import entry_pitches
from ..subject import HEAD, Subject, find_entries, subject_of

#: Bars at the end of a fugue searched for a pedal, and the least length of a pedal (bars).
PEDAL_WINDOW_BARS, PEDAL_LEAST_BARS = 4, 1.0
#: A voice that first enters after this many other entries of the subject has come late.
LATE_AFTER = 2


@dataclass(frozen=True)
class FirstEntry:
    """One voice's first entry: its voice (the kern label) and register rank (0 = lowest),
    onset (tick), level (semitones above the subject, mod 12; ``None``: its notes do not line
    up with the subject), kind (``"subject"``, ``"real"``, ``"tonal"`` — a tonal answer,
    some notes at a fourth and some at a fifth —, ``"altered"``: a note or two a semitone off,
    ``"unmatched"``), what ``find_entries`` says (``"voice"``: found at its onset in its
    voice, ``"other"``: found there in another voice, ``"missed"``, ``"unmatchable"``: the
    subject is too short to search for), whether the voice came late, and for an entry at the
    dominant whether :func:`bachgen.plan.entry_pitches` gives its head's pitch classes."""

    voice: int
    rank: int
    start: int
    level: int | None
    kind: str
    matcher: str
    late: bool = False
    answer_rule: bool | None = None


@dataclass(frozen=True)
class FugueLayout:
    """One fugue's layout in ticks: its voices, mode, bar, end, the subject's solo and imitated
    lengths, its first entries in order, the entries after the exposition (onset, level, form), the
    pedal at the close (``"tonic"``, ``"dominant"``, ``"both"`` or ``"none"``) and the last
    sonority's length (ticks at ``resolution`` a quarter note)."""

    name: str
    voices: int
    minor: bool
    bar: int
    end: int
    solo: int
    subject: int
    first: tuple[FirstEntry, ...]
    later: tuple[tuple[int, int, str], ...]
    matchable: bool
    pedal: str
    last_sonority: int
    resolution: int = RESOLUTION

    @property
    def exposition(self) -> tuple[FirstEntry, ...]:
        """The first entries of the voices that did not come late."""
        return tuple(e for e in self.first if not e.late)

    @property
    def exposition_end(self) -> int:
        """The tick the exposition's last entry ends at."""
        return self.exposition[-1].start + self.subject


# --------------------------------------------------------------------------- lines


def register_ranks(piece: Piece) -> dict[int, int]:
    """Each voice label's rank by mean pitch: 0 for the lowest voice."""
    pitches: dict[int, list[int]] = {}
    for n in piece.notes:
        pitches.setdefault(n.voice, []).append(n.pitch)
    order = sorted(pitches, key=lambda v: sum(pitches[v]) / len(pitches[v]))
    return {v: i for i, v in enumerate(order)}


def first_onsets(piece: Piece) -> list[tuple[int, int]]:
    """``(onset, voice)`` of each voice's first note, in time order."""
    first: dict[int, int] = {}
    for n in piece.notes:
        first[n.voice] = min(first.get(n.voice, n.start), n.start)
    return sorted((t, v) for v, t in first.items())


def voice_line(piece: Piece, voice: int, start: int) -> list[Note]:
    """The voice's highest note at each of its onsets from ``start`` on."""
    by_start: dict[int, Note] = {}
    for n in piece.notes:
        if n.voice != voice or n.start < start:
            continue
        if n.start not in by_start or n.pitch > by_start[n.start].pitch:
            by_start[n.start] = n
    return [by_start[t] for t in sorted(by_start)]


def _bend(diff: int, level: int) -> int:
    """``diff`` less ``level``, as the nearest interval (−5…+6 semitones)."""
    return (diff - level + 5) % 12 - 5


def _rhythm_fits(seg: Sequence[Note], head: Sequence[Note]) -> bool:
    """The same onsets one after another, the first note's length free."""
    return all(seg[j].start - seg[1].start == head[j].start - head[1].start for j in range(1, len(head)))


def align_head(line: Sequence[Note], head: Sequence[Note], within: int) -> list[Note] | None:
    """The notes of ``line`` that state ``head`` from an onset within ``within`` ticks of the
    line's first: the same rhythm and every pitch within a whole tone of one level."""
    if len(head) < 2 or not line:
        return None
    for i in range(len(line) - len(head) + 1):
        if line[i].start > line[0].start + within:
            break
        seg = line[i:i + len(head)]
        if not _rhythm_fits(seg, head):
            continue
        diffs = [a.pitch - b.pitch for a, b in zip(seg, head)]
        level = Counter(d % 12 for d in diffs).most_common(1)[0][0]
        if all(abs(_bend(d, level)) <= 2 for d in diffs):
            return list(seg)
    return None


def classify(seg: Sequence[Note], head: Sequence[Note]) -> tuple[int, str]:
    """The level (mod 12) and kind of an entry lined up with the subject's head: all notes at
    one level (``"subject"`` at 0, else ``"real"``); notes at both a fourth and a fifth above
    (``"tonal"``, level 7); else the most common level (``"altered"``)."""
    levels = [(a.pitch - b.pitch) % 12 for a, b in zip(seg, head)]
    if len(set(levels)) == 1:
        return levels[0], "subject" if levels[0] == 0 else "real"
    if {5, 7} <= set(levels):
        return 7, "tonal"
    return Counter(levels).most_common(1)[0][0], "altered"


def imitated_ticks(subject: Subject, lines: Iterable[Sequence[Note]]) -> int:
    """How much of the first voice's solo the later entries copy (the longest of them): note by
    note the same onsets and pitches within a whole tone of the entry's level, stopping at the
    first that is not. The subject proper; the rest of the solo is a codetta."""
    notes = subject.notes
    best = 0
    for line in lines:
        if len(line) < 2:
            continue
        level = (line[1].pitch - notes[1].pitch) % 12
        agreed = 0
        for j in range(1, min(len(line), len(notes))):
            same_time = line[j].start - line[1].start == notes[j].start - notes[1].start
            if not same_time or abs(_bend(line[j].pitch - notes[j].pitch, level)) > 2:
                break
            agreed = j
        best = max(best, notes[agreed].end)
    return best or subject.length


# --------------------------------------------------------------------------- one fugue


def _matcher_says(found: Sequence, start: int, voice: int, matchable: bool) -> str:
    if not matchable:
        return "unmatchable"
    here = [e for e in found if e.start == start]
    if any(e.voice == voice for e in here):
        return "voice"
    return "other" if here else "missed"


def _answer_rule(subject: Subject, seg: Sequence[Note], tonic: int) -> bool:
    """Whether :func:`bachgen.plan.entry_pitches` at the dominant gives the pitch classes Bach's
    answer has over the head."""
    head = [n.pitch for n in subject.notes[:len(seg)]]
    planned, _ = entry_pitches(head, 7, tonic)
    return all((p - n.pitch) % 12 == 0 for p, n in zip(planned, seg))


def first_entries(piece: Piece, subject: Subject, found: Sequence, matchable: bool
                  ) -> tuple[tuple[FirstEntry, ...], list[list[Note]]]:
    """Each voice's first entry in the order they come (see :class:`FirstEntry`), and the
    lines of the later ones from their entry on (for :func:`imitated_ticks`)."""
    ranks = register_ranks(piece)
    head = subject.notes[:HEAD]
    tonic = key_tonic_pc(piece.key) if piece.key else 0
    out: list[FirstEntry] = []
    lines: list[list[Note]] = []
    for start, voice in first_onsets(piece):
        line = voice_line(piece, voice, start)
        seg = align_head(line, head, piece.bar_ticks) if out else line[:len(head)]
        earlier = sum(1 for e in found if out and out[-1].start < e.start < start
                      and all(e.start != f.start for f in out)) if matchable else 0
        late = bool(out) and (out[-1].late or earlier >= LATE_AFTER)
        if seg is None:
            said = "missed" if matchable else "unmatchable"
            out.append(FirstEntry(voice, ranks[voice], start, None, "unmatched", said, late))
            continue
        level, kind = classify(seg, head)
        rule = _answer_rule(subject, seg, tonic) if level == 7 else None
        out.append(FirstEntry(voice, ranks[voice], seg[0].start, level, kind,
                              _matcher_says(found, seg[0].start, voice, matchable), late, rule))
        if len(out) > 1:
            lines.append(line[line.index(seg[0]):])
    return tuple(out), lines


def answer_subject(piece: Piece, entry: FirstEntry, subject: Subject) -> Subject | None:
    """The answer as the second voice states it (its first :data:`HEAD` notes), moved back by
    its level so that entries found of it are at the subject's levels."""
    seg = align_head(voice_line(piece, entry.voice, entry.start), subject.notes[:HEAD], piece.bar_ticks)
    if seg is None or entry.level is None:
        return None
    first = seg[0].start
    return Subject(tuple(Note(n.start - first, n.duration, n.pitch - entry.level) for n in seg),
                   subject.offset, subject.key, "the answer")


def later_entries(piece: Piece, subject: Subject, answer: Subject | None, after: int,
                  found: Sequence) -> tuple[tuple[int, int, str], ...]:
    """``(onset, level mod 12, form)`` of the entries with onsets after ``after``: the subject's
    (``found``, form ``"subject"``) and, at onsets where the subject is not found, the
    answer's (``"answer"``)."""
    at = {e.start: (e.level % 12, "subject") for e in found if e.start > after}
    if answer is not None:
        for e in find_entries(piece, answer, after + 1):
            at.setdefault(e.start, (e.level % 12, "answer"))
    return tuple((start, level, form) for start, (level, form) in sorted(at.items()))


def bass_floor(piece: Piece, voice: int, start: int, end: int) -> list[tuple[int, int, int | None]]:
    """The lowest pitch ``voice`` sounds in ``[start, end)``, as ``(from, to, pitch or None)``
    pieces between the moments anything in the voice starts or stops."""
    notes = [n for n in piece.notes if n.voice == voice and n.end > start and n.start < end]
    cuts = sorted({start, end, *(max(start, n.start) for n in notes), *(min(end, n.end) for n in notes)})
    out = []
    for a, b in itertools.pairwise(cuts):
        sounding = [n.pitch for n in notes if n.start <= a < n.end]
        out.append((a, b, min(sounding) if sounding else None))
    return out


def pedal(piece: Piece, bass: int) -> str:
    """Which pedal the lowest voice holds in the last :data:`PEDAL_WINDOW_BARS` bars, before the
    last sonority (the last onset in any voice): ``"tonic"``, ``"dominant"``, ``"both"`` or
    ``"none"``. A pedal: the voice's lowest sounding pitch class stays the tonic, or the
    dominant, for :data:`PEDAL_LEAST_BARS` or more (rests of up to a beat allowed)."""
    bar, tonic = piece.bar_ticks, key_tonic_pc(piece.key) if piece.key else 0
    last = max(n.start for n in piece.notes)
    floor = bass_floor(piece, bass, max(0, piece.end - PEDAL_WINDOW_BARS * bar), last)
    beat = piece.resolution * 4 // piece.time_signature[1]
    found = set()
    for name, pc in (("tonic", tonic), ("dominant", (tonic + 7) % 12)):
        run_start, run_end = None, None
        for a, b, pitch in floor:
            if pitch is not None and pitch % 12 == pc:
                run_start = a if run_start is None else run_start
                run_end = b
            elif pitch is None and run_end is not None and b - run_end <= beat:
                continue
            else:
                run_start = run_end = None
            if run_start is not None and run_end - run_start >= PEDAL_LEAST_BARS * bar:
                found.add(name)
    return "both" if len(found) == 2 else (found.pop() if found else "none")


def layout(piece: Piece) -> FugueLayout | None:
    """One fugue's layout (see the module docstring); ``None`` for a piece with one voice."""
    subject = subject_of(piece)
    if subject is None:
        return None
    matchable = subject.matchable
    found = find_entries(piece, subject) if matchable else []
    first, lines = first_entries(piece, subject, found, matchable)
    length = imitated_ticks(subject, lines)
    expo = [e for e in first if not e.late]
    answer = answer_subject(piece, first[1], subject) if matchable else None
    later = later_entries(piece, subject, answer, expo[-1].start, found) if matchable else ()
    bass = min(register_ranks(piece).items(), key=lambda item: item[1])[0]
    return FugueLayout(piece.name, len(first), key_is_minor(piece.key or "C"), piece.bar_ticks,
                       piece.end, subject.length, length, first, later, matchable,
                       pedal(piece, bass), piece.end - max(n.start for n in piece.notes),
                       piece.resolution)


# --------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Figures:
    """What :func:`measure` finds over a set of fugues. Bars are each fugue's own; quantiles
    are :func:`statistics.quantiles` (deciles unless said), rounded to 2 places.

    The exposition: ``orders`` (voices → order of first entries as register ranks, 0 = lowest
    → fugues), ``first_rank`` (voices → the first voice's rank → fugues), ``level_orders``
    (voices → levels of the first entries, −1 where not lined up → fugues), ``kinds`` (entry
    index, 1 = the second entry → kind → entries), ``answer_rule`` (second entries at the
    dominant whose pitch classes :func:`bachgen.plan.entry_pitches` gives, of how many),
    ``matcher`` (kind → what ``find_entries`` says of the second and later first entries),
    ``late_voices``, ``solo_is_subject`` (fugues whose later entries copy the whole solo),
    ``onset_gaps`` (bars between exposition onsets after the second entry), ``codettas``
    (2: after the second entry, 3: after the third or later → bars from the entry's end to
    the next onset; negative: the next comes in first), ``codetta_none`` (the same keys → how
    many are 0 or less, of how many), ``exposition_bars`` and ``exposition_share``
    (quartiles), ``fugue_bars`` (voices → quartiles of the fugues' lengths).

    After it: ``rate`` (quartiles of entries per 10 bars), ``levels`` (mode → level →
    entries), ``levels_by_third`` (mode → third of the fugue → level → entries),
    ``first_middle`` (mode → level of the first entry after the exposition → fugues),
    ``answer_forms`` (entries found only as the answer), ``episodes`` (bars from the end of
    the entries before to the next onset, deciles of those > 0), ``no_episode`` (entries that
    come in before the ones before end, just as they end, and all), ``stretto_fugues``
    (fugues with such an overlapping entry), ``first_episode`` (quartiles of the episode after
    the exposition), ``final_tonic`` and ``final_tonic_end`` (quartiles of bars from the last
    tonic entry's onset, and its end, to the fugue's end), ``last_is_tonic`` (fugues whose
    last entry is in the tonic, of how many), ``bar_places`` (``"exposition"``: second entry
    on, or ``"later"`` → :func:`bar_place` → entries).

    The close: ``pedals`` (kind → fugues), ``last_sonority`` (quarter notes → fugues) and
    ``last_sonority_bars`` (its quartiles in bars).
    """

    fugues: int
    orders: dict[int, dict[tuple[int, ...], int]]
    first_rank: dict[int, dict[int, int]]
    level_orders: dict[int, dict[tuple[int, ...], int]]
    kinds: dict[int, dict[str, int]]
    answer_rule: tuple[int, int]
    matcher: dict[str, dict[str, int]]
    late_voices: int
    solo_is_subject: int
    onset_gaps: tuple[float, ...]
    codettas: dict[int, tuple[float, ...]]
    codetta_none: dict[int, tuple[int, int]]
    exposition_bars: tuple[float, ...]
    exposition_share: tuple[float, ...]
    fugue_bars: dict[int, tuple[float, ...]]
    rate: tuple[float, ...]
    levels: dict[str, dict[int, int]]
    levels_by_third: dict[str, dict[str, dict[int, int]]]
    first_middle: dict[str, dict[int, int]]
    answer_forms: int
    episodes: tuple[float, ...]
    no_episode: tuple[int, int, int]
    stretto_fugues: int
    first_episode: tuple[float, ...]
    final_tonic: tuple[float, ...]
    final_tonic_end: tuple[float, ...]
    last_is_tonic: tuple[int, int]
    bar_places: dict[str, dict[str, int]]
    pedals: dict[str, int]
    last_sonority: dict[float, int]
    last_sonority_bars: tuple[float, ...]


def quantiles(values: Sequence[float], n: int = 10) -> tuple[float, ...]:
    """The ``n``-quantiles of ``values`` rounded to 2 places (empty with fewer than two)."""
    if len(values) < 2:
        return ()
    return tuple(round(q, 2) for q in statistics.quantiles(values, n=n))


def _count(items: Iterable) -> dict:
    """A plain dict of counts, the most common first."""
    return dict(Counter(items).most_common())


def _mode(fugue: FugueLayout) -> str:
    return "minor" if fugue.minor else "major"


def exposition_gaps(fugue: FugueLayout) -> tuple[list[float], list[float]]:
    """Bars from each exposition entry's onset, and from its end, to the next entry's onset —
    after the second entry (the first runs up to the second by how the subject is read)."""
    entries = fugue.exposition
    pairs = list(itertools.pairwise(entries[1:]))
    onsets = [(b.start - a.start) / fugue.bar for a, b in pairs]
    codettas = [(b.start - a.start - fugue.subject) / fugue.bar for a, b in pairs]
    return onsets, codettas


def episodes(fugue: FugueLayout) -> list[float]:
    """Bars from the end of all entries before each later entry to its onset (≤ 0: it comes
    in before they end). The first is the episode after the exposition."""
    out = []
    reach = fugue.exposition_end
    for start, _, _ in fugue.later:
        out.append((start - reach) / fugue.bar)
        reach = max(reach, start + fugue.subject)
    return out


def bar_place(fugue: FugueLayout, start: int) -> str:
    """Where an onset lies in the bar against the subject's first: ``"same"``, ``"half bar"``
    off, or ``"other"``."""
    off = (start - fugue.first[0].start) % fugue.bar
    return "same" if off == 0 else "half bar" if 2 * off == fugue.bar else "other"


def final_tonic(fugue: FugueLayout) -> int | None:
    """The onset of the last entry in the tonic (a later entry, else the exposition's)."""
    starts = [s for s, level, _ in fugue.later if level == 0]
    starts += [e.start for e in fugue.exposition if e.level == 0]
    return max(starts) if starts else None


def _by_voices(fugues: Sequence[FugueLayout], key) -> dict[int, dict]:
    out: dict[int, dict] = {}
    for n in sorted({f.voices for f in fugues}):
        out[n] = _count(key(f) for f in fugues if f.voices == n)
    return out


def _exposition_figures(fugues: Sequence[FugueLayout]) -> dict:
    """The exposition's fields of :class:`Figures`."""
    entries = [(i, e) for f in fugues for i, e in enumerate(f.first) if i > 0 and not e.late]
    rules = [e.answer_rule for f in fugues for e in f.first[1:2] if e.answer_rule is not None]
    gaps = [exposition_gaps(f) for f in fugues]
    codettas: dict[int, list[float]] = {}
    for _, cs in gaps:
        for i, c in enumerate(cs, start=2):
            codettas.setdefault(min(i, 3), []).append(c)
    kinds = sorted({e.kind for _, e in entries})
    return {
        "orders": _by_voices(fugues, lambda f: tuple(e.rank for e in f.first)),
        "first_rank": _by_voices(fugues, lambda f: f.first[0].rank),
        "level_orders": _by_voices(fugues, lambda f: tuple(-1 if e.level is None else e.level
                                                           for e in f.first)),
        "kinds": {i: _count(e.kind for j, e in entries if j == i)
                  for i in sorted({j for j, _ in entries})},
        "answer_rule": (sum(rules), len(rules)),
        "matcher": {k: _count(e.matcher for _, e in entries if e.kind == k) for k in kinds},
        "late_voices": sum(1 for f in fugues for e in f.first if e.late),
        "solo_is_subject": sum(1 for f in fugues if f.subject == f.solo),
        "onset_gaps": quantiles([g for gs, _ in gaps for g in gs]),
        "codettas": {i: quantiles(cs) for i, cs in sorted(codettas.items())},
        "codetta_none": {i: (sum(1 for c in cs if c <= 0), len(cs)) for i, cs in sorted(codettas.items())},
        "exposition_bars": quantiles([f.exposition_end / f.bar for f in fugues], 4),
        "exposition_share": quantiles([f.exposition_end / f.end for f in fugues], 4),
        "fugue_bars": {n: quantiles([f.end / f.bar for f in fugues if f.voices == n], 4)
                       for n in sorted({f.voices for f in fugues})},
    }


def _third(start: int, end: int) -> str:
    return ("early", "middle", "late")[min(2, 3 * start // end)]


def _later_figures(fugues: Sequence[FugueLayout]) -> dict:
    """The fields of :class:`Figures` after the exposition (fugues with a subject to find)."""
    found = [f for f in fugues if f.matchable]
    levels: dict[str, Counter] = {"major": Counter(), "minor": Counter()}
    thirds: dict[str, dict[str, Counter]] = {m: {t: Counter() for t in ("early", "middle", "late")}
                                             for m in levels}
    for f in found:
        for start, level, _ in f.later:
            levels[_mode(f)][level] += 1
            thirds[_mode(f)][_third(start, f.end)][level] += 1
    gaps = [episodes(f) for f in found]
    flat = [g for gs in gaps for g in gs]
    tonic = [(f, final_tonic(f)) for f in found]
    return {
        "rate": quantiles([10 * len(f.later) * f.bar / (f.end - f.exposition_end) for f in found], 4),
        "levels": {m: dict(c.most_common()) for m, c in levels.items()},
        "levels_by_third": {m: {t: dict(c.most_common()) for t, c in by.items()} for m, by in thirds.items()},
        "first_middle": {m: _count(f.later[0][1] for f in found if f.later and _mode(f) == m)
                         for m in levels},
        "answer_forms": sum(1 for f in found for _, _, form in f.later if form == "answer"),
        "episodes": quantiles([g for g in flat if g > 0]),
        "no_episode": (sum(1 for g in flat if g < 0), sum(1 for g in flat if g == 0), len(flat)),
        "stretto_fugues": sum(1 for gs in gaps if any(g < 0 for g in gs)),
        "first_episode": quantiles([gs[0] for gs in gaps if gs], 4),
        "final_tonic": quantiles([(f.end - t) / f.bar for f, t in tonic if t is not None], 4),
        "final_tonic_end": quantiles([(f.end - t - f.subject) / f.bar for f, t in tonic if t is not None], 4),
        "last_is_tonic": (sum(1 for f in found if f.later and f.later[-1][1] == 0),
                          sum(1 for f in found if f.later)),
    }


def measure(pieces: Iterable[Piece]) -> Figures:
    """The figures of :class:`Figures` over ``pieces`` (fugues with their voices labelled)."""
    fugues = [f for f in (layout(p) for p in pieces) if f is not None]
    return Figures(
        fugues=len(fugues),
        **_exposition_figures(fugues),
        **_later_figures(fugues),
        bar_places={"exposition": _count(bar_place(f, e.start) for f in fugues for e in f.exposition[1:]),
                    "later": _count(bar_place(f, s) for f in fugues for s, _, _ in f.later)},
        pedals=_count(f.pedal for f in fugues),
        last_sonority=_count(round(f.last_sonority / f.resolution, 2) for f in fugues),
        last_sonority_bars=quantiles([f.last_sonority / f.bar for f in fugues], 4),
    )
