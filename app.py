"""bachgen — the Streamlit page.

This file is the script Streamlit runs: it configures the page and calls
:func:`bachgen.ui.page.main`. The page itself lives in :mod:`bachgen.ui` (see its
docstring for how it works: shared model, audio first, score afterwards, takes kept per
session, errors as messages, one ``bachgen take {...}`` timing line per take).

Run with ``make run`` (or ``streamlit run app.py``).
"""

from __future__ import annotations

import sys
import time

import streamlit as st

from bachgen.ui.page import main

#: How long a thread of the server may hold Python's interpreter lock before another gets it
#: (Python's default is 5 ms). The model's steps, FluidSynth and the encoder let go of the
#: lock thousands of times a take and must wait for it again each time; behind a session
#: drawing its page, every wait lasted the whole 5 ms (a take's audio took 15 s instead of
#: 0.34 s beside one busy thread; 0.8 s at 1 ms).
sys.setswitchinterval(0.001)


def run() -> None:
    """One run of the page: note when it began, configure the page, draw it."""
    run_started = time.time()
    st.set_page_config(page_title="bachgen — new fugues in the style of Bach", page_icon="🎼",
                       layout="wide")
    main(run_started)


# Streamlit runs this file as ``__main__``; anything importing it under another name (a
# test, a worker process) must not build the page.
if __name__ == "__main__":
    run()
