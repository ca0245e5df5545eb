"""A piano-roll picture (PNG) of a piece: time across, pitch up, seed and new music in two colours.

A piece whose notes carry several voices (:func:`bachgen.voices.split_voices`) is drawn
with one colour per voice (a colour-blind-safe palette, Okabe & Ito), the seed in a
lighter shade of each; a piece in a single voice keeps the two colours.

Drawn with matplotlib's object API on an Agg canvas (a :class:`matplotlib.figure.Figure`
of its own, never pyplot), so concurrent app sessions cannot disturb each other's
figures and nothing is left open after a call.

The entries of the fugue's subject (:func:`bachgen.subject.find_entries`) can be marked:
each entry's notes outlined in a dark edge, with a small label at its first note naming
its voice and key ("alto · f"), so the form of a take can be read off its roll.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Sequence

from ..errors import ConfigError, MissingDependencyError
from ..events import Piece, pitch_name
from .midi import check_tempo
from ..plan import Section
from ..subject import Entry
from ..voices import voice_names, voices_of

AXES = ("seconds", "bars")
SEED_COLOUR = "#7f8c99"   # slate grey: the music the user brought
NEW_COLOUR = "#c0392b"    # brick red: what the model wrote
SEED_LINE_COLOUR = "#2c3e50"
#: One colour per voice, highest first (Okabe & Ito's colour-blind-safe palette).
VOICE_COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9")
#: Opacity of the seed's notes when the colours show voices.
SEED_ALPHA = 0.4
#: The edge drawn round the notes of an entry of the subject, and its width in points.
ENTRY_COLOUR = "#111111"
#: The timeline's colour for each kind of section of a whole fugue.
SECTION_COLOURS = {"exposition": "#f6d58e", "episode": "#e8ecef", "entry": "#cfe3f3",
                   "final entry": "#f6d58e", "close": "#d9c7e8"}
ENTRY_LINE_WIDTH = 1.6
#: The light band behind an entry's notes, so the eye finds it among the other voices.
ENTRY_SHADE = "#fbe7a1"


@dataclass(frozen=True)
class EntryMark:
    """One entry as the roll marks it: its notes as ``(start, end, pitch)`` in ticks, and the
    label at its first note."""

    notes: tuple[tuple[int, int, int], ...]
    label: str


def key_text(key: str | None) -> str:
    """A key name as people write it: flats and sharps as signs ("e-" -> "e♭"); "" for none."""
    return (key or "").replace("-", "♭").replace("#", "♯")


def entry_label(entry: Entry, subject_key: str | None = None) -> str:
    """What an entry is called on the roll: its voice and key ("alto · f", "soprano · e♭");
    "subject" when neither is known."""
    parts = [part for part in (entry.voice_name, key_text(entry.key_name(subject_key))) if part]
    return " · ".join(parts) or "subject"


def entry_marks(piece: Piece, entries: Sequence[Entry], subject_key: str | None = None
                ) -> list[EntryMark]:
    """The boxes and labels of ``entries`` in ``piece``: each note of an entry lasts as long
    as the piece's note struck at that onset and pitch (the longest, if several); one the
    piece does not hold (an entry found in another piece) lasts to the entry's next onset. An
    entry that begins inside the one before it with the same label (a voice echoing its own
    entry) is outlined without a second label, so the labels do not overprint."""
    ends: dict[tuple[int, int], int] = {}
    for note in piece.notes:
        ends[(note.start, note.pitch)] = max(note.end, ends.get((note.start, note.pitch), 0))
    marks: list[EntryMark] = []
    shown = ""
    for entry in entries:
        onsets = list(entry.onsets)
        notes = []
        for i, (onset, pitch) in enumerate(zip(onsets, entry.pitches)):
            fallback = onsets[i + 1] if i + 1 < len(onsets) else onset + piece.resolution // 2
            notes.append((onset, ends.get((onset, pitch), fallback), pitch))
        if notes:
            label = entry_label(entry, subject_key)
            echo = bool(marks) and marks[-1].notes[-1][1] > notes[0][0] and label == shown
            marks.append(EntryMark(tuple(notes), "" if echo else label))
            shown = label
    return marks


def _pitch_ticks(low: int, high: int) -> list[int]:
    """Pitches to label on the y axis: every one for a narrow range, else every C (and the ends)."""
    if high - low <= 18:
        return list(range(low, high + 1))
    marks = [p for p in range(low, high + 1) if p % 12 == 0]
    return marks or [low, high]


def pianoroll_png(
    piece: Piece,
    seed_end_tick: int | None = None,
    tempo_bpm: float = 80,
    axis: str = "seconds",
    title: str = "",
    *,
    size_inches: tuple[float, float] = (10.0, 4.0),
    dpi: int = 100,
    entries: Sequence[Entry] = (),
    subject_key: str | None = None,
    sections: Sequence[Section] = (),
) -> bytes:
    """The piece as a piano roll, PNG bytes (``size_inches`` × ``dpi`` pixels).

    Notes starting before ``seed_end_tick`` are drawn as the seed, the rest as new
    music, with a legend and a dashed line where the seed ends (``None``: all new).
    ``axis`` is ``"seconds"`` (at ``tempo_bpm``) or ``"bars"`` (bar numbers from 1,
    using the piece's time signature). The y axis shows pitch names (C4 = middle C).
    ``entries`` (in the piece's ticks) are outlined and labelled with their voice and
    their key (the subject's key, ``subject_key``, moved by each entry's level). A whole
    fugue's plan (``sections``) is drawn as a timeline above the roll (:func:`draw_timeline`).
    """
    if axis not in AXES:
        raise ConfigError(f"Unknown piano-roll axis {axis!r}.", f"Use one of: {', '.join(AXES)}.")
    tempo = check_tempo(tempo_bpm)
    figure, _ = _figure(size_inches, dpi)
    if not sections:
        ax = figure.add_subplot(1, 1, 1)
        _draw(ax, piece, seed_end_tick, tempo, axis, title, marks=entry_marks(piece, entries, subject_key))
        return _png(figure)
    strip, ax = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": (1, 7)})
    _draw(ax, piece, seed_end_tick, tempo, axis, "", marks=entry_marks(piece, entries, subject_key),
          legend_ax=strip)
    scale, offset = axis_scale(piece, tempo, axis)
    draw_timeline(strip, sections, scale, offset, title)
    return _png(figure)


def section_label(section: Section) -> str:
    """What a section's band says: its kind, or an entry's key (flats as people write them)."""
    key = key_text(section.key)
    if section.kind == "entry":
        return key
    if section.kind == "final entry":
        return f"final · {key}"
    return "ep." if section.kind == "episode" else section.kind


def axis_scale(piece: Piece, tempo: float, axis: str) -> tuple[float, float]:
    """Units of the x axis per tick, and where tick 0 lies (seconds from 0; bars from 1)."""
    if axis == "seconds":
        return 60.0 / tempo / piece.resolution, 0.0
    return 1.0 / piece.bar_ticks, 1.0


def draw_timeline(ax, sections: Sequence[Section], scale: float, offset: float, title: str = "") -> None:
    """A whole fugue's plan on ``ax``: a band per section, coloured by kind and labelled (an
    entry with its key), above the piano roll and on its time axis."""
    left, right = ax.get_xlim()
    for section in sections:
        x0, x1 = offset + section.start * scale, offset + section.end * scale
        ax.axvspan(x0, x1, ymin=0.08, ymax=0.92, facecolor=SECTION_COLOURS.get(section.kind, "#dddddd"),
                   edgecolor="white", linewidth=1.0)
        label = section_label(section)
        x0, x1 = max(x0, left), min(x1, right)  # the part of it the roll shows
        if (x1 - x0) < len(label) * (right - left) / 190:
            continue  # too narrow to read: the colour says it
        ax.text((x0 + x1) / 2, 0.5, label, ha="center", va="center", fontsize=7, clip_on=True,
                transform=ax.get_xaxis_transform())
    ax.set_yticks([])
    ax.tick_params(axis="x", labelbottom=False, bottom=False)
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title, loc="left")


def comparison_png(rows: list[tuple[str, Piece]], tempo_bpm: float = 80, axis: str = "bars", *,
                   row_inches: float = 3.0, width_inches: float = 10.0, dpi: int = 100,
                   entries: Sequence[Sequence[Entry]] = (), subject_key: str | None = None) -> bytes:
    """Several pieces as piano rolls stacked one above the other, PNG bytes.

    Each row is ``(title, piece)`` drawn as new music on the same time axis, so a
    generation can be looked at beside the stretch of a real fugue it continues.
    ``entries`` holds each row's entries of the subject (in that row's ticks; fewer lists
    than rows: the rest have none), marked as in :func:`pianoroll_png`.
    """
    if not rows:
        raise ConfigError("Nothing to compare: give at least one piece.")
    if axis not in AXES:
        raise ConfigError(f"Unknown piano-roll axis {axis!r}.", f"Use one of: {', '.join(AXES)}.")
    tempo = check_tempo(tempo_bpm)
    figure, _ = _figure((width_inches, row_inches * len(rows)), dpi)
    axes = [figure.add_subplot(len(rows), 1, i + 1) for i in range(len(rows))]
    for i, (ax, (title, piece)) in enumerate(zip(axes, rows)):
        found = entries[i] if i < len(entries) else ()
        _draw(ax, piece, None, tempo, axis, title, legend=False,
              marks=entry_marks(piece, found, subject_key))
    right = max(ax.get_xlim()[1] for ax in axes)
    for ax in axes:
        ax.set_xlim(ax.get_xlim()[0], right)
    return _png(figure)


def _figure(size_inches: tuple[float, float], dpi: int):
    """A Figure on its own Agg canvas (never pyplot), or a clear error without matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise MissingDependencyError(
            "The piano roll needs matplotlib, which is not installed.",
            "Install it with: pip install matplotlib (MIDI and audio still work).",
        ) from exc
    figure = Figure(figsize=size_inches, dpi=dpi)
    return figure, FigureCanvasAgg(figure)


