"""What the page's player in the browser draws and plays along with a take's MIDI file: its
notes with their voices, the voices (name, colour, MIDI channel), the subject's entries
outlined, the bars and the tempo — plain data, sent to the browser as JSON.

The notes are those the MIDI file holds (:func:`bachgen.render.midi.voice_parts`, each voice
a piano reduction), so the roll shows what sounds; each voice's channel is the one
pretty_midi writes it on, so a voice can be muted in the browser's synthesizer. The colours
and labels are the still piano roll's (:mod:`bachgen.render.pianoroll`).
"""

from __future__ import annotations

from typing import Any, Sequence

from ..events import Piece
from ..reduction import normalise
from ..subject import Entry
from ..voices import voices_of
from .midi import check_tempo, voice_parts
from ..plan import Section
from .pianoroll import NEW_COLOUR, SECTION_COLOURS, entry_marks, section_label, voice_colour

#: The MIDI channels pretty_midi gives a file's tracks, in order (channel 10, drums, skipped).
MIDI_CHANNELS = tuple(c for c in range(16) if c != 9)


def player_take(piece: Piece, tempo_bpm: float, *, take_id: int, seed_end_tick: int | None = None,
                entries: Sequence[Entry] = (), subject_key: str | None = None,
                sections: Sequence[Section] = (), autoplay: bool = True,
                partial: bool = False) -> dict[str, Any]:
    """The take as the browser's player needs it (JSON-ready).

    ``notes`` are ``[start, end, pitch, voice]`` in the piece's ticks, ``voice`` an index
    into ``voices`` (``{"name", "colour", "channel"}``, highest voice first); ``entries``
    are ``{"notes": [[start, end, pitch], ...], "label"}``; ``tempo`` is the MIDI file's
    (quarter notes a minute) and ``resolution`` the ticks of a quarter, so a note's second
    in the file is its tick × 60 / (tempo × resolution); a whole fugue's plan is ``sections``
    (``{"start", "end", "kind", "label", "colour"}``, as the still roll's timeline draws them).
    ``autoplay``: play it on arrival. ``partial``: only the take's opening
    (:class:`bachgen.pipeline.Opening`), heard while the rest is drawn; the whole take
    follows with the same ``id`` and the player goes on with it from where it is.
    """
    tempo = check_tempo(tempo_bpm)
    several = len(voices_of(piece)) > 1
    voices, notes = [], []
    for slot, (name, part) in enumerate(voice_parts(piece)):
        colour = voice_colour(part.notes[0].voice) if several and part.notes else NEW_COLOUR
        voices.append({"name": name if several else "Piano", "colour": colour,
                       "channel": MIDI_CHANNELS[slot % len(MIDI_CHANNELS)]})
        notes += [[n.start, n.end, n.pitch, slot] for n in normalise(part).notes]
    notes.sort()
    seconds_per_tick = 60.0 / tempo / piece.resolution
    end = max((n[1] for n in notes), default=piece.bar_ticks)
    return {
        "id": int(take_id),
        "title": piece.name,
        "tempo": tempo,
        "resolution": piece.resolution,
        "bar_ticks": piece.bar_ticks,
        "total_ticks": max(end, piece.bar_ticks),
        "first_note_s": notes[0][0] * seconds_per_tick if notes else 0.0,
        "seed_end_tick": seed_end_tick or 0,
        "voices": voices,
        "notes": notes,
        "entries": [{"notes": [list(n) for n in mark.notes], "label": mark.label}
                    for mark in entry_marks(piece, entries, subject_key)],
        "sections": [{"start": s.start, "end": s.end, "kind": s.kind, "label": section_label(s),
                      "colour": SECTION_COLOURS.get(s.kind, "#dddddd")} for s in sections],
        "autoplay": bool(autoplay),
        "partial": bool(partial),
    }
