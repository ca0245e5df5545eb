"""How well the voice splitting finds the fugues' own voices (``bachgen evaluate --voices``).

Each fugue's piano reduction (:func:`bachgen.reduction.normalise`, kern voices dropped) is
split (:func:`bachgen.voices.split_voices`) and compared with its kern spines, after matching
the estimated voices to the score's voices so that the most notes agree (Hungarian matching
of the confusion matrix). A unison between two voices is one key in the reduction; such a
note counts as right when it is in either of the voices that sound it. The baseline splits
the reduction by fixed pitch ranges (boundaries at the quantiles of the piece's pitches, as
many ranges as voices).
"""

from __future__ import annotations

import bisect
import itertools
import time
from typing import Any, Sequence

from ..events import Note, Piece
from ..reduction import normalise
from ..voices import VoiceConfig, estimate_voice_count, split_voices

def reduction_with_truth(piece: Piece) -> tuple[Piece, list[frozenset[int]]]:
    """The piano reduction of a scored piece (voices dropped, unisons one key,
    :func:`bachgen.reduction.normalise`) and, for each of its notes, the score's voices
    that strike that pitch at that time (two or more for a unison)."""
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
