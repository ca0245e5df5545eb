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
piano reduction (:func:`bachgen.reduction.normalise`, kern voices dropped) is split and
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

import itertools
import math
import time
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from . import catalog
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


def names_low_to_high(count: int) -> tuple[str, ...]:
    """:func:`voice_names` from the lowest up, in lower case, as a label names a voice
    ("bass", "alto", "soprano")."""
    return tuple(name.lower() for name in reversed(voice_names(count)))


def voice_count(piece: Piece) -> int:
    """How many voices a piece has: its labelled voices when it has more than one, else the
    :func:`estimate_voice_count` of its texture, at least 2 (a line alone is a fugue's
    opening, not its number of voices) and at most 5."""
    labelled = len(voices_of(piece))
    return labelled if labelled > 1 else max(2, min(5, estimate_voice_count(piece)))


def labelled_registers(piece: Piece) -> tuple[int, ...]:
    """Where each labelled voice of a piece lies: the mean pitch of each, low to high (empty
    when the piece has fewer than two voices)."""
    voices = voices_of(piece)
    if len(voices) < 2:
        return ()
    means = (sum(n.pitch for n in piece.notes if n.voice == v) / sum(1 for n in piece.notes if n.voice == v)
             for v in voices)
    return tuple(sorted(round(m) for m in means))


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
    catalogue fugue given by id (not a file, not a random place), or a whole fugue's own;
    else ``None``.

    ``seed`` is a :class:`bachgen.pipeline.SeedSpec` (read through its attributes, so this
    module needs no pipeline), a fugue id, or ``None``.
    """
    if seed is None:
        return None
    if getattr(seed, "own", None) is not None:
        return min(MAX_VOICES, seed.own.voices)   # a whole fugue on the user's subject
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


def split_take(piece: Piece, seed: Any = None, timings: dict[str, float] | None = None,
               pinned: Mapping[tuple[int, int], int] | None = None) -> Piece:
    """A generated take split into voices for every output: as many voices as its seed
    fugue has (:func:`seed_voice_count`), else as many as its texture shows.

    The take's notes are unchanged (only ``voice`` is set), so the same take always gives
    the same voices. The seconds spent are added to ``timings["voices"]`` when given;
    ``pinned`` notes keep the voices they were planned in (:func:`split_voices`).
    """
    started = time.perf_counter()
    voiced = split_voices(piece, seed_voice_count(seed), pinned=pinned)
    if timings is not None:
        timings["voices"] = time.perf_counter() - started
    return voiced


# --------------------------------------------------------------------------- splitting

#: One voice's memory in a partial assignment: (last pitch or -1, its start, its end).
_Slot = tuple[int, int, int]
_SILENT: _Slot = (-1, 0, 0)


def split_voices(piece: Piece, voices: int | None = None,
                 config: VoiceConfig = VoiceConfig(),
                 pinned: Mapping[tuple[int, int], int] | None = None) -> Piece:
    """``piece`` with every note's ``voice`` set: 0 = highest voice … n−1 = lowest.

    ``voices`` is the number of voices (a fugue's own count, 1–:data:`MAX_VOICES`), or
    ``None`` to estimate it (:func:`estimate_voice_count`). The notes themselves (times,
    pitches) are unchanged; whatever voices they carried are ignored. The entry point for
    every output: MIDI, score and piano roll show the voices this gives. ``pinned`` maps a
    note's ``(start, pitch)`` to the voice it must have (a whole fugue's planned entries),
    wherever the voices' pitch order allows it.
    """
    count = check_voice_count(voices) or estimate_voice_count(piece)
    notes = list(piece.notes)
    if count == 1 or not notes:
        return piece.with_notes([Note(n.start, n.duration, n.pitch, 0) for n in notes])
    pins = {i: pinned[(n.start, n.pitch)] for i, n in enumerate(notes)
            if pinned and (n.start, n.pitch) in pinned and pinned[(n.start, n.pitch)] < count}
    labels = assign_voices(notes, count, config, piece.resolution, pins)
    return piece.with_notes([Note(n.start, n.duration, n.pitch, v) for n, v in zip(notes, labels)])


def assign_voices(notes: Sequence[Note], count: int, config: VoiceConfig = VoiceConfig(),
                  resolution: int = RESOLUTION, pins: Mapping[int, int] | None = None) -> list[int]:
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
    return _search(notes, groups, count, registers, memory, config, pins or {})


def pinned_choices(group: list[int], count: int, pins: Mapping[int, int]) -> list[tuple[int, ...]]:
    """The ways to voice one onset's notes that give each pinned note its voice (all the ways
    when none does, or nothing is pinned)."""
    ways = _choices(len(group), count)
    if not any(i in pins for i in group):
        return ways
    kept = [c for c in ways if all(pins.get(i, v) == v for i, v in zip(group, c))]
    return kept or ways


def _search(notes: Sequence[Note], groups: list[list[int]], count: int,
            registers: list[float], memory: float, config: VoiceConfig,
            pins: Mapping[int, int]) -> list[int]:
    """The beam search proper: ``groups`` are the notes struck at each onset (highest
    first), ``registers`` the voices' mean pitches, ``pins`` the voices some notes must have."""
    beam: list[tuple[float, tuple[_Slot, ...]]] = [(0.0, (_SILENT,) * count)]
    history: list[list[tuple[int, tuple[int, ...]]]] = []
    for group in groups:
        struck = [notes[i] for i in group]
        options: dict[tuple[int, ...], tuple[float, int, tuple[int, ...], tuple[_Slot, ...]]] = {}
        for parent, (cost, state) in enumerate(beam):
            for choice in pinned_choices(group, count, pins):
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
