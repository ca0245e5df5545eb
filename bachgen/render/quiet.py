"""Libraries that print on import, imported once and quietly.

pyfluidsynth prints where it found its library when ``CI`` is set in the environment, and
pretty_midi imports it; stdout carries a command's JSON, so that line is kept off it.
``contextlib.redirect_stdout`` swaps ``sys.stdout`` for the whole process, so two threads
that redirect at once can leave it pointing at the other's buffer: the import is done
once, under a lock, and a module already imported is returned without any redirect.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import sys
import threading
from types import ModuleType

_LOCK = threading.Lock()


def quiet_import(name: str) -> ModuleType:
    """The module ``name``, imported with its printing kept off stdout (once, thread-safe)."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    with _LOCK, contextlib.redirect_stdout(io.StringIO()):
        return importlib.import_module(name)
