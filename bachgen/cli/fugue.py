"""``bachgen fugue``: a whole fugue on your own subject, written to MIDI, WAV, PNG, MusicXML, SVG.

The subject is typed (``--subject "4/4 c4 d8 e f g a4"``, tinyNotation; ABC when it has
header lines), read from a one-voice file (``--subject-file``), or taken from a fugue of the
48 (``--subject-of wtc1f02``, read from the corpus you have). It is read before the model
loads, so a subject that cannot be used ends the command at once with one line. Prints the
plan (sections, entries) and the ending check; ``--json`` prints the whole summary as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from .. import catalog, corpus
from ..config import CorpusConfig, FormConfig, RenderConfig, SamplingConfig
from ..errors import ConfigError, SubjectError
from ..fugue import FUGUE_BEST_OF
from ..notation import subject_text
from ..pipeline import ComposeSettings, Composition, SeedSpec, compose, load_engine
from ..seeding import MAX_FUGUE_VOICES, OwnSubject, read_own
from ..subject import subject_of
from .common import add_chooser_option
from .generate import summary, write_output

#: The length of a fugue when none is asked for, and the shortest and longest, in bars.
DEFAULT_FUGUE_BARS, MIN_BARS, MAX_BARS = 48, 16, 96


def add_parsers(commands: Any) -> list[argparse.ArgumentParser]:
    p = commands.add_parser("fugue", help="write a whole fugue on your own subject")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--subject", help='the subject typed in tinyNotation, e.g. "4/4 c4 d8 e f g a4 g" '
                                         "(or ABC with its X:/M:/K: lines)")
    which.add_argument("--subject-file", metavar="FILE", help="a one-voice MIDI, MusicXML or kern file")
    which.add_argument("--subject-of", metavar="FUGUE", help="the subject of a fugue of the 48 (e.g. wtc1f02)")
    p.add_argument("--key", help="the subject's key (e.g. C, g, E-, f#), when not the one inferred")
    p.add_argument("--voices", type=int, default=3, help=f"voices of the fugue, 2–{MAX_FUGUE_VOICES} (default 3)")
    p.add_argument("--bars", type=int, default=DEFAULT_FUGUE_BARS, help="length in bars, 16–96 (default 48)")
    p.add_argument("--no-middle-entries", action="store_true",
                   help="only the exposition, the final entry and the close")
    p.add_argument("--keep-voices", action="store_true",
                   help="keep each entry in its voice's place: the bass's entry the lowest sounding, the top "
                        "voice's the highest (cleaner voices; the texture measures further from Bach's)")
    p.add_argument("--best-of", type=int, default=FUGUE_BEST_OF,
                   help=f"under an entry, the least harsh of this many drawn events (default {FUGUE_BEST_OF}; "
                        "1: the first drawn)")
    add_chooser_option(p)
    p.add_argument("--temperature", type=float, default=SamplingConfig.temperature)
    p.add_argument("--top-p", type=float, default=SamplingConfig.top_p)
    p.add_argument("--seed", type=int, default=None, help="random seed: the same seed, the same fugue")
    p.add_argument("--tempo", type=float, default=80.0, help="quarter notes per minute")
    p.add_argument("--soundfont", help="an .sf2 file for the audio")
    for name, what in (("midi", "MIDI file (a track per voice)"), ("wav", "audio"), ("pianoroll", "piano roll with the plan (PNG)"),
                       ("musicxml", "score (MusicXML)"), ("svg", "engraved score (SVG)")):
        p.add_argument(f"--{name}", help=f"write the {what} here")
    p.add_argument("--json", action="store_true", help="print the whole summary as JSON")
    p.add_argument("--model", help="model bundle folder (default: assets/model or $BACHGEN_MODEL_DIR)")
    p.add_argument("--corpus-dir", help="folder holding the 48 .krn files (default: $BACHGEN_CORPUS_DIR)")
    p.set_defaults(handler=cmd_fugue)
    return [p]


def own_subject(args: argparse.Namespace, corpus_settings: CorpusConfig) -> OwnSubject:
    """The subject the options give, read and checked now (a :class:`SubjectError` names
    what is wrong), before any model is loaded."""
    if args.subject_of:
        fugue = catalog.known_fugue(args.subject_of)
        piece = corpus.load_piece(fugue.id, corpus_settings)
        subject = subject_of(piece, fugue.id)
        if subject is None:
            raise SubjectError(f"{fugue.id} has no subject stated alone.", "Choose another fugue.")
        own = OwnSubject(subject=subject, time_signature=tuple(piece.time_signature), voices=args.voices)
    elif args.subject_file:
        path = Path(args.subject_file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SubjectError(f"Cannot read the subject file {path}: {exc.strerror or exc}.",
                               "Check the path.") from exc
        own = OwnSubject(file_bytes=data, file_name=path.name, key=args.key, voices=args.voices)
    else:
        own = OwnSubject(text=args.subject, key=args.key, voices=args.voices)
    read_own(own, None)  # refuse a subject that cannot be used now
    return own


def settings_of(args: argparse.Namespace, own: OwnSubject) -> ComposeSettings:
    """The compose settings of a fugue on ``own`` under the options."""
    sampling = SamplingConfig(bars=args.bars, temperature=args.temperature, top_p=args.top_p, seed=args.seed)
    form = FormConfig(entries=not args.no_middle_entries, best_of=args.best_of, keep_voices=args.keep_voices,
                      chooser=args.chooser)
    render = RenderConfig(tempo_bpm=args.tempo, audio=bool(args.wav), score=bool(args.musicxml or args.svg),
                          soundfont=args.soundfont)
    return ComposeSettings(seed=SeedSpec(fugue=None, own=own), sampling=sampling, render=render, form=form)


def plan_lines(composition: Composition) -> list[str]:
    """The fugue's plan and ending for people: the subject as tinyNotation (to type in again,
    changed), one line per section, then the ending check."""
    stats, piece = composition.stats, composition.piece
    lines = [f"{piece.name}: {stats['key']}, {composition.settings.seed.own.voices} voices, {piece.bars} bars"]
    if composition.subject is not None:
        lines.append(f"subject: {subject_text(composition.subject, tuple(piece.time_signature))}")
    for s in stats.get("sections", []):
        where = f"bars {s['from_bar']:g}–{s['to_bar']:g}"
        what = s["kind"] + (f" in {s['key'].replace('-', '♭')} ({s['voice']})" if s.get("key") else "")
        lines.append(f"  {where:<18} {what}")
    found = stats.get("ending") or {}
    lines.append(f"ending: {'closes on the tonic' if found.get('closes') else 'does not close'}"
                 f"{', from the dominant' if found.get('from_dominant') else ''}")
    return lines


def cmd_fugue(args: argparse.Namespace) -> int:
    """``bachgen fugue``: the subject and every option are checked first, then the model loads."""
    if not MIN_BARS <= args.bars <= MAX_BARS:
        raise ConfigError(f"--bars must be between {MIN_BARS} and {MAX_BARS}, not {args.bars}.")
    corpus_settings = CorpusConfig.from_env(corpus_dir=args.corpus_dir)
    own = own_subject(args, corpus_settings)
    settings = settings_of(args, own)
    engine = load_engine(args.model, corpus_settings)
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries only what this command prints
        composition = compose(settings, engine)
    written: list[str] = []
    for name, data in (("midi", composition.midi), ("wav", composition.wav), ("pianoroll", composition.png),
                       ("musicxml", composition.musicxml), ("svg", composition.svg)):
        write_output(getattr(args, name), data, written)
    if args.json:
        stats = composition.stats
        print(json.dumps({**summary(composition, written), "sections": stats.get("sections", []),
                          "planned_entries": stats.get("planned_entries", [])}, indent=2))
    else:
        print("\n".join(plan_lines(composition) + [f"wrote {path}" for path in written]))
    return 0