def _png(figure) -> bytes:
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _draw(ax, piece: Piece, seed_end_tick: int | None, tempo: float, axis: str, title: str,
          legend: bool = True, marks: Sequence[EntryMark] = (), legend_ax=None) -> None:
    """One piano roll on ``ax``: boxes for notes, pitch names up the side, entries marked."""
    if axis == "seconds":
        scale = 60.0 / tempo / piece.resolution
        offset = 0.0
        xlabel = f"time (seconds at {tempo:g} quarter notes per minute)"
    else:
        scale = 1.0 / piece.bar_ticks
        offset = 1.0
        xlabel = "bar"

    handles = _draw_notes(ax, piece, seed_end_tick, scale, offset)
    handles += _draw_entries(ax, marks, scale, offset)
    if piece.notes:
        low = min(n.pitch for n in piece.notes)
        high = max(n.pitch for n in piece.notes)
        end = offset + piece.end * scale
    else:
        low, high, end = 60, 72, offset + 1.0
        ax.text(0.5, 0.5, "no notes", transform=ax.transAxes, ha="center", va="center",
                color="grey")
    if seed_end_tick is not None and 0 < seed_end_tick:
        seed_x = offset + seed_end_tick * scale
        ax.axvline(seed_x, color=SEED_LINE_COLOUR, linestyle="--", linewidth=1)
        end = max(end, seed_x)
    ax.set_xlim(offset, end if end > offset else offset + 1.0)
    ax.set_ylim(low - 1.5, high + (4.5 if marks else 1.5))  # room for a label above the top
    ticks = _pitch_ticks(low, high)
    ax.set_yticks(ticks)
    ax.set_yticklabels([pitch_name(p) for p in ticks])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("pitch")
    ax.grid(axis="y", color="#dddddd", linewidth=0.5)
    ax.set_axisbelow(True)
    if title:
        ax.set_title(title, loc="left")
    if handles and legend:  # above the plot (and its timeline), right, so it never hides notes
        (legend_ax or ax).legend(handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.0),
                  ncol=min(len(handles), 6), fontsize="small", frameon=False, borderaxespad=0.2)


