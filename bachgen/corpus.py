"""The kern corpus: find, download, verify and cache the 48 fugues; parse them into Pieces.

music21 is imported here and nowhere else. Where the files come from, in order:

1. ``CorpusConfig.corpus_dir`` / ``$BACHGEN_CORPUS_DIR`` — a folder that already holds them;
2. the user cache, ``~/.cache/bachgen/corpus`` (see :func:`bachgen.config.default_cache_dir`),
   filled by :func:`download` (``bachgen corpus download``) from the pinned public source.

Every file is checked against the SHA-256 in :mod:`bachgen.catalog` before use. Parsed
pieces are cached as JSON keyed by file checksum and :data:`ENCODER_VERSION`, so the
slow music21 parse happens once per machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterable

from . import catalog
from .catalog import Fugue
from .config import CorpusConfig
from .errors import CorpusError, OfflineError
from .events import RESOLUTION, Note, Piece

#: Bump when the kern -> Piece conversion changes; invalidates the parse cache.
ENCODER_VERSION = 3

ProgressFn = Callable[[int, int, str], None]


# --------------------------------------------------------------------------- files


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def corpus_dir(config: CorpusConfig) -> Path:
    """The folder the kern files are read from (it may not exist yet for the cache)."""
    if config.corpus_dir:
        path = Path(config.corpus_dir).expanduser()
        if not path.is_dir():
            raise CorpusError(
                f"The corpus folder {path} does not exist.",
                "Set BACHGEN_CORPUS_DIR (or --corpus-dir) to the folder holding the 48 .krn "
                "files, or unset it to use the downloaded copy.",
            )
        return path
    return config.cache_path / "corpus"


@dataclass(frozen=True)
class FileStatus:
    """Whether one fugue's kern file is present and matches its checksum."""

    fugue: Fugue
    path: Path
    present: bool
    verified: bool


def status(config: CorpusConfig) -> list[FileStatus]:
    """Presence and checksum of every fugue's file, in catalogue order."""
    folder = corpus_dir(config)
    result = []
    for item in catalog.FUGUES:
        path = folder / item.filename
        present = path.is_file()
        verified = present and sha256_of(path) == item.sha256
        result.append(FileStatus(item, path, present, verified))
    return result


def is_complete(config: CorpusConfig) -> bool:
    """True when all 48 files are present and verified."""
    try:
        return all(s.verified for s in status(config))
    except CorpusError:
        return False


def usable(config: CorpusConfig) -> tuple[list[str], list[FileStatus]]:
    """The fugues whose files are present and verified, and the files that are not — when
    some are: one damaged or missing file loses its fugue, not the corpus. With no
    verified file at all (a machine that never downloaded it) both lists are empty of
    use: ``([], [])``, the corpus is simply not here."""
    try:
        states = status(config)
    except CorpusError:
        return [], []
    good = [s.fugue.id for s in states if s.verified]
    return good, ([s for s in states if not s.verified] if good else [])


def broken_notice(broken: list[FileStatus], kept: int) -> str:
    """One sentence naming the damaged or missing files, what is lost and what to do."""
    names = ", ".join(f"{s.path.name} ({'damaged' if s.present else 'missing'})" for s in broken)
    return (f"{names}: {'that fugue is' if len(broken) == 1 else 'those fugues are'} left out, and "
            f"the copy guard checks against the other {kept}. Run `bachgen corpus download` "
            "to fetch good copies.")


def verified_path(fugue_id: str, config: CorpusConfig) -> Path:
    """Path of a fugue's kern file after checking it exists and matches its checksum."""
    try:
        item = catalog.fugue(fugue_id)
    except KeyError:
        raise CorpusError(
            f"Unknown fugue {fugue_id!r}.",
            "Use an id from `bachgen corpus list`, e.g. wtc1f02.",
        ) from None
    path = corpus_dir(config) / item.filename
    if not path.is_file():
        raise CorpusError(
            f"The corpus file {item.filename} is missing from {path.parent}.",
            "Run `bachgen corpus download` (or set BACHGEN_CORPUS_DIR to a folder holding it).",
        )
    if sha256_of(path) != item.sha256:
        raise CorpusError(
            f"The corpus file {path} is damaged (its SHA-256 does not match).",
            "Run `bachgen corpus download` to fetch a good copy.",
        )
    return path


