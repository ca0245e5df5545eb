"""The ``bachgen`` command line: ``corpus``, ``tokens``, ``generate``, ``fugue``, ``train``, ``evaluate``, ``bench``, ``card``, ``studies``, ``serve``.

One module per group of commands (:mod:`.corpus`, :mod:`.generate`, :mod:`.train`,
:mod:`.evaluate`, :mod:`.serve`), each registering its parsers with ``add_parsers``; this module puts
them together and runs one.

Every command reports a :class:`~bachgen.errors.BachgenError` as one line on stderr
and exits with status 2; tracebacks are for bugs only. ``--json`` prints a
machine-readable summary on stdout.

stderr carries bachgen's own lines only: ``bachgen: error: ...``, ``bachgen: interrupted``
and the progress and result lines some commands print (``corpus download``, ``train``,
``card``, the ``... stage`` lines of ``bench``, ``serve``'s); ``generate`` writes nothing there but an
error. What libraries would print there (TensorFlow's and absl's start-up logging, Python
warnings, FluidSynth's complaints) is dropped by :func:`quiet_libraries`, unless
``--verbose``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import warnings
from typing import Iterator, Sequence

from ..errors import BachgenError
from . import corpus, entries, evaluate, fugue, generate, serve, train


def build_parser() -> argparse.ArgumentParser:
    """Every command and its options."""
    parser = argparse.ArgumentParser(prog="bachgen", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    nested = corpus.add_parsers(commands)
    generate.add_parsers(commands)
    fugue.add_parsers(commands)
    entries.add_parsers(commands)
    train.add_parsers(commands)
    evaluate.add_parsers(commands)
    serve.add_parsers(commands)
    for command in [parser, *commands.choices.values(), *nested]:
        _add_verbose(command, top=command is parser)
    return parser


def _add_verbose(parser: argparse.ArgumentParser, top: bool) -> None:
    """``--verbose`` before or after the command name (``bachgen generate --verbose``)."""
    parser.add_argument("--verbose", action="store_true", default=False if top else argparse.SUPPRESS,
                        help="let libraries (TensorFlow, absl, Python warnings) write their own "
                             "log lines to stderr")


# --------------------------------------------------------------------------- quiet libraries

#: Set before TensorFlow is first imported; a value the user set is kept.
QUIET_ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "2"}
#: Python loggers of libraries, held to errors while a command runs.
LIBRARY_LOGGERS = ("tensorflow", "absl", "keras", "h5py", "matplotlib", "music21", "fluidsynth")


@contextlib.contextmanager
def quiet_libraries(verbose: bool = False) -> Iterator[None]:
    """Keep libraries' own output off stderr while a command runs (the one place this is done).

    TensorFlow writes its start-up lines from C++ before its log level is read, so no
    setting hides them: file descriptor 2 goes to the null device for the command, while
    Python's ``sys.stderr``, where bachgen writes, keeps the terminal. The environment
    (:data:`QUIET_ENVIRONMENT`), Python warnings and library loggers are quietened too.
    With ``verbose`` nothing is changed.
    """
    if verbose:
        yield
        return
    for name, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    loggers = {name: logging.getLogger(name) for name in LIBRARY_LOGGERS}
    levels = {name: logger.level for name, logger in loggers.items()}
    try:
        for logger in loggers.values():
            logger.setLevel(logging.ERROR)
        with warnings.catch_warnings(), _native_stderr_to_null():
            warnings.simplefilter("ignore")
            yield
    finally:
        for name, logger in loggers.items():
            logger.setLevel(levels[name])


@contextlib.contextmanager
def _native_stderr_to_null() -> Iterator[None]:
    """Point file descriptor 2 at the null device; when ``sys.stderr`` writes to it, give
    ``sys.stderr`` a copy of the original descriptor first, so Python-level lines still
    show. Restored on the way out (the copy stays open: a logging handler may hold it)."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to keep quiet
        yield
        return
    try:
        python_fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # replaced (tests, IDEs): writes elsewhere
        python_fd = None
    original = sys.stderr
    if python_fd == 2:
        original.flush()
        sys.stderr = open(os.dup(saved), "w", buffering=1,
                          encoding=getattr(original, "encoding", None) or "utf-8",
                          errors="backslashreplace")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    try:
        yield
    finally:
        sys.stderr.flush()
        sys.stderr = original
        os.dup2(saved, 2)
        os.close(saved)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``bachgen`` command; its exit status (2: bad input, 130: interrupted)."""
    args = build_parser().parse_args(argv)
    with quiet_libraries(args.verbose):
        try:
            return args.handler(args)
        except BachgenError as exc:
            print(f"bachgen: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("bachgen: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:  # the reader stopped early (``bachgen fugue … | head``): not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0