def _draw_notes(ax, piece: Piece, seed_end_tick: int | None, scale: float, offset: float) -> list:
    """The notes as boxes on ``ax``, one PolyCollection per colour; the legend's handles.

    One voice: seed grey and new music red. Several: a colour per voice (seed notes
    lighter), labelled with the voice names.
    """
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch

    voices = voices_of(piece)
    by_voice = len(voices) > 1
    boxes: dict[tuple[int, bool], list[list[tuple[float, float]]]] = {}
    for note in piece.notes:
        is_seed = seed_end_tick is not None and note.start < seed_end_tick
        x0, x1 = offset + note.start * scale, offset + note.end * scale
        y0, y1 = note.pitch - 0.4, note.pitch + 0.4
        slot = (note.voice if by_voice else 0, is_seed)
        boxes.setdefault(slot, []).append([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
    if not by_voice:
        handles = []
        for is_seed, colour, label in ((True, SEED_COLOUR, "seed"), (False, NEW_COLOUR, "new music")):
            if boxes.get((0, is_seed)):
                ax.add_collection(PolyCollection(boxes[(0, is_seed)], facecolors=colour,
                                                 edgecolors="none"))
                handles.append(Patch(facecolor=colour, label=label))
        return handles
    names = voice_names(voices[-1] + 1)
    for (voice, is_seed), polygons in sorted(boxes.items()):
        ax.add_collection(PolyCollection(polygons, facecolors=voice_colour(voice),
                                         edgecolors="none", alpha=SEED_ALPHA if is_seed else 1.0))
    handles = [Patch(facecolor=voice_colour(v), label=names[v]) for v in voices]
    if any(is_seed for _, is_seed in boxes):
        handles.append(Patch(facecolor=SEED_COLOUR, alpha=SEED_ALPHA, label="seed (lighter)"))
    return handles


def _draw_entries(ax, marks: Sequence[EntryMark], scale: float, offset: float) -> list:
    """Each entry's notes outlined (one PolyCollection for all) and its label just above its
    first note; the legend's handle (none without entries)."""
    if not marks:
        return []
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch

    boxes, spans = [], []
    for mark in marks:
        for start, end, pitch in mark.notes:
            x0, x1 = offset + start * scale, offset + end * scale
            boxes.append(_box(x0, x1, pitch - 0.55, pitch + 0.55))
        x0 = offset + min(n[0] for n in mark.notes) * scale
        x1 = offset + max(n[1] for n in mark.notes) * scale
        low, high = min(n[2] for n in mark.notes), max(n[2] for n in mark.notes)
        spans.append(_box(x0, x1, low - 1.0, high + 1.0))
        if not mark.label:
            continue
        ax.text(x0, high + 1.2, mark.label, fontsize=8, color=ENTRY_COLOUR, ha="left", va="bottom",
                zorder=4, bbox={"boxstyle": "round,pad=0.15", "facecolor": "white",
                                "edgecolor": "none", "alpha": 0.85})
    ax.add_collection(PolyCollection(spans, facecolors=ENTRY_SHADE, edgecolors="none", zorder=0.5))
    ax.add_collection(PolyCollection(boxes, facecolors="none", edgecolors=ENTRY_COLOUR,
                                     linewidths=ENTRY_LINE_WIDTH, zorder=3))
    return [Patch(facecolor=ENTRY_SHADE, edgecolor=ENTRY_COLOUR, linewidth=ENTRY_LINE_WIDTH,
                  label="subject entry")]


def _box(x0: float, x1: float, y0: float, y1: float) -> list[tuple[float, float]]:
    """The corners of a rectangle, for a PolyCollection."""
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def voice_colour(voice: int) -> str:
    """The piano-roll colour of voice ``voice`` (0 = highest); the palette repeats."""
    return VOICE_COLOURS[voice % len(VOICE_COLOURS)]
