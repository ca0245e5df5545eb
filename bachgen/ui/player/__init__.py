"""The page's player, a Streamlit custom component: the take's MIDI file synthesized in the
browser (spessasynth_lib's SoundFont synthesizer in an AudioWorklet) with a piano roll drawn
from the take's notes, a playhead that follows the sound, solo and mute for each voice, the
tempo changed while it plays, and play from a bar or from a click on the roll.

The front end lives in ``frontend/`` (``src/``, ``package.json``, ``package-lock.json``);
``make setup`` installs it with ``npm ci`` and builds it into ``frontend/build/`` (not under
version control), which this module declares as the component's ``path``: the app serves
every file the player needs itself (script, AudioWorklet processor, SoundFont). The SoundFont
is copied beside them when the player is first declared (:func:`ensure_soundfont`): the piano
the WAV download is rendered with, or the small one when that is too large for a browser.

The component sends a value back only when the browser cannot play (``{"webaudio": false,
"reason": ...}``): the page then falls back on the server's audio (:mod:`bachgen.ui.listen`).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable

import streamlit as st
import streamlit.components.v1 as components

from bachgen.errors import BachgenError

FRONTEND_DIR = Path(__file__).resolve().parent / "frontend"
BUILD_DIR = FRONTEND_DIR / "build"
#: What ``npm run build`` writes (the SoundFont is added by :func:`ensure_soundfont`).
BUILT_FILES = ("index.html", "player.js", "player.css", "spessasynth_processor.min.js")
SOUNDFONT_FILE = "piano.sf2"
COMPONENT_NAME = "bachgen_player"
#: Said once when the front end is missing.
NOT_BUILT = ("The in-browser player is not built (make setup builds it with npm), so the "
             "server plays each take instead.")


def built(build_dir: Path = BUILD_DIR) -> bool:
    """Whether the front end has been built (every file of :data:`BUILT_FILES` is there)."""
    return all((build_dir / name).is_file() for name in BUILT_FILES)


def ensure_soundfont(soundfont: str | None = None, build_dir: Path = BUILD_DIR) -> Path:
    """The player's SoundFont in the build folder, copied there (atomically) when it is
    missing or differs in size or time from the one chosen
    (:func:`bachgen.render.audio.browser_soundfont`)."""
    from bachgen.render.audio import browser_soundfont

    source = browser_soundfont(soundfont)
    target = build_dir / SOUNDFONT_FILE
    have, want = (target.stat() if target.is_file() else None), source.stat()
    if have is None or have.st_size != want.st_size or int(have.st_mtime) != int(want.st_mtime):
        partial = target.with_suffix(".partial")
        shutil.copy2(source, partial)
        partial.replace(target)
    return target


@st.cache_resource(show_spinner=False)
def player_component() -> tuple[Callable[..., Any] | None, str | None]:
    """The declared component (once per server), or ``None`` and why there is none.

    pandas is imported here, when the page opens: Streamlit's component call checks every
    argument for a data frame and imports pandas the first time — 0.8 s on the first take's
    way to the sound (the page's tables import it later anyway)."""
    import pandas  # noqa: F401

    if not built():
        return None, NOT_BUILT
    try:
        ensure_soundfont()
    except (BachgenError, OSError) as exc:
        return None, f"The in-browser player has no piano ({exc}); the server plays each take."
    return components.declare_component(COMPONENT_NAME, path=str(BUILD_DIR)), None


def player(take: dict[str, Any] | None, midi: bytes | None, key: str = "player") -> Any:
    """Draw the player with ``take`` (:func:`bachgen.render.player_data.player_take`, or
    ``None``: nothing to play yet, the piano loads) and its MIDI file; what the browser sent
    back (``None``, or ``{"webaudio": False, "reason": ...}``). Call
    :func:`player_component` first to know whether there is a player."""
    component, _ = player_component()
    if component is None:
        return None
    return component(take=take, midi=midi, soundfont=SOUNDFONT_FILE, key=key, default=None)
