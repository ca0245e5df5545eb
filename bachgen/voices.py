"""Voices from a piano reduction: which line of a fugue each note belongs to.

The model writes a piano reduction (chords of struck and held notes); a fugue is made of
two to five voices. :func:`split_voices` gives every note of a piece a ``voice``: 0 is the
highest voice, ``count - 1`` the lowest, so every output (MIDI tracks, score voices,
piano-roll colours) can use it.

**The method** is a streaming assignment by pitch proximity, searched with a beam over the
whole piece, in the line of the preference rules of Temperley (*The Cognition of Basic
Musical Structures*, MIT Press 2001, ch. 4: avoid large leaps, avoid rests inside a voice,
avoid crossings, avoid shared notes) and of the cost-based separation of Kilian & Hoos
("Voice separation — a local optimisation approach", ISMIR 2002). Onsets are taken in
order; the notes struck at one onset are given to voices in pitch order (the highest note
to the highest of the chosen voices, so they never cross each other), and each way of
doing so costs:

* the leap from the voice's last pitch (semitones); after a rest the last pitch fades
  towards the voice's register over :attr:`VoiceConfig.memory_quarters`;
* the distance from the voice's register (a small pull that keeps each voice in range);
* a rest inside the voice, a crossing with another sounding voice, a note struck while the
  voice still sounds (two notes at once in one voice), a voice's first entry away from its
  register.

A beam of :attr:`VoiceConfig.beam` partial assignments (two that leave every voice on the
same pitch merged, the cheaper kept) is carried from onset to onset, so an early choice can still be undone by what comes
later. The registers (mean pitch of each voice) come from the moments in which every voice
sounds — in a fugue the voices rarely cross, so there the k-th note from the top is the k-th
voice: the idea of the *maximal contigs* of Chew & Wu ("Separating voices in polyphonic
music: a contig mapping approach", CMMR 2004). They place a fugue's lone first entry in
the voice whose register it fits.

**The number of voices**, when not given, is the largest number of notes sounding together
for at least :data:`TEXTURE_SHARE` of the time anything sounds (final chords and passing
thick chords are ignored). On the 48 fugues of the Well-Tempered Clavier this finds the
voice count of the score in every fugue.

**Measured** by :func:`voice_accuracy_report` (``bachgen evaluate --voices``): each fugue's
piano reduction (:func:`bachgen.tokens.normalise`, kern voices dropped) is split and
compared with its kern spines, after matching the estimated voices to the score's voices
so that the most notes agree (Hungarian matching of the confusion matrix). A unison
between two voices is one key in the reduction; such a note counts as right when it is in
either of the voices that sound it. The baseline splits the reduction by fixed pitch ranges
(boundaries at the quantiles of the piece's pitches, as many ranges as voices).
Over the 48 fugues (50,787 notes of the reductions) 91.7 % of the notes are in the
score's voice (the baseline: 71.4 %); every fugue's number of voices is found.
This module imports nothing heavy (no TensorFlow, no music21).
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import math
import time
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from .errors import ConfigError
from .events import RESOLUTION, Note, Piece

#: Most voices a piece is split into (the fugues have at most five).
MAX_VOICES = 6
#: Share of the sounding time a texture must fill to count as the piece's number of voices.
TEXTURE_SHARE = 0.11
#: Names of the voices, highest first, for each number of voices.
VOICE_NAMES = {
    1: ("Voice",),
    2: ("Soprano", "Bass"),
    3: ("Soprano", "Alto", "Bass"),
    4: ("Soprano", "Alto", "Tenor", "Bass"),
    5: ("Soprano 1", "Soprano 2", "Alto", "Tenor", "Bass"),
}


@dataclass(frozen=True)
class VoiceConfig:
    """Costs and search width of :func:`split_voices` (costs in semitones of leap).

    ``beam``: partial assignments kept from onset to onset (1 = greedy);
    ``rest``: a rest inside a voice; ``cross``: a note above a higher voice's sounding note
    (or below a lower one's); ``busy``: a note struck in a voice whose note still sounds;
    ``entry``: a voice's first note; ``register_weight``: cost per semitone between a note
    and the register of a voice entering or coming back; ``memory_quarters``: over how many
    quarter notes of rest a voice's last pitch fades into its register; ``register_pull``:
    cost per semitone between every note and its voice's register (keeps voices in range).
    The defaults were chosen on the 48 fugues (``bachgen evaluate --voices``).
    """

    beam: int = 24
    rest: float = 10.0
    cross: float = 10.0
    busy: float = 16.0
    entry: float = 4.0
    register_weight: float = 0.5
    memory_quarters: float = 8.0
    register_pull: float = 0.1

    def __post_init__(self) -> None:
        """Refuse a beam out of 1-1000 and negative or non-finite costs."""
        if not isinstance(self.beam, int) or not 1 <= self.beam <= 1000:
            raise ConfigError(f"The voice-splitting beam must be 1-1000, not {self.beam!r}.")
        for name in ("rest", "cross", "busy", "entry", "register_weight", "memory_quarters",
                     "register_pull"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 <= value < 1e6:
                raise ConfigError(f"The voice-splitting cost {name} must be >= 0, not {value!r}.")


def voice_names(count: int) -> tuple[str, ...]:
    """Names of ``count`` voices, highest first: Soprano/Alto/Tenor/Bass, else Voice 1…n."""
    if count in VOICE_NAMES:
        return VOICE_NAMES[count]
    return tuple(f"Voice {i + 1}" for i in range(count))


def voices_of(piece: Piece) -> list[int]:
    """The distinct voice indices of the piece's notes, in order (``[0]`` for today's
    single-voice generations, ``[]`` for an empty piece)."""
    return sorted({note.voice for note in piece.notes})


def check_voice_count(voices: int | None) -> int | None:
    """``voices`` when it is None or 1…:data:`MAX_VOICES`, else :class:`ConfigError`."""
    if voices is None:
        return None
    if isinstance(voices, bool) or not isinstance(voices, int) or not 1 <= voices <= MAX_VOICES:
        raise ConfigError(f"The number of voices must be 1-{MAX_VOICES}, not {voices!r}.",
                          "Leave it out to estimate it from the piece.")
    return voices


# --------------------------------------------------------------------------- texture


def texture_profile(notes: Iterable[Note]) -> dict[int, int]:
    """Ticks during which exactly k notes sound, for every k >= 1 that occurs."""
    changes: list[tuple[int, int]] = []
    for note in notes:
        changes += [(note.start, 1), (note.end, -1)]
    changes.sort()
    profile: dict[int, int] = {}
    sounding, last = 0, 0
    for tick, change in changes:
        if tick > last and sounding > 0:
            profile[sounding] = profile.get(sounding, 0) + tick - last
        sounding += change
        last = tick
    return profile


def estimate_voice_count(piece: Piece, share: float = TEXTURE_SHARE) -> int:
    """The number of voices of ``piece``: the most notes sounding together for at least
    ``share`` of the time anything sounds (1 for an empty piece, at most :data:`MAX_VOICES`).

    A robust maximum: the thick final chord of a fugue, or a few passing chords with a
    doubled note, do not add a voice.
    """
    profile = texture_profile(piece.notes)
    total = sum(profile.values())
    if not total:
        return 1
    thick = [k for k, ticks in profile.items() if ticks >= share * total]
    return max(1, min(MAX_VOICES, max(thick, default=1)))


def voice_registers(notes: Sequence[Note], count: int) -> list[float]:
    """The mean pitch of each of ``count`` voices, highest first, read from the onsets at
    which exactly ``count`` notes sound (there the k-th note from the top is voice k).

    Without such onsets, the pitches' quantiles stand in.
    """
    full = _full_texture(notes, count)
    if full:
        return [sum(chord[rank] for _, chord in full) / len(full) for rank in range(count)]
    pitches = sorted((n.pitch for n in notes), reverse=True) or [60]
    return [float(pitches[min(len(pitches) - 1, (2 * rank + 1) * len(pitches) // (2 * count))])
            for rank in range(count)]


def _full_texture(notes: Sequence[Note], count: int) -> list[tuple[int, list[int]]]:
    """The onsets at which exactly ``count`` notes sound, with their pitches, highest first."""
    return [(onset, sorted(sounding, reverse=True))
            for onset, sounding in _sounding_at_onsets(notes) if len(sounding) == count]


def _sounding_at_onsets(notes: Sequence[Note]) -> Iterable[tuple[int, list[int]]]:
    """For every onset, the pitches sounding just after it (struck and held)."""
    ordered = sorted(notes)
    active: list[Note] = []
    index = 0
    while index < len(ordered):
        onset = ordered[index].start
        while index < len(ordered) and ordered[index].start == onset:
            active.append(ordered[index])
            index += 1
        active = [n for n in active if n.end > onset]
        yield onset, [n.pitch for n in active]


def seed_voice_count(seed: Any) -> int | None:
    """The number of voices of the fugue a take was seeded from, when it is known: a
    catalogue fugue given by id (not a file, not a random place); else ``None``.

    ``seed`` is a :class:`bachgen.pipeline.SeedSpec` (read through its attributes, so this
    module needs no pipeline), a fugue id, or ``None``.
    """
    from . import catalog

    if seed is None:
        return None
    if isinstance(seed, str):
        fugue_id: str | None = seed
    elif getattr(seed, "file_bytes", None) is not None or getattr(seed, "random_place", False):
        return None
    else:
        fugue_id = getattr(seed, "fugue", None)
    try:
        return min(MAX_VOICES, catalog.fugue(fugue_id).voices) if fugue_id else None
    except KeyError:
        return None


def split_take(piece: Piece, seed: Any = None, timings: dict[str, float] | None = None) -> Piece:
    """A generated take split into voices for every output: as many voices as its seed
    fugue has (:func:`seed_voice_count`), else as many as its texture shows.

    The take's notes are unchanged (only ``voice`` is set), so the same take always gives
    the same voices. The seconds spent are added to ``timings["voices"]`` when given.
    """
    started = time.perf_counter()
    voiced = split_voices(piece, seed_voice_count(seed))
    if timings is not None:
        timings["voices"] = time.perf_counter() - started
    return voiced


# --------------------------------------------------------------------------- splitting

#: One voice's memory in a partial assignment: (last pitch or -1, its start, its end).
_Slot = tuple[int, int, int]
_SILENT: _Slot = (-1, 0, 0)


def split_voices(piece: Piece, voices: int | None = None,
                 config: VoiceConfig = VoiceConfig()) -> Piece:
    """``piece`` with every note's ``voice`` set: 0 = highest voice … n−1 = lowest.

    ``voices`` is the number of voices (a fugue's own count, 1–:data:`MAX_VOICES`), or
    ``None`` to estimate it (:func:`estimate_voice_count`). The notes themselves (times,
    pitches) are unchanged; whatever voices they carried are ignored. The entry point for
    every output: MIDI, score and piano roll show the voices this gives.
    """
    count = check_voice_count(voices) or estimate_voice_count(piece)
    notes = list(piece.notes)
    if count == 1 or not notes:
        return piece.with_notes([Note(n.start, n.duration, n.pitch, 0) for n in notes])
    labels = assign_voices(notes, count, config, piece.resolution)
    return piece.with_notes([Note(n.start, n.duration, n.pitch, v) for n, v in zip(notes, labels)])


def assign_voices(notes: Sequence[Note], count: int, config: VoiceConfig = VoiceConfig(),
                  resolution: int = RESOLUTION) -> list[int]:
    """The voice (0 = highest) of each of ``notes`` (ticks at ``resolution`` per quarter
    note), in their order, by the beam search described in the module docstring."""
    order = sorted(range(len(notes)), key=lambda i: (notes[i].start, -notes[i].pitch))
    groups: list[list[int]] = []
    for index in order:
        if groups and notes[groups[-1][0]].start == notes[index].start:
            groups[-1].append(index)
        else:
            groups.append([index])
    registers = voice_registers(notes, count)
    memory = config.memory_quarters * resolution
    return _search(notes, groups, count, registers, memory, config)


def _search(notes: Sequence[Note], groups: list[list[int]], count: int,
            registers: list[float], memory: float, config: VoiceConfig) -> list[int]:
    """The beam search proper: ``groups`` are the notes struck at each onset (highest
    first), ``registers`` the voices' mean pitches."""
    beam: list[tuple[float, tuple[_Slot, ...]]] = [(0.0, (_SILENT,) * count)]
    history: list[list[tuple[int, tuple[int, ...]]]] = []
    for group in groups:
        struck = [notes[i] for i in group]
        options: dict[tuple[int, ...], tuple[float, int, tuple[int, ...], tuple[_Slot, ...]]] = {}
        for parent, (cost, state) in enumerate(beam):
            for choice in _choices(len(struck), count):
                step, new_state = _step_cost(state, struck, choice, registers, memory, config)
                total = cost + step
                key = tuple(slot[0] for slot in new_state)  # states with the same pitches merge
                best = options.get(key)
                if best is None or total < best[0]:
                    options[key] = (total, parent, choice, new_state)
        kept = sorted(options.values(), key=lambda option: option[0])[:config.beam]
        beam = [(total, state) for total, _, _, state in kept]
        history.append([(parent, choice) for _, parent, choice, _ in kept])
    return _backtrack(history, groups, len(notes))


def _backtrack(history: list[list[tuple[int, tuple[int, ...]]]], groups: list[list[int]],
               size: int) -> list[int]:
    """The voices of the cheapest full assignment (row 0 of the last beam), followed back."""
    labels = [0] * size
    row = 0
    for step in range(len(history) - 1, -1, -1):
        parent, choice = history[step][row]
        for index, voice in zip(groups[step], choice):
            labels[index] = voice
        row = parent
    return labels


_CHOICES: dict[tuple[int, int], list[tuple[int, ...]]] = {}
#: A chord with more notes than voices is shared out among the voices in every way only
#: while there are at most this many ways; beyond, by rank (keeps thick chords fast).
MAX_SHARINGS = 300


def _choices(struck: int, count: int) -> list[tuple[int, ...]]:
    """Ways to give ``struck`` notes (highest first) to ``count`` voices in pitch order:
    distinct voices when there are enough, else every voice takes one note or more."""
    key = (struck, count)
    if key not in _CHOICES:
        if struck <= count:
            _CHOICES[key] = list(itertools.combinations(range(count), struck))
        elif math.comb(struck - 1, count - 1) <= MAX_SHARINGS:
            _CHOICES[key] = [c for c in itertools.combinations_with_replacement(range(count), struck)
                             if len(set(c)) == count]
        else:
            _CHOICES[key] = [tuple(rank * count // struck for rank in range(struck))]
    return _CHOICES[key]


def _step_cost(state: tuple[_Slot, ...], struck: list[Note], choice: tuple[int, ...],
               registers: list[float], memory: float, config: VoiceConfig
               ) -> tuple[float, tuple[_Slot, ...]]:
    """The cost of giving ``struck`` (one onset, highest first) to the voices ``choice``,
    and the voices' memory afterwards (``memory``: the fading time in ticks)."""
    onset = struck[0].start
    new_state = list(state)
    cost = 0.0
    for note, voice in zip(struck, choice):
        pitch, start, end = new_state[voice]
        cost += config.register_pull * abs(note.pitch - registers[voice])
        if pitch < 0:
            cost += config.entry + config.register_weight * abs(note.pitch - registers[voice])
        else:
            if end > onset or start == onset:
                cost += config.busy
            gap = onset - end
            leap = abs(note.pitch - pitch)
            if gap > 0:
                fade = min(1.0, gap / memory) if memory else 1.0
                cost += config.rest + (1 - fade) * leap + fade * config.register_weight * abs(
                    note.pitch - registers[voice])
            else:
                cost += leap
        if start == onset and pitch >= 0:  # a second note in the voice at this onset
            new_state[voice] = (pitch, onset, max(end, note.end))
        else:
            new_state[voice] = (note.pitch, onset, note.end)
    for note, voice in zip(struck, choice):
        for other, (pitch, start, end) in enumerate(state):
            if other == voice or pitch < 0 or end <= onset or other in choice:
                continue
            if (other < voice and pitch < note.pitch) or (other > voice and pitch > note.pitch):
                cost += config.cross
    return cost, tuple(new_state)


# --------------------------------------------------------------------------- measuring


def reduction_with_truth(piece: Piece) -> tuple[Piece, list[frozenset[int]]]:
    """The piano reduction of a scored piece (voices dropped, unisons one key,
    :func:`bachgen.tokens.normalise`) and, for each of its notes, the score's voices
    that strike that pitch at that time (two or more for a unison)."""
    from .tokens import normalise

    voices_at: dict[tuple[int, int], set[int]] = {}
    for note in piece.notes:
        voices_at.setdefault((note.start, note.pitch), set()).add(note.voice)
    reduced = normalise(piece)
    return reduced, [frozenset(voices_at[(n.start, n.pitch)]) for n in reduced.notes]


def matched_accuracy(labels: Sequence[int], truth: Sequence[frozenset[int]]) -> float:
    """Share of notes whose label is one of their true voices, after mapping labels to
    voices one to one so that the most notes agree (Hungarian matching of the confusion
    matrix). A label left without a voice (more labels than voices) counts as wrong."""
    if not labels:
        return 1.0
    rows = max(labels) + 1
    columns = max(max(t) for t in truth) + 1
    confusion = [[0] * columns for _ in range(rows)]
    for label, voices in zip(labels, truth):
        for voice in voices:
            confusion[label][voice] += 1
    return _best_matching(confusion) / len(labels)


def _best_matching(confusion: list[list[int]]) -> int:
    """The largest total of a one-to-one matching of rows to columns."""
    try:
        from scipy.optimize import linear_sum_assignment
    except ImportError:  # scipy comes with scikit-learn; without it, try every matching
        small, large = sorted((len(confusion), len(confusion[0])))
        transpose = len(confusion) > len(confusion[0])
        cells = [list(r) for r in zip(*confusion)] if transpose else confusion
        return max(sum(cells[r][c] for r, c in enumerate(perm))
                   for perm in itertools.permutations(range(large), small))
    rows, columns = linear_sum_assignment(confusion, maximize=True)
    return int(sum(confusion[r][c] for r, c in zip(rows, columns)))


def pitch_range_labels(notes: Sequence[Note], count: int) -> list[int]:
    """The baseline: ``count`` fixed pitch ranges with boundaries at the quantiles of the
    piece's pitches (the highest ``1/count`` of the notes is voice 0, and so on)."""
    ordered = sorted(n.pitch for n in notes)
    above = {p: len(ordered) - bisect.bisect_right(ordered, p) for p in set(ordered)}
    return [min(count - 1, above[n.pitch] * count // len(ordered)) for n in notes]


def fugue_voice_figures(piece: Piece, config: VoiceConfig = VoiceConfig()) -> dict[str, Any]:
    """One fugue's row of :func:`voice_accuracy_report`."""
    reduced, truth = reduction_with_truth(piece)
    notes = list(reduced.notes)
    given = len({v for voices in truth for v in voices})
    estimated = estimate_voice_count(reduced)
    started = time.perf_counter()
    with_given = split_voices(reduced, given, config)
    seconds = time.perf_counter() - started
    with_estimated = with_given if estimated == given else split_voices(reduced, estimated, config)
    return {
        "fugue": piece.name,
        "notes": len(notes),
        "voices": given,
        "estimated_voices": estimated,
        "accuracy": round(matched_accuracy([n.voice for n in with_given.notes], truth), 4),
        "accuracy_estimated": round(
            matched_accuracy([n.voice for n in with_estimated.notes], truth), 4),
        "baseline": round(matched_accuracy(pitch_range_labels(notes, given), truth), 4),
        "seconds": round(seconds, 3),
    }


def voice_accuracy_report(pieces: Sequence[Piece], config: VoiceConfig = VoiceConfig(),
                          progress: Any = None) -> dict[str, Any]:
    """How well :func:`split_voices` finds the voices of scored pieces (the fugues).

    Per piece (see :func:`fugue_voice_figures`): the voices in the score and estimated,
    the share of notes in the right voice with the number of voices given and estimated,
    the pitch-range baseline, the splitting time. ``overall`` weights every note alike.
    ``progress(done, total, name)`` is called after each piece when given.
    """
    rows = []
    for index, piece in enumerate(pieces, start=1):
        rows.append(fugue_voice_figures(piece, config))
        if progress:
            progress(index, len(pieces), piece.name)
    notes = sum(row["notes"] for row in rows) or 1

    def weighted(column: str) -> float:
        return round(sum(row[column] * row["notes"] for row in rows) / notes, 4)

    return {
        "method": "beam search over onsets by pitch proximity, rests, crossings and registers "
                  "(bachgen.voices)",
        "config": {name: getattr(config, name) for name in config.__dataclass_fields__},
        "fugues": rows,
        "overall": {
            "pieces": len(rows),
            "notes": sum(row["notes"] for row in rows),
            "accuracy": weighted("accuracy"),
            "accuracy_estimated": weighted("accuracy_estimated"),
            "baseline": weighted("baseline"),
            "voice_count_right": sum(row["voices"] == row["estimated_voices"] for row in rows),
            "seconds": round(sum(row["seconds"] for row in rows), 2),
        },
    }


def format_voice_report(report: dict[str, Any]) -> str:
    """The report as a plain-text table, one fugue a line, then the overall figures."""
    lines = [f"{'fugue':<10} {'notes':>6} {'voices':>6} {'found':>6} {'right':>7} "
             f"{'right*':>7} {'ranges':>7} {'sec':>6}"]
    for row in report["fugues"]:
        lines.append(f"{row['fugue']:<10} {row['notes']:>6} {row['voices']:>6} "
                     f"{row['estimated_voices']:>6} {row['accuracy']:>7.1%} "
                     f"{row['accuracy_estimated']:>7.1%} {row['baseline']:>7.1%} "
                     f"{row['seconds']:>6.2f}")
    total = report["overall"]
    lines.append(f"{'overall':<10} {total['notes']:>6} {'':>6} "
                 f"{str(total['voice_count_right']) + '/' + str(total['pieces']):>6} "
                 f"{total['accuracy']:>7.1%} {total['accuracy_estimated']:>7.1%} "
                 f"{total['baseline']:>7.1%} {total['seconds']:>6.2f}")
    lines += [
        "",
        "right: share of notes in the score's voice (voices matched one to one), with the "
        "score's number of voices;",
        "right*: the same with the number of voices estimated (found); ranges: the baseline, "
        "fixed pitch ranges;",
        "notes: of the piano reduction (a unison of two voices is one note, right in either).",
    ]
    return "\n".join(lines)


def cmd_voices(args: argparse.Namespace) -> int:
    """``bachgen evaluate --voices [--json]``: the voice-splitting table over the corpus."""
    import sys

    from . import corpus
    from .config import CorpusConfig

    pieces = corpus.load_corpus(CorpusConfig.from_env(corpus_dir=getattr(args, "corpus_dir", None)))

    def say(done: int, total: int, name: str) -> None:
        if not args.json:
            print(f"... {done}/{total} {name}", file=sys.stderr, flush=True)

    report = voice_accuracy_report(pieces, progress=say)
    print(json.dumps(report, indent=2) if args.json else format_voice_report(report))
    return 0


def extend_evaluate_parser(parser: argparse.ArgumentParser) -> None:
    """Add ``--voices`` to ``bachgen evaluate`` (other modes keep their own handler)."""
    from .evaluate import add_evaluate_mode

    add_evaluate_mode(parser, "voices", cmd_voices,
                      "measure the voice splitting on the fugues' own voices instead")