def download(
    config: CorpusConfig,
    ids: Iterable[str] | None = None,
    progress: ProgressFn | None = None,
) -> list[Path]:
    """Fetch missing or damaged kern files into the user cache, verifying each SHA-256.

    Each file is written to a temporary name in the cache folder and renamed into
    place only after its checksum matches, so no half or corrupt file is ever left.
    Raises :class:`OfflineError` when the source cannot be reached and
    :class:`CorpusError` when a file arrives with the wrong checksum.
    """
    folder = config.cache_path / "corpus"
    folder.mkdir(parents=True, exist_ok=True)
    mirror = (config.mirror or catalog.DEFAULT_MIRROR).rstrip("/") + "/"
    wanted = [catalog.fugue(i) for i in ids] if ids is not None else list(catalog.FUGUES)
    written = []
    for index, item in enumerate(wanted, start=1):
        target = folder / item.filename
        if not (target.is_file() and sha256_of(target) == item.sha256):
            data = _fetch(mirror + item.filename, config.timeout_s)
            digest = hashlib.sha256(data).hexdigest()
            if digest != item.sha256:
                raise CorpusError(
                    f"{item.filename} from {mirror} has the wrong checksum "
                    f"(got {digest[:12]}…, expected {item.sha256[:12]}…); nothing was saved.",
                    "The mirror may be serving another version; try again or use the default source.",
                )
            write_atomically(target, data)
            written.append(target)
        if progress:
            progress(index, len(wanted), item.id)
    return written


def _fetch(url: str, timeout_s: float) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310
            return response.read()
    except urllib.error.HTTPError as exc:
        raise CorpusError(
            f"The corpus source answered {exc.code} for {url}.",
            "Check the mirror address (--mirror / BACHGEN_CORPUS_MIRROR).",
        ) from exc
    except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise OfflineError(
            f"Cannot reach the corpus source ({url}): {reason}.",
            "You seem to be offline. Connect and run `bachgen corpus download` again, or set "
            "BACHGEN_CORPUS_DIR to a folder that already holds the 48 .krn files. "
            "Generating from your own file or from no seed still works.",
        ) from exc


def write_atomically(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a unique temporary file and a rename: readers
    (other sessions, other processes) see the old file or the whole new one, never a part."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- parsing


@dataclass
class ParseReport:
    """What the kern -> Piece conversion changed or found, so nothing is dropped silently."""

    rest_chords_fixed: int = 0
    grace_notes_dropped: int = 0
    durations_rounded: int = 0
    bar_errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "rest_chords_fixed": self.rest_chords_fixed,
            "grace_notes_dropped": self.grace_notes_dropped,
            "durations_rounded": self.durations_rounded,
            "bar_errors": list(self.bar_errors),
        }


def fix_rest_chords(text: str) -> tuple[str, int]:
    """Replace kern rest chords (``8r 8r``) by one rest.

    music21 drops a rest chord inside a split spine with only a warning, which shifts
    the rest of that voice (``wtc1f06`` from bar 43). A chord of rests means one rest.
    """
    fixed = 0
    lines = []
    for line in text.split("\n"):
        if line and line[0] not in "*!=":
            cells = line.split("\t")
            for i, cell in enumerate(cells):
                parts = cell.split(" ")
                if len(parts) > 1 and all("r" in p for p in parts):
                    cells[i] = parts[0]
                    fixed += 1
            line = "\t".join(cells)
        lines.append(line)
    return "\n".join(lines), fixed


def _ticks(quarter_length: Fraction | float, report: ParseReport) -> int:
    exact = Fraction(quarter_length).limit_denominator(10_000) * RESOLUTION
    if exact.denominator != 1:
        report.durations_rounded += 1
    return round(exact)


