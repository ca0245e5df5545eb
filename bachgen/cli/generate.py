"""``bachgen generate``: new music from the command line, written to MIDI, WAV, PNG, MusicXML, SVG.

Prints a JSON summary (events, notes, seconds of music, loop recoveries, longest copied
run, seconds per stage). ``--fugue all --out-dir DIR`` makes one piece from each of the
48 fugues. A seed file that cannot be used ends the command with one line and status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import catalog, corpus, seeds
from ..config import DEFAULT_BARS, SNAP_MODES, CorpusConfig, RenderConfig, SamplingConfig
from ..errors import ConfigError, SeedFileError
from ..evaluation.statistics import new_music
from ..pipeline import ComposeSettings, Composition, SeedSpec, compose, load_engine
from ..seeding import real_continuation
from ..render.pianoroll import comparison_png
from ..subject import find_entries, subject_of
from .common import add_form_options, form_config

#: Options naming one output file each (``--fugue all`` writes into ``--out-dir`` instead).
OUTPUT_FLAGS = ("midi", "wav", "pianoroll", "musicxml", "svg", "compare")


def add_parsers(commands: Any) -> list[argparse.ArgumentParser]:
    """Register ``bachgen generate``."""
    p = commands.add_parser("generate", help="write new music in the style of the fugues")
    p.add_argument("--fugue", default="wtc1f02",
                   help="seed fugue id (e.g. wtc1f02), 'random' for a random place, 'none' for no "
                        "seed, or 'all' for one piece per fugue (needs --out-dir)")
    p.add_argument("--start-bar", type=int, default=1, help="bar of the fugue the seed starts at")
    p.add_argument("--seed-file", help="your own MIDI / MusicXML / kern file as the seed")
    p.add_argument("--continue", dest="continue_take", metavar="TAKE",
                   help="a take (its MIDI file) to continue: all of it is kept and --events new "
                        "events follow its end (spelled model)")
    p.add_argument("--keep-bars", type=int, default=None, metavar="N",
                   help="with --continue: keep only the take's first N bars and write the rest again")
    p.add_argument("--bars", type=int, default=None,
                   help=f"bars of new music; the take ends with a close (default {DEFAULT_BARS}, "
                        "unless --events is given)")
    p.add_argument("--events", type=int, default=None,
                   help="write this many new events instead of a length in bars (no close: left open)")
    add_form_options(p)
    p.add_argument("--temperature", type=float, default=SamplingConfig.temperature)
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--top-p", type=float, default=SamplingConfig.top_p,
                   help="nucleus sampling: keep the likeliest tokens up to this probability (1: off)")
    p.add_argument("--seed", type=int, default=None, help="random seed (same seed, same music)")
    p.add_argument("--candidates", type=int, default=1, help="pieces drawn at once; the best is kept")
    p.add_argument("--copy-limit", type=int, default=SamplingConfig.copy_limit,
                   help="longest run of events allowed to copy the corpus (0: no check)")
    p.add_argument("--snap", default=RenderConfig.snap, choices=list(SNAP_MODES),
                   help="key treatment of the output (default: off, the model keeps its seed's key)")
    p.add_argument("--tempo", type=float, default=80.0, help="quarter notes per minute")
    p.add_argument("--with-seed", action="store_true", help="put the seed excerpt before the new music")
    p.add_argument("--soundfont", help="an .sf2 file for the audio")
    p.add_argument("--midi", help="write the MIDI file here")
    p.add_argument("--wav", help="write the audio here")
    p.add_argument("--pianoroll", help="write the piano roll (PNG) here")
    p.add_argument("--musicxml", help="write the score (MusicXML) here")
    p.add_argument("--svg", help="write the engraved score (SVG) here")
    p.add_argument("--compare", metavar="PNG",
                   help="also draw the fugue's own continuation of the seed above the new music "
                        "(piano rolls on one bar axis; needs a fugue seed and the corpus)")
    p.add_argument("--out-dir", help="with --fugue all: folder for <fugue>.mid/.wav/.png")
    p.add_argument("--model", help="model bundle folder (default: assets/model or $BACHGEN_MODEL_DIR)")
    p.add_argument("--corpus-dir", help="folder holding the 48 .krn files (default: $BACHGEN_CORPUS_DIR)")
    p.add_argument("--step", default="numpy", choices=["numpy", "tf"], help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_generate)
    return [p]


def _length(args: argparse.Namespace) -> dict[str, Any]:
    """The take's length: ``--bars``, or ``--events`` (then no close), or the default bars."""
    if args.bars is not None and args.events is not None:
        raise ConfigError("Give the length as --bars or as --events, not both.")
    if args.events is not None:
        return {"events": args.events, "bars": None}
    return {"bars": args.bars if args.bars is not None else DEFAULT_BARS}


