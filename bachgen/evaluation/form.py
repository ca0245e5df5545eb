"""Form in the yardstick: does the subject come back, does the piece end, is the harmony on
the beat as mild as Bach's?

Per piece (:func:`form_of`): the entries of its subject after the seed
(:func:`bachgen.subject.find_entries`), per 10 bars, at how many pitch levels and in which
voices; the ending check (:func:`bachgen.form.ending`); and the share of dissonant beats
(:func:`dissonant_beats`). Per set (:func:`form_summary`): the counts the targets ask for.
The real rows are measured the same way: Bach's stretches after the same seed, the whole
fugues' endings, and the matcher's false alarms (each stretch searched for the other 47
subjects, :func:`false_alarms`).
"""

from __future__ import annotations

import statistics as stats
from typing import Any, Sequence

from ..events import Piece
from ..form import ending
from ..harmony import dissonant
from ..subject import Subject, find_entries, per_ten_bars


def beat_ticks(piece: Piece) -> int:
    """A beat: the unit the time signature counts (a quarter in 4/4, an eighth in 6/8)."""
    return piece.resolution * 4 // piece.time_signature[1]


def dissonant_beats(piece: Piece) -> float:
    """The share of beats (from the first onset) on which the sounding notes hold a second, a
    seventh, a tritone or a fourth over the lowest (:func:`bachgen.harmony.dissonant`);
    silent beats are not counted."""
    if not piece.notes:
        return 0.0
    beat = beat_ticks(piece)
    first = min(n.start for n in piece.notes)
    t, hits, beats = -(-first // beat) * beat, 0, 0
    while t < piece.end:
        sounding = [n.pitch for n in piece.notes if n.start <= t < n.end]
        if sounding:
            beats += 1
            hits += dissonant(sounding)
        t += beat
    return hits / beats if beats else 0.0


def form_of(piece: Piece, subject: Subject | None, key: str | None = None, start: int = 0,
            close: bool = True) -> dict[str, Any]:
    """One piece's form figures: entries of ``subject`` from tick ``start`` on (per 10 bars
    of the music from there), their levels (mod 12) and voices, the ending (``close``) and
    the share of dissonant beats."""
    out: dict[str, Any] = {"dissonant_beats": round(dissonant_beats(piece), 4)}
    if subject is not None and subject.matchable and piece.notes:
        first = max(start, min(n.start for n in piece.notes))
        entries = find_entries(piece, subject, first)
        out["entries"] = len(entries)
        out["entries_per_10_bars"] = round(per_ten_bars(entries, piece.end - first, piece.bar_ticks), 3)
        out["levels"] = sorted({e.level % 12 for e in entries})
        out["voices"] = [e.voice_name for e in entries]
    if close:
        found = ending(piece, key)
        out["ending"] = found.to_dict() if found else None
    return out


def form_summary(forms: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """What the targets count over a set: pieces holding an entry (of those with a subject to
    find), the median entries per 10 bars, pieces with entries at two or more levels, the
    ending checks and the median share of dissonant beats."""
    with_subject = [f for f in forms if "entries" in f]
    endings = [f["ending"] for f in forms if f.get("ending")]
    out: dict[str, Any] = {
        "pieces": len(forms),
        "with_subject": len(with_subject),
        "dissonant_beats_median": round(stats.median(f["dissonant_beats"] for f in forms), 3) if forms else None,
    }
    if with_subject:
        out["holding_an_entry"] = sum(1 for f in with_subject if f["entries"] > 0)
        out["entries_per_10_bars_median"] = round(stats.median(f["entries_per_10_bars"] for f in with_subject), 2)
        out["two_or_more_levels"] = sum(1 for f in with_subject if len(f["levels"]) >= 2)
    if endings:
        for name in ("tonic_bass", "tonic_chord", "held", "from_dominant", "closes"):
            out[f"ending_{name}"] = sum(1 for e in endings if e[name])
    return out


def false_alarms(stretches: Sequence[Piece], subjects: Sequence[Subject | None]) -> float:
    """Entries per 10 bars "found" when each stretch is searched for the other pieces' subjects:
    how often the matcher finds a subject that is not there (the mean over all pairs)."""
    rates = []
    for i, piece in enumerate(stretches):
        if not piece.notes:
            continue
        first = min(n.start for n in piece.notes)
        for j, subject in enumerate(subjects):
            if j != i and subject is not None and subject.matchable:
                rates.append(per_ten_bars(find_entries(piece, subject, first), piece.end - first,
                                          piece.bar_ticks))
    return round(sum(rates) / len(rates), 4) if rates else 0.0
