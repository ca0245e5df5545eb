"""The page from top to bottom: title, corpus, sidebar, the model, the Generate button, the
session's takes, then (once the newest take's audio is on the page) its timing line and
its score.
"""

from __future__ import annotations

import logging
import os
import random
import time
from typing import Any

import streamlit as st

from bachgen.errors import BachgenError
from bachgen.ui.take_record import log_timings
from bachgen.ui.controls import controls
from bachgen.ui.corpus_panel import corpus_panel
from bachgen.ui.listen import browser_plays, opening_shown, player_panel
from bachgen.ui.resources import engraver, load_engine, player_synth
from bachgen.ui.takes import engrave, generate, results

log = logging.getLogger("bachgen.app")


def init_state() -> None:
    """The session's first values: no takes yet, online, a random seed."""
    state = st.session_state
    state.setdefault("takes", [])
    state.setdefault("take_counter", 0)
    state.setdefault("offline", False)
    if "seed" not in state:
        state["seed"] = random.randint(0, 99_999)


def page_engine() -> Any:
    """The shared engine for the environment's model and corpus, or ``None`` after saying on
    the page why it could not be loaded. With an engine, the score worker and the player's
    synthesizers are started too, early."""
    try:
        engine = load_engine(os.environ.get("BACHGEN_MODEL_DIR", ""),
                             os.environ.get("BACHGEN_CORPUS_DIR", ""))
    except BachgenError as exc:
        st.error(str(exc))
        engine = None
    except Exception as exc:  # the model could not be loaded at all
        log.exception("loading the engine failed")
        st.error(f"The model could not be loaded ({type(exc).__name__}: {exc}).")
        engine = None
    if engine is not None:
        engraver()  # start the score worker early (and the server's player, if it plays)
        if not browser_plays():
            player_synth("")
    return engine


def main(run_started: float) -> None:
    """The page, once the page is configured; ``run_started`` (epoch seconds) is when this
    run of the page began, for the take's timing record."""
    init_state()
    st.title("bachgen")
    st.caption("New music in the style of J.S. Bach, written by a network that has read the 48 "
               "fugues of the Well-Tempered Clavier.")

    # What these say varies from run to run; each in a container of its own, so that the
    # player below keeps its place on the page (and its frame, with the piano loaded).
    with st.container():
        have_corpus = corpus_panel()
    controls(have_corpus)
    with st.container():
        engine = page_engine()

    shape = st.session_state.pop("shape", None)
    clicked = st.button("Generate", type="primary", key="generate", disabled=engine is None,
                        icon=":material/music_note:")
    player_slot = st.container()  # the same place in every run: the player stays loaded
    made = None
    if clicked:
        made = generate(engine, run_started, None, player_slot)
    elif shape is not None and engine is not None:
        made = generate(engine, run_started, shape, player_slot)
    opened = opening_shown()  # the player has this take's opening (drawn once per run)
    if opened and made is not None:
        st.rerun()  # the page runs again for the whole take
    if not opened:  # (a take that could not be finished leaves its error and its opening)
        player_panel(player_slot)
    latest, slot = results(engine)
    if latest is not None and latest["trace"].get("audio_sent_at") and \
            "page_done_at" not in latest["trace"]:
        latest["trace"]["page_done_at"] = time.time()  # statistics and quality drawn too
        log_timings("take", latest)
    if latest is not None and latest["score_wanted"] and not latest["score_tried"]:
        engrave(latest, slot)  # after the audio is on the page
        st.rerun()