def _settings(args: argparse.Namespace, fugue: str | None, all_outputs: bool):
    """The compose settings the options ask for, checked (:class:`ConfigError` for a value
    out of range, :class:`SeedFileError` for a seed file that cannot be used)."""
    if args.continue_take:
        seed = replace(_seed_file_spec(Path(args.continue_take)), continue_take=args.keep_bars is None,
                       keep_bars=args.keep_bars)
    elif args.seed_file:
        seed = _seed_file_spec(Path(args.seed_file))
    elif fugue == "random":
        seed = SeedSpec(fugue=None, random_place=True)
    elif fugue in (None, "none"):
        seed = SeedSpec(fugue=None)
    else:
        seed = SeedSpec(fugue=fugue, start_bar=args.start_bar)
    sampling = SamplingConfig(**_length(args), temperature=args.temperature, top_k=args.top_k,
                              top_p=args.top_p, seed=args.seed, candidates=args.candidates,
                              copy_limit=args.copy_limit)
    form = form_config(args)
    render = RenderConfig(tempo_bpm=args.tempo, snap=args.snap, include_seed=args.with_seed,
                          audio=bool(args.wav) or all_outputs,
                          score=bool(args.musicxml or args.svg), soundfont=args.soundfont)
    return ComposeSettings(seed=seed, sampling=sampling, render=render, form=form)


def _seed_file_spec(path: Path):
    """The seed from the user's file, read and parsed now, before any model is loaded, so a
    file that is missing, empty or not music is refused at once (compose reads the bytes
    again later: milliseconds)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SeedFileError(f"Cannot read the seed file {path}: {exc.strerror or exc}.",
                            "Check the path.") from exc
    piece, _ = seeds.load_seed_file(data, path.name)
    if not piece.notes:
        raise SeedFileError(f"{path.name} holds no notes to start from.",
                            "Use a file with at least a few notes.")
    return SeedSpec(fugue=None, file_bytes=data, file_name=path.name)


def check_options(args: argparse.Namespace, corpus_settings: CorpusConfig) -> None:
    """Refuse options that cannot work together or name nothing, before the model loads."""
    if args.keep_bars is not None and not args.continue_take:
        raise ConfigError("--keep-bars needs --continue TAKE (the take whose first bars are kept).")
    if args.continue_take and (args.seed_file or args.fugue == "all"):
        raise ConfigError("--continue takes its seed from the take; leave out --seed-file and --fugue all.")
    if args.fugue == "all":
        if not args.out_dir:
            raise ConfigError("--fugue all needs --out-dir FOLDER.")
        if args.seed_file:
            raise ConfigError("--fugue all and --seed-file cannot be used together.")
        for flag in OUTPUT_FLAGS:
            if getattr(args, flag):
                raise ConfigError(f"--fugue all writes into --out-dir; leave out --{flag}.")
    elif args.fugue not in ("none", "random"):
        try:
            catalog.fugue(args.fugue)
        except KeyError:
            raise ConfigError(f"Unknown fugue {args.fugue!r}.",
                              "Use an id from `bachgen corpus list` (e.g. wtc1f02), random, none or all.") from None
    if args.soundfont and not Path(args.soundfont).expanduser().is_file():
        raise ConfigError(f"The soundfont {args.soundfont} does not exist.",
                          "Give the path of an .sf2 file, or leave out --soundfont for the default piano.")
    for flag in OUTPUT_FLAGS:
        if getattr(args, flag) and Path(getattr(args, flag)).is_dir():
            raise ConfigError(f"--{flag} {getattr(args, flag)} is a folder; give a file name.")
    if args.compare:
        _check_compare(args)
    _check_start_bar(args, corpus_settings)


def _check_compare(args: argparse.Namespace) -> None:
    """``--compare`` draws the fugue's own continuation: it needs a fugue seed."""
    if args.seed_file or args.continue_take or args.fugue in ("none", "random"):
        raise ConfigError("Only a seed from a fugue has a real continuation to compare with.",
                          "Choose a fugue (e.g. --fugue wtc1f02) or leave out --compare.")


def _check_start_bar(args: argparse.Namespace, corpus_settings: CorpusConfig) -> None:
    """``--start-bar`` within the seed fugue (its bars are counted from the corpus file,
    which a fugue seed needs anyway)."""
    if args.start_bar < 1:
        raise ConfigError("--start-bar must be 1 or more.")
    if args.start_bar == 1 or args.seed_file or args.continue_take or args.fugue in ("all", "none", "random"):
        return
    piece = corpus.load_piece(args.fugue, corpus_settings)
    bars = piece.bars
    if args.start_bar > bars:
        raise ConfigError(f"--start-bar must be between 1 and {bars} for {args.fugue}.")


