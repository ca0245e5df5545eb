"""How a take is heard: in the browser, by the page's player (:mod:`bachgen.ui.player`: the
take's MIDI synthesized there, a piano roll that follows it), or — when the browser cannot
play (no Web Audio) or the player is not built — by today's server-rendered audio, said once.

The player sits at one place on the page (under the Generate button) in every run, so its
frame, its synthesizer and its SoundFont stay loaded from take to take: a new take only
sends its MIDI file and notes. It shows the take chosen (the newest, or an earlier one whose
*Play in the player* button was pressed) and plays it on arrival.

``BACHGEN_PLAYER=server`` makes the server play every take, as before the player (for a
deployment whose listeners' browsers cannot, and for the page's tests of that path).
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable

import streamlit as st

from bachgen.render.player_data import player_take
from bachgen.ui.player import player, player_component
from bachgen.ui.resources import audio_first
from bachgen.ui.take_record import take_entries, take_sections


def browser_plays() -> bool:
    """Whether this session's takes are played in the browser (the player is built and the
    browser has not said it cannot play)."""
    if os.environ.get("BACHGEN_PLAYER", "browser") == "server":
        return False
    component, _ = player_component()
    return component is not None and not st.session_state.get("player_fallback")


def fallback_notice(where: Any) -> None:
    """Say once in a session why the server plays the takes."""
    state = st.session_state
    if state.get("fallback_said") or os.environ.get("BACHGEN_PLAYER") == "server":
        return
    reason = state.get("player_fallback") or player_component()[1]
    if reason:
        where.info(reason, icon=":material/volume_up:")
        state["fallback_said"] = True


def chosen_take() -> dict[str, Any] | None:
    """The take the player shows: the one asked for if it is still kept, else the newest."""
    takes = st.session_state.get("takes") or []
    wanted = st.session_state.get("playing")
    return next((t for t in takes if t["number"] == wanted), takes[-1] if takes else None)


def player_data(take: dict[str, Any], autoplay: bool) -> dict[str, Any]:
    """What the player gets for ``take`` (made once per take and kept, without autoplay)."""
    data = take.get("player")
    if data is None:
        data = player_take(take["piece"], float(take["tempo"]), take_id=take["number"],
                           seed_end_tick=take.get("seed_end_tick"), entries=take_entries(take),
                           subject_key=(take.get("form") or {}).get("subject_key"),
                           sections=take_sections(take))
        take["player"] = data
    return {**data, "autoplay": autoplay}


def player_panel(where: Any) -> None:
    """The player at its place on the page, with the chosen take (played on arrival when it
    was made or chosen in this run); the page's server audio is used instead when the
    browser says it cannot play. The newest take's hold on the server
    (:class:`bachgen.serving.AudioFirst`) ends once its MIDI is handed to the page."""
    if not browser_plays():
        fallback_notice(where)
        return
    take = chosen_take()
    state = st.session_state
    autoplay = take is not None and state.pop("autoplay_take", None) == take["number"]
    if take is not None:
        take["trace"].setdefault("player_args_at", time.time())
    with where:
        answer = player(player_data(take, autoplay) if take else None,
                        take["midi"] if take else None)
    if take is not None:
        take["trace"].setdefault("audio_sent_at", time.time())
        audio_first().release(take.get("ticket"))
    if isinstance(answer, dict) and answer.get("webaudio") is False:
        state["player_fallback"] = ("This browser cannot play the take itself "
                                    f"({answer.get('reason') or 'no Web Audio'}), so the server "
                                    "plays it instead.")
        st.rerun()


def opening_player(where: Any, number: int, tempo: float, trace: dict[str, Any]
                   ) -> Callable[[Any], None]:
    """What shows take ``number``'s opening (:class:`bachgen.pipeline.Opening`) in the
    player at ``where`` while the rest of the take is drawn, playing at once. The player is
    then drawn in this run: the page runs again for the whole take (:func:`opening_shown`),
    which the player goes on with from where it is."""

    def show(opening: Any) -> None:
        data = player_take(opening.piece, tempo, take_id=number, seed_end_tick=opening.seed_end_tick,
                           partial=True)
        with where:
            player(data, opening.midi)
        trace.setdefault("opening_sent_at", time.time())
        st.session_state["opening_shown"] = number

    return show


def opening_shown() -> bool:
    """Whether this run drew the player with a take's opening (forgotten once asked)."""
    return st.session_state.pop("opening_shown", None) is not None


def play_in_player(number: int) -> None:
    """Button callback: show take ``number`` in the player and play it."""
    st.session_state["playing"] = number
    st.session_state["autoplay_take"] = number
