"""The one exception family of bachgen.

Every error that reaches a user (CLI, app) is a :class:`BachgenError` whose
message says what is wrong and what to do about it. Errors are raised where
input enters the program (files, uploads, options, the network), never
swallowed in the middle.
"""

from __future__ import annotations


class BachgenError(Exception):
    """A problem the user can understand and act on.

    ``message`` says what went wrong; ``hint`` (optional) says what to do.
    ``str(error)`` joins both into one readable line.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class ConfigError(BachgenError):
    """An option or configuration value is out of range or malformed."""


class CorpusError(BachgenError):
    """The kern corpus is missing, corrupt or cannot be parsed."""


class OfflineError(CorpusError):
    """The corpus source could not be reached over the network."""


class BundleError(BachgenError):
    """The model bundle is missing, truncated or inconsistent."""


class SeedFileError(BachgenError):
    """A user-supplied music file cannot be used as a seed."""


class RenderError(BachgenError):
    """A renderer (audio, score) could not produce its output."""


class MissingDependencyError(RenderError):
    """An optional library (FluidSynth, verovio) is not available."""


class SubjectError(BachgenError):
    """A fugue subject the user wrote or brought cannot be used: the message names the token,
    note or bar at fault, the hint what to write instead."""


class ServeError(BachgenError):
    """The page's replicas or their load balancer could not be started, or one of them
    stopped while serving (see :mod:`bachgen.replicas`)."""