def parse_kern(text: str, name: str = "", key: str | None = None,
               repair: bool = True) -> tuple[Piece, ParseReport]:
    """Parse kern text with music21 into a :class:`Piece`, checking every bar.

    Tied notes become one note (they are not struck again); grace notes (zero
    duration) are dropped and counted; every bar is checked against its time
    signature (the first and last may be short) and mismatches are reported.
    ``repair=False`` skips :func:`fix_rest_chords`, to show what it prevents.
    """
    import music21  # heavy; only needed here

    report = ParseReport()
    if repair:
        text, report.rest_chords_fixed = fix_rest_chords(text)
    try:
        score = music21.converter.parseData(text, format="humdrum")
    except Exception as exc:  # music21 raises many types; this is the input boundary
        raise CorpusError(f"music21 could not parse {name or 'the kern data'}: {exc}.") from exc

    if not isinstance(score, music21.stream.Score) or not score.parts:
        raise CorpusError(f"{name or 'The kern data'} is not a single score with voices.")
    notes: list[Note] = []
    time_signature = (4, 4)
    for voice_index, part in enumerate(score.parts):
        _check_bars(part, name, voice_index, report)
        signatures = part.recurse().getElementsByClass("TimeSignature")
        if voice_index == 0 and signatures:
            time_signature = (signatures[0].numerator, signatures[0].denominator)
        for element in part.stripTies().flatten().notes:
            if element.duration.isGrace or element.duration.quarterLength == 0:
                report.grace_notes_dropped += len(element.pitches)
                continue
            start = _ticks(element.offset, report)
            duration = _ticks(element.duration.quarterLength, report)
            for pitch in element.pitches:
                notes.append(Note(start, duration, int(pitch.midi), voice_index))
    if not notes:
        raise CorpusError(f"{name or 'The kern data'} holds no notes.")
    piece = Piece(tuple(notes), RESOLUTION, name, key, time_signature,
                  meta={"parse": report.to_dict()})
    return piece, report


def _check_bars(part, name: str, voice_index: int, report: ParseReport) -> None:
    """Check that every inner bar of ``part`` is filled exactly by its notes and rests.

    A bar may hold notes directly and in split-spine layers (music21 ``Voice``s, placed
    at their own offsets). The bar is right when no element runs past the bar line and
    together they leave no gap; a dropped event (the ``wtc1f06`` trap) breaks one of both.
    """
    measures = list(part.getElementsByClass("Measure"))
    for index, measure in enumerate(measures):
        inner = 0 < index < len(measures) - 1
        bar = Fraction(measure.barDuration.quarterLength)
        spans = [(Fraction(e.offset), Fraction(e.duration.quarterLength))
                 for e in measure.getElementsByClass("GeneralNote")]
        for layer in measure.voices:
            spans += [(Fraction(layer.offset) + Fraction(e.offset), Fraction(e.duration.quarterLength))
                      for e in layer.notesAndRests]
        covered = Fraction(0)
        problem = ""
        for start, length in sorted(spans):
            if start + length > bar:
                problem = f"an event runs to {start + length} past the bar line at {bar}"
                break
            if start > covered:
                break
            covered = max(covered, start + length)
        if inner and not problem and covered != bar:
            problem = f"notes and rests fill only {covered} of {bar} quarters"
        if problem:
            report.bar_errors.append(f"{name} voice {voice_index} bar {measure.number}: {problem}")


def parse_cache_path(config: CorpusConfig, sha256: str) -> Path:
    return config.cache_path / "pieces" / f"{sha256[:24]}-v{ENCODER_VERSION}.json"


def load_piece(fugue_id: str, config: CorpusConfig) -> Piece:
    """One fugue as a Piece: verified file, parsed once, then read from the parse cache."""
    path = verified_path(fugue_id, config)
    item = catalog.fugue(fugue_id)
    cached = parse_cache_path(config, item.sha256)
    if cached.is_file():
        try:
            return Piece.from_dict(json.loads(cached.read_text()))
        except (ValueError, KeyError, TypeError):
            cached.unlink(missing_ok=True)  # a damaged cache entry is rebuilt below
    text = path.read_text(encoding="utf-8", errors="replace")
    piece, _ = parse_kern(text, name=fugue_id, key=item.key)
    piece = Piece(piece.notes, piece.resolution, fugue_id, item.key, piece.time_signature,
                  meta={**piece.meta, "fugue": fugue_id, "mode": item.mode})
    cached.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(cached, json.dumps(piece.to_dict()).encode())
    return piece


def load_corpus(config: CorpusConfig, ids: Iterable[str] | None = None) -> list[Piece]:
    """The fugues ``ids`` (default: all 48) as Pieces, in catalogue order."""
    return [load_piece(i, config) for i in (ids if ids is not None else catalog.fugue_ids())]
