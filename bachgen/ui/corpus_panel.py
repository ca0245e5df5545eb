"""The corpus at the top of the page: the 48 fugues are fetched on a session's first visit
when they are missing (with a progress bar; offline, the page says so once and offers the
rest), and which fugues are usable is remembered in the session.
"""

from __future__ import annotations

import streamlit as st

from bachgen.config import CorpusConfig
from bachgen.errors import BachgenError, OfflineError
from bachgen.catalog import FUGUE_TITLES
from bachgen.ui.resources import load_engine

#: Every fugue of the catalogue, offered before the corpus has been checked.
FUGUE_IDS = list(FUGUE_TITLES)


def corpus_config() -> CorpusConfig:
    """Where the corpus is, as the environment says (``BACHGEN_CORPUS_DIR`` and the rest)."""
    return CorpusConfig.from_env()


def corpus_ready() -> bool:
    """Whether kern files are here and verified — all 48, or all but damaged or missing
    ones, which :func:`usable_fugues` leaves out (remembered once true)."""
    if st.session_state.get("corpus_ready"):
        return True
    from bachgen import corpus

    usable, broken = corpus.usable(corpus_config())
    st.session_state["usable_fugues"] = usable
    st.session_state["broken_notice"] = corpus.broken_notice(broken, len(usable)) if broken else None
    st.session_state["corpus_ready"] = bool(usable)
    return bool(usable)


def usable_fugues() -> list[str]:
    """The fugues the dropdown offers: those whose files are verified."""
    return st.session_state.get("usable_fugues") or FUGUE_IDS


def corpus_panel() -> bool:
    """Fetch the corpus on a session's first visit when it is missing (with a progress bar;
    offline, say so once and offer the rest of the page); True when the fugues are usable."""
    try:
        if corpus_ready():
            if st.session_state.get("broken_notice"):
                st.warning(st.session_state["broken_notice"])
            return True
    except BachgenError as exc:
        st.error(str(exc))
        return False
    if st.session_state["offline"]:
        offline_notice()
        return False
    st.info(
        "The 48 fugues (half a megabyte of kern files) are not on this machine yet. "
        "They are fetched now, once, to seed new pieces from Bach's own music — or compose "
        "from your own file or from no seed."
    )
    first_visit = not st.session_state.get("corpus_tried")  # fetch once without being asked
    if st.button("Download the corpus", key="corpus_download", type="primary") or first_visit:
        download_corpus()
    return False


def offline_notice() -> None:
    """Say the fugues cannot be fetched (once, without trying again on every run), with a
    button to try again."""
    st.warning(
        "The 48 fugues are not on this machine and their source cannot be reached. "
        "You can still compose from your own file or from no seed."
    )
    if st.button("Try the download again", key="corpus_retry"):
        st.session_state["offline"] = False
        st.rerun()


def download_corpus() -> None:
    """Fetch the fugues with a progress bar, then run the page again with them (the seed
    starting from a fugue); offline or failing, say so and leave the rest of the page."""
    from bachgen import corpus

    st.session_state["corpus_tried"] = True

    bar = st.progress(0.0, text="Connecting…")

    def progress(done: int, total: int, name: str) -> None:
        bar.progress(done / max(total, 1), text=f"{done} of {total}: {FUGUE_TITLES.get(name, name)}")

    try:
        corpus.download(corpus_config(), progress=progress)
    except OfflineError as exc:
        st.session_state["offline"] = True
        bar.empty()
        st.warning(str(exc))
        return
    except BachgenError as exc:
        bar.empty()
        st.error(str(exc))
        return
    st.session_state["corpus_ready"] = None  # check again
    st.session_state["seed_source"] = "fugue"
    load_engine.clear()  # the engine looks for the fugues once; let it look again
    st.rerun()
