"""What kind of music file some bytes are: MIDI, MusicXML (plain or ``.mxl``) or kern.

Told from the bytes, not the file name: a file named ``.mid`` that holds MusicXML is read
as MusicXML (and the user told so), an audio recording or a web page is refused with one
line saying what it is and what to use instead (:class:`~bachgen.errors.SeedFileError`).
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from pathlib import PurePath
from typing import Any

from .errors import SeedFileError

FORMATS = ("midi", "musicxml", "mxl", "kern")
MIDI_SUFFIXES = (".mid", ".midi", ".kar", ".smf")
XML_SUFFIXES = (".musicxml", ".xml")
AUDIO_SUFFIXES = (".wav", ".mp3", ".ogg", ".flac", ".m4a", ".aac", ".aiff", ".aif")
MAX_XML_BYTES = 20_000_000
WHAT_TO_DO = "Choose a MIDI (.mid), MusicXML (.musicxml, .mxl) or kern (.krn) file."


def short(exc: BaseException, limit: int = 120) -> str:
    text = " ".join(str(exc).split()) or "no details"
    return text if len(text) <= limit else text[: limit - 1] + "…"



def decode_text(data: bytes) -> str | None:
    """The bytes as text when they look like text (UTF-8/16 with or without BOM), else None."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    sample = text[:4096]
    control = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f")
    return None if control > len(sample) // 100 else text


def detect_format(data: bytes, name: str = "the file") -> tuple[str, Any]:
    """``(format, payload)`` from the bytes themselves; :class:`SeedFileError` when unknown.

    ``format`` is one of :data:`FORMATS`. The payload is the MIDI bytes (a RIFF-wrapped
    ``.rmi`` is unwrapped), the MusicXML text (an ``.mxl`` archive is unpacked) or the
    kern text.
    """
    if data.startswith(b"MThd"):
        return "midi", data
    if data.startswith(b"RIFF") and data[8:12] == b"RMID":
        at = data.find(b"MThd", 12, 64)
        if at >= 0:
            return "midi", data[at:]
    if data.startswith(b"PK\x03\x04"):
        return "mxl", _unpack_mxl(data, name)
    text = decode_text(data)
    suffix = PurePath(name).suffix.lower()
    if text is not None:
        head = text.lstrip()[:2000]
        if "score-partwise" in text[:20000] or "score-timewise" in text[:20000]:
            return "musicxml", text
        if head.startswith("<"):
            raise SeedFileError(
                f"{name} is an XML or HTML file but not MusicXML.",
                "Export the music as MusicXML (.musicxml or .mxl) or MIDI.",
            )
        if "**kern" in text[:20000]:
            return "kern", text
        if suffix in MIDI_SUFFIXES:
            raise SeedFileError(
                f"{name} is named {suffix} but is a text file, not MIDI.",
                "Export the music from your program as a standard MIDI file and try again.",
            )
        raise SeedFileError(
            f"{name} is a text file but neither MusicXML nor kern (no **kern spine found).",
            WHAT_TO_DO,
        )
    if suffix in AUDIO_SUFFIXES or data[:4] in (b"RIFF", b"OggS", b"fLaC", b"ID3\x03", b"ID3\x04"):
        raise SeedFileError(
            f"{name} looks like an audio recording; recordings cannot be read as notes.",
            "Use a MIDI, MusicXML or kern file of the music instead.",
        )
    if suffix in MIDI_SUFFIXES:
        raise SeedFileError(
            f"{name} is named {suffix} but is not a MIDI file (it does not start with 'MThd').",
            "The file may be damaged; export it again from your music program.",
        )
    raise SeedFileError(f"{name} is not a MIDI, MusicXML or kern file.", WHAT_TO_DO)


def _unpack_mxl(data: bytes, name: str) -> str:
    """The MusicXML text inside a compressed ``.mxl`` archive (size-checked)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.namelist()
        target = None
        if "META-INF/container.xml" in names:
            container = archive.read("META-INF/container.xml").decode("utf-8", "replace")
            found = re.search(r"full-path\s*=\s*[\"']([^\"']+)[\"']", container)
            if found and found.group(1) in names:
                target = found.group(1)
        if target is None:
            candidates = [n for n in names if not n.startswith("META-INF/")
                          and posixpath.splitext(n)[1].lower() in (".xml", ".musicxml")]
            target = candidates[0] if candidates else None
        if target is None:
            raise SeedFileError(f"{name} is a zip archive without a MusicXML file inside.",
                                WHAT_TO_DO)
        if archive.getinfo(target).file_size > MAX_XML_BYTES:
            raise SeedFileError(f"{name} unpacks to more than {MAX_XML_BYTES // 1_000_000} MB.",
                                "Use a shorter excerpt as the seed.")
        raw = archive.read(target)
    except SeedFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, OSError, EOFError,
            NotImplementedError, RuntimeError, ValueError) as exc:
        raise SeedFileError(f"{name} is a damaged zip / .mxl archive ({short(exc)}).",
                            "Export the MusicXML again, or use uncompressed .musicxml.") from exc
    text = decode_text(raw)
    if text is None or ("score-partwise" not in text and "score-timewise" not in text):
        raise SeedFileError(f"{name} is a zip archive but holds no MusicXML score.", WHAT_TO_DO)
    return text