def _comparison(settings, engine: Any, composition) -> bytes:
    """The real continuation of the seed above the new music, as one PNG (see ``--compare``),
    as long as the take (its bars, or its events), each with its entries of the fugue's
    subject outlined."""
    sampling = settings.sampling
    made = new_music(composition.piece, composition.seed_end_tick)
    if sampling.bars is not None:
        real = real_continuation(settings.seed, engine, 20_000)
        real = real.with_notes([n for n in real.notes if n.start < made.end])
        length = f"{sampling.bars} bars"
    else:
        real = real_continuation(settings.seed, engine, sampling.events)
        length = f"{sampling.events} events"
    name = settings.seed.fugue
    subject = subject_of(engine.corpus_pieces()[name])
    real_entries = find_entries(real, subject) if subject is not None and subject.matchable else []
    return comparison_png([(f"Bach: {name}, the {length} after the seed", real),
                           (f"bachgen: {length} from the same seed", made)],
                          settings.render.tempo_bpm, axis="bars", entries=[real_entries, composition.entries],
                          subject_key=subject.key if subject is not None else None)


def write_output(path: str | None, data: bytes | str | None, written: list[str]) -> None:
    """Write ``data`` to ``path`` (folders made as needed) and note it in ``written``; nothing
    without a path or data."""
    if not path or data is None:
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        target.write_text(data, encoding="utf-8")
    else:
        target.write_bytes(data)
    written.append(str(target))


def summary(composition: Composition, written: list[str]) -> dict[str, Any]:
    """What ``bachgen generate`` prints for one take: its size, guards, seed, key, its subject,
    the entries found after the seed and the ending check, the seconds of each stage, notices
    and the files written."""
    stats = composition.stats
    return {
        "events": stats["events"],
        "notes": stats["notes"],
        "seconds_of_music": stats["seconds"],
        "loop_recoveries": stats["loops_taken_back"],
        "longest_copied_run": stats["longest_copied_run"],
        "seed": stats["seed_source"],
        "random_seed": stats["random_seed"],
        "key": stats["key"],
        "subject": stats.get("subject"),
        "entries": stats.get("entries", []),
        "ending": stats.get("ending"),
        "timings_s": {k: round(v, 3) for k, v in composition.timings.items()},
        "notices": composition.notices,
        "files": written,
    }


def cmd_generate(args: argparse.Namespace) -> int:
    """``bachgen generate``: every option and the seed file are checked first; only then is
    the model loaded (without TensorFlow)."""
    corpus_settings = CorpusConfig.from_env(corpus_dir=args.corpus_dir)
    check_options(args, corpus_settings)
    if args.fugue != "all":
        settings = _settings(args, args.fugue, all_outputs=False)
        return _generate_one(args, settings, load_engine(args.model, corpus_settings, backend=args.step))
    plans = [(fugue_id, _settings(args, fugue_id, all_outputs=True)) for fugue_id in catalog.fugue_ids()]
    return _generate_all(Path(args.out_dir), plans, load_engine(args.model, corpus_settings, backend=args.step))


def _generate_all(out: Path, plans: list[tuple[str, Any]], engine: Any) -> int:
    """One piece per fugue into ``out`` as ``<fugue>.mid/.wav/.png``; one JSON summary."""
    pieces = []
    for fugue_id, settings in plans:
        with contextlib.redirect_stdout(sys.stderr):
            composition = compose(settings, engine)
        written: list[str] = []
        write_output(str(out / f"{fugue_id}.mid"), composition.midi, written)
        write_output(str(out / f"{fugue_id}.wav"), composition.wav, written)
        write_output(str(out / f"{fugue_id}.png"), composition.png, written)
        pieces.append({"fugue": fugue_id, **summary(composition, written)})
    print(json.dumps({"pieces": pieces}, indent=2))
    return 0


def _generate_one(args: argparse.Namespace, settings: Any, engine: Any) -> int:
    """One piece into the files the options name; the JSON summary on stdout."""
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the JSON summary
        composition = compose(settings, engine)
    written: list[str] = []
    write_output(args.midi, composition.midi, written)
    write_output(args.wav, composition.wav, written)
    write_output(args.pianoroll, composition.png, written)
    write_output(args.musicxml, composition.musicxml, written)
    write_output(args.svg, composition.svg, written)
    if args.compare:
        write_output(args.compare, _comparison(settings, engine, composition), written)
    print(json.dumps(summary(composition, written), indent=2))
    return 0
