"""The server's audio-first rule: work that comes after a take's audio waits while other
takes still wait for theirs (:class:`bachgen.batching.AudioFirst`)."""

from __future__ import annotations

import threading
import time

from bachgen.batching import AudioFirst


def test_nothing_held_means_no_wait():
    gate = AudioFirst(longest_wait_s=5.0)
    assert not gate.busy()
    assert gate.wait() < 0.1


def test_after_audio_work_waits_until_the_other_take_has_its_audio():
    gate = AudioFirst(longest_wait_s=5.0)
    mine, other = gate.hold(), gate.hold()
    gate.release(mine)  # my audio is on the page; the other take has none yet
    threading.Timer(0.3, gate.release, args=(other,)).start()
    waited = gate.wait()
    assert 0.25 <= waited < 2.0 and not gate.busy()


def test_the_wait_is_bounded():
    gate = AudioFirst(longest_wait_s=0.3)
    gate.hold()
    started = time.perf_counter()
    assert 0.3 <= gate.wait() < 1.0
    assert time.perf_counter() - started < 1.0


def test_a_ticket_of_a_session_that_went_away_lapses():
    gate = AudioFirst(longest_wait_s=5.0, hold_expires_s=0.2)
    gate.hold()
    assert gate.busy()
    time.sleep(0.25)
    assert not gate.busy() and gate.wait() < 0.1


def test_releasing_twice_or_an_unknown_ticket_is_harmless():
    gate = AudioFirst()
    ticket = gate.hold()
    gate.release(ticket)
    gate.release(ticket)
    gate.release(None)
    assert not gate.busy()
