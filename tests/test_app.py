"""The Streamlit page, driven headless with ``streamlit.testing.v1.AppTest``.

AppTest cannot read media back, so the page keeps every take's bytes in
``st.session_state["takes"]``; the tests check those bytes are a real MIDI file, the
player's FLAC (and the WAV its download button makes on demand) and a PNG. The engine is the shipped model when ``assets/model`` holds
one, else a tiny untrained bundle made for the test (see :mod:`tests.app_support`).

The page's own player plays a take's MIDI in the browser (the browser tests drive it); here
the server plays the takes (``BACHGEN_PLAYER=server``, the path a browser without Web Audio
gets), except in :func:`test_the_browser_plays_the_take_from_its_midi`.
"""

from __future__ import annotations

import io

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

#: The whole page runs in AppTest for each test (about 30 s in all): ``make test`` runs them.
pytestmark = pytest.mark.slow

from bachgen import catalog  # noqa: E402
from tests.app_support import APP, ensure_model  # noqa: E402
from tests.browser_support import is_flac, is_wav  # noqa: E402

#: Generous: the first run loads TensorFlow and the model; a take renders audio and score.
TIMEOUT_S = 180


@pytest.fixture(scope="module", autouse=True)
def model_env(tmp_path_factory):
    """Point the app at a usable model for the whole module."""
    with pytest.MonkeyPatch.context() as patch:
        ensure_model(tmp_path_factory.mktemp("model"), patch)
        patch.setenv("BACHGEN_PLAYER", "server")
        yield


def new_app() -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    app.run()
    assert not app.exception, app.exception
    return app


def short(app: AppTest, bars: int = 8) -> AppTest:
    """Fewer bars keep the tests quick; the page's default stays 24."""
    app.slider(key="bars").set_value(bars)
    return app


def generate(app: AppTest) -> AppTest:
    app.button(key="generate").click().run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def takes(app: AppTest) -> list[dict]:
    return app.session_state["takes"]


def take_wav(take: dict) -> bytes:
    """What the take's WAV download button makes when clicked (the page's own function,
    with the page's shared engine)."""
    import os

    from bachgen.ui.take_record import take_wav as page_take_wav
    from bachgen.ui.resources import load_engine

    engine = load_engine(os.environ.get("BACHGEN_MODEL_DIR", ""),
                         os.environ.get("BACHGEN_CORPUS_DIR", ""))
    return page_take_wav(take, engine)


def assert_valid_midi(data: bytes) -> None:
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(io.BytesIO(data))
    notes = [n for inst in midi.instruments for n in inst.notes]
    assert notes, "the MIDI file has no notes"
    assert midi.get_end_time() > 0


# --------------------------------------------------------------------------- tests


def test_page_offers_the_48_fugues_and_defaults():
    app = new_app()
    fugue = app.selectbox(key="fugue")
    assert fugue.options == [f.title for f in catalog.FUGUES]
    assert fugue.value == "wtc1f02"
    assert app.slider(key="bars").value == 24
    assert app.slider(key="bars").min == 4 and app.slider(key="bars").max == 120
    assert app.toggle(key="form_entries").value and app.toggle(key="form_close").value
    assert app.slider(key="temperature").value == pytest.approx(1.0)
    assert app.slider(key="tempo").value == 80
    assert app.radio(key="snap").value == "off"
    assert app.radio(key="snap").options == ["Snap to C major", "Transpose to C", "Off"]
    assert app.button(key="generate").disabled is False
    assert not app.error
    assert takes(app) == []


def test_generate_from_a_chosen_fugue_keeps_valid_midi_wav_and_png():
    app = new_app()
    app.selectbox(key="fugue").set_value("wtc1f05")
    app.number_input(key="start_bar").set_value(3)
    short(app).run()
    generate(app)
    assert not app.error, [e.value for e in app.error]
    [take] = takes(app)
    assert_valid_midi(take["midi"])
    assert take["png"][:8] == b"\x89PNG\r\n\x1a\n"
    if take["audio"] is None:  # no synthesizer on this machine: the page says so
        assert take["notices"], "no audio and no notice explaining why"
    else:
        assert take["audio_mime"] == "audio/flac" and is_flac(take["audio"])
        assert is_wav(take_wav(take))
        assert take["timings"]["audio_encode"] > 0
    assert "Fugue 5" in take["label"] and "bar 3" in take["label"]
    labels = [b.label for b in app.get("download_button")]
    assert "MIDI" in labels and "MusicXML" in labels and "WAV" in labels
    assert take["svg"] and "<svg" in take["svg"]
    assert take["musicxml"] and b"score-partwise" in take["musicxml"]
    for entry in take["form"]["entries"]:  # the score names each entry as the roll does
        assert entry["voice"].encode() in take["musicxml"]


def test_same_seed_gives_the_same_take_and_earlier_takes_stay_listed():
    app = new_app()
    short(app)
    app.number_input(key="seed").set_value(1234)
    app.run()
    generate(app)
    generate(app)
    first, second = takes(app)
    assert first["number"] == 1 and second["number"] == 2
    assert first["midi"] == second["midi"]
    assert [e.label for e in app.expander if e.label.startswith("Take 1")]
    assert len(app.get("download_button")) >= 2  # the earlier take keeps its downloads


def before(piece, tick):
    """A take's notes as they sound before ``tick`` (a note held on past it is cut there)."""
    return sorted((n.start, min(n.end, tick) - n.start, n.pitch) for n in piece.notes if n.start < tick)


def test_a_take_is_written_again_after_its_first_bars_and_continued_as_new_takes():
    """Seed 118's take holds a note off the 32nd and 16th-triplet grids in its first bars
    (a 16th triplet after a 32nd): read back on the codec's grid, it stays note for note."""
    app = new_app()
    short(app, 8)
    app.number_input(key="seed").set_value(118)
    app.run()
    generate(app)
    [first] = takes(app)
    app.number_input(key="keep_1").set_value(4)
    app.button(key="regen_1").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    _, again = takes(app)
    cut = 4 * first["piece"].bar_ticks
    assert before(again["piece"], cut) == before(first["piece"], cut)
    assert again["seed_end_tick"] == cut and again["midi"] != first["midi"]
    assert "bars 1–4 of take 1" in again["label"]
    app.number_input(key="more_2").set_value(4)
    app.button(key="continue_2").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    _, _, longer = takes(app)
    kept = again["piece"].end
    if again["form"]["closes"]:  # a take that closed is continued from before its close
        from bachgen.plan import CLOSE_BARS

        kept = (again["piece"].bars - CLOSE_BARS) * again["piece"].bar_ticks
    assert before(longer["piece"], kept) == before(again["piece"], kept)
    assert longer["piece"].end > kept and "take 2" in longer["label"]


def test_a_take_records_where_its_seconds_went():
    """Each stage of a take has its seconds (waiting for the model apart from sampling,
    the player's audio split into waiting, rendering and encoding, and after the audio the
    wait for other listeners' audio and the piano roll)."""
    app = new_app()
    short(app, 4)
    app.toggle(key="render_score").set_value(False)
    app.run()
    generate(app)
    [take] = takes(app)
    timings, trace = take["timings"], take["trace"]
    for stage in ("lock_wait", "sample", "midi", "pianoroll", "after_audio_wait", "click_to_music"):
        assert timings[stage] >= 0, stage
    if take["audio_ok"]:
        assert timings["audio"] >= timings["audio_encode"] > 0
        assert timings["audio_synth_wait"] >= 0
    assert trace["run_started_at"] <= trace["generate_started_at"] <= trace["composed_at"]
    assert trace["composed_at"] <= trace["audio_sent_at"] <= trace["page_done_at"]


def test_the_timed_lock_tells_each_thread_its_own_wait():
    import threading
    import time

    from bachgen.serving import TimedLock

    lock, waits = TimedLock(), {}

    def second() -> None:
        with lock:
            pass
        waits["second"] = lock.take_waited()

    with lock:
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.2)  # the other thread queues for the lock meanwhile
    thread.join()
    assert waits["second"] >= 0.15
    assert lock.take_waited() < 0.05 and lock.take_waited() == 0.0


def test_new_seed_button_changes_the_seed():
    app = new_app()
    before = app.number_input(key="seed").value
    for _ in range(3):  # a collision three times in a row would be a bug
        app.button(key="new_seed").click().run()
        if app.number_input(key="seed").value != before:
            break
    assert app.number_input(key="seed").value != before


def test_toggles_reach_the_composition():
    app = new_app()
    short(app)
    app.toggle(key="render_score").set_value(False)
    app.radio(key="snap").set_value("off")
    app.slider(key="temperature").set_value(1.3)
    app.toggle(key="form_entries").set_value(False)
    app.toggle(key="form_close").set_value(False)
    app.run()
    generate(app)
    [take] = takes(app)
    assert take["svg"] is None and take["musicxml"] is None
    assert "creativity 1.3" in take["label"] and take["label"].startswith("8 bars")
    assert take["form"]["asked"] == {"entries": False, "close": False}
    assert any(m.value.startswith("**Subject:**") for m in app.markdown)
    assert_valid_midi(take["midi"])
    app.button(key="engrave_1").click().run()  # the score on demand
    assert not app.exception
    [take] = takes(app)
    assert take["svg"] and "<svg" in take["svg"], (take["notices"], take["timings"])


def test_no_seed_and_random_place():
    app = new_app()
    short(app, 5)
    app.radio(key="seed_source").set_value("none").run()
    generate(app)
    app.radio(key="seed_source").set_value("random").run()
    generate(app)
    assert not app.error, [e.value for e in app.error]
    assert len(takes(app)) == 2
    for take in takes(app):
        assert_valid_midi(take["midi"])


def test_a_bad_upload_is_an_error_and_the_session_keeps_working():
    app = new_app()
    short(app, 5)
    app.radio(key="seed_source").set_value("file").run()
    app.button(key="generate").click().run()  # nothing uploaded yet
    assert app.error and "No seed file" in app.error[0].value
    app.file_uploader(key="upload").upload("broken.mid", b"MThd this is not a MIDI file",
                                           mime_type="audio/midi")
    app.run()
    generate(app)
    assert app.error, "a broken file must be reported on the page"
    assert "Traceback" not in app.error[0].value
    assert takes(app) == []
    app.radio(key="seed_source").set_value("fugue").run()
    generate(app)
    assert not app.error
    assert len(takes(app)) == 1
    assert_valid_midi(takes(app)[0]["midi"])


def test_a_good_upload_seeds_the_piece():
    import pretty_midi

    midi = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(program=0)
    for i, pitch in enumerate([60, 62, 64, 65, 67, 65, 64, 62, 60, 67, 72, 67]):
        piano.notes.append(pretty_midi.Note(velocity=80, pitch=pitch, start=i * 0.25,
                                            end=(i + 1) * 0.25))
    midi.instruments.append(piano)
    buffer = io.BytesIO()
    midi.write(buffer)

    app = new_app()
    short(app, 5)
    app.radio(key="seed_source").set_value("file").run()
    app.file_uploader(key="upload").upload("scale.mid", buffer.getvalue(),
                                           mime_type="audio/midi")
    app.run()
    generate(app)
    assert not app.error, [e.value for e in app.error]
    [take] = takes(app)
    assert "scale.mid" in take["label"]
    assert_valid_midi(take["midi"])


def test_missing_model_is_a_message_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("BACHGEN_MODEL_DIR", str(tmp_path / "nothing-here"))
    app = new_app()
    assert app.error, "a missing model must be reported"
    assert app.button(key="generate").disabled is True


def test_without_the_corpus_the_page_tries_the_download_once_and_works_offline(tmp_path, monkeypatch):
    monkeypatch.delenv("BACHGEN_CORPUS_DIR", raising=False)
    monkeypatch.setenv("BACHGEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BACHGEN_CORPUS_MIRROR", "http://127.0.0.1:9/")  # nothing listens
    app = new_app()  # the first visit tries to fetch the corpus by itself, and says it cannot
    assert app.radio(key="seed_source").options == ["Your own subject: a whole fugue", "Your own file", "No seed"]
    assert app.radio(key="seed_source").value == "none"
    assert not app.exception
    assert len(app.warning) == 1 and "offline" in app.warning[0].value.lower()
    app.run()
    assert len(app.warning) == 1  # said once, not fetched again on every rerun
    app.button(key="corpus_retry").click().run()
    assert app.button(key="corpus_download") and not app.warning  # asked again: the button is back
    short(app, 5).run()
    generate(app)
    assert not app.error, [e.value for e in app.error]
    assert len(takes(app)) == 1
    assert_valid_midi(takes(app)[0]["midi"])


def test_score_pages_splits_top_level_svgs_only():
    from bachgen.render.score_pages import score_pages

    one = '<svg a="1"><defs/><svg class="inner"><g/></svg></svg>'
    two = '<svg a="2"><svg><g/></svg><svg/></svg>'
    assert score_pages(one + "\n" + two) == [one, two]
    assert score_pages("no score") == ["no score"]


def test_without_fluidsynth_midi_and_piano_roll_still_work(tmp_path, monkeypatch):
    import os

    from bachgen.render import audio
    from bachgen.bundle import default_bundle_dir
    from bachgen.errors import MissingDependencyError

    def missing():
        raise MissingDependencyError("Audio needs the FluidSynth library, which is not installed.",
                                     "Install it with: sudo apt-get install libfluidsynth3.")

    monkeypatch.setattr(audio, "_import_fluidsynth", missing)
    # A fresh engine (another path to the same bundle): it makes its synthesizer anew.
    link = tmp_path / "model"
    link.symlink_to(os.environ.get("BACHGEN_MODEL_DIR") or default_bundle_dir())
    monkeypatch.setenv("BACHGEN_MODEL_DIR", str(link))
    app = new_app()
    short(app, 5).run()
    generate(app)
    assert not app.error, [e.value for e in app.error]
    [take] = takes(app)
    assert take["audio"] is None and not take["audio_ok"]
    assert any("FluidSynth" in n for n in take["notices"])
    assert any("FluidSynth" in i.value for i in app.info)
    assert_valid_midi(take["midi"])
    assert take["png"][:4] == b"\x89PNG"
    assert "WAV" not in [b.label for b in app.get("download_button")]


def test_the_first_visit_downloads_the_corpus_then_offers_the_fugues(tmp_path, monkeypatch):
    import functools
    import http.server
    import os
    import shutil
    import threading

    source = os.environ.get("BACHGEN_CORPUS_DIR")
    if not source:
        pytest.skip("needs a local copy of the corpus to serve")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    mirror = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=source))
    threading.Thread(target=mirror.serve_forever, daemon=True).start()
    try:
        from bachgen.config import default_cache_dir

        for parsed in ("pieces", "words"):  # parsing is not under test here: reuse it
            if (default_cache_dir() / parsed).is_dir():
                shutil.copytree(default_cache_dir() / parsed, tmp_path / "cache" / parsed)
        monkeypatch.delenv("BACHGEN_CORPUS_DIR")
        monkeypatch.setenv("BACHGEN_CACHE_DIR", str(tmp_path / "cache"))
        monkeypatch.setenv("BACHGEN_CORPUS_MIRROR", f"http://127.0.0.1:{mirror.server_port}/")
        app = new_app()  # a newcomer's first page fetches the fugues by itself
        assert not app.exception and not app.error, [e.value for e in app.error]
        assert len(list((tmp_path / "cache" / "corpus").glob("*.krn"))) == 48
        assert "A fugue" in app.radio(key="seed_source").options
        short(app, 5)
        app.selectbox(key="fugue").set_value("wtc2f24")
        app.run()
        generate(app)
        assert not app.error, [e.value for e in app.error]
        assert_valid_midi(takes(app)[0]["midi"])
    finally:
        mirror.shutdown()



def test_older_takes_drop_their_audio_and_can_play_again():
    app = new_app()
    short(app, 4)
    app.toggle(key="render_score").set_value(False)
    app.run()
    for _ in range(4):  # one more than the takes that keep their audio (3)
        generate(app)
    first, *rest = takes(app)
    assert first["audio"] is None
    if rest[-1]["audio"] is not None:  # with a synthesizer on this machine
        assert all(t["audio"] for t in rest)
    assert_valid_midi(first["midi"])  # the MIDI file stays
    if not first["audio_ok"]:
        return  # no synthesizer on this machine: nothing to play again
    app.button(key="replay_1").click().run()
    assert not app.exception and not app.error
    first = takes(app)[0]
    assert is_flac(first["audio"])
    assert sum(1 for t in takes(app) if t["audio"]) <= 4


def test_the_statistics_panel_sets_the_new_music_beside_the_real_fugues():
    from bachgen.evaluation import statistics
    from bachgen.config import CorpusConfig

    app = new_app()
    short(app, 8)
    app.toggle(key="include_seed").set_value(True)
    app.toggle(key="render_score").set_value(False)
    app.run()
    generate(app)
    assert not app.error, [e.value for e in app.error]
    [take] = takes(app)
    report = take["quality"]
    assert take["seed_end_tick"], "the seed comes first in this take"
    assert report["band_events"] == take["stats"]["events"]
    band = statistics.real_bands_for(CorpusConfig.from_env(), report["band_events"])
    expected = statistics.take_statistics(take["piece"], take["seed_end_tick"], band)
    assert report["rows"] == expected["rows"]  # the real band, measured on the new music only
    assert [r["name"] for r in report["rows"]] == list(statistics.STATISTICS)
    whole = statistics.piece_statistics(take["piece"])
    assert [r["value"] for r in report["rows"]] != [whole[n] for n in statistics.STATISTICS]
    for row in report["rows"]:
        assert (row["low"], row["high"]) == band[row["name"]]
        assert row["inside"] is None or row["inside"] == (row["low"] <= row["value"] <= row["high"])
    summary = f"{report['inside']} of {len(statistics.STATISTICS)} statistics inside the range of the real fugues"
    assert any(summary in m.value for m in app.markdown), [m.value for m in app.markdown]
    [table] = [t for t in app.table if "inside" in t.value.columns]
    assert len(table.value) == len(statistics.STATISTICS)
    assert set(table.value["inside"]) <= {"✓", "✗", "–"}
    assert list(table.value["statistic"])[1] == "time with ≥ 2 notes sounding"


def test_without_the_corpus_the_panel_shows_the_piece_and_asks_for_the_corpus(tmp_path, monkeypatch):
    monkeypatch.delenv("BACHGEN_CORPUS_DIR", raising=False)
    monkeypatch.setenv("BACHGEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BACHGEN_CORPUS_MIRROR", "http://127.0.0.1:9/")  # nothing listens
    app = new_app()
    short(app, 5)
    app.toggle(key="render_score").set_value(False)
    app.run()
    generate(app)
    assert not app.error, [e.value for e in app.error]
    report = takes(app)[0]["quality"]
    assert report["band_events"] is None and report["inside"] is None
    assert report["measured"] > 0
    assert all(r["low"] is None and r["inside"] is None for r in report["rows"])
    assert any("needs the corpus" in m.value for m in app.markdown)
    [table] = [t for t in app.table if "this piece" in t.value.columns]
    assert list(table.value.columns) == ["statistic", "this piece"]


def test_statistics_that_cannot_be_measured_show_a_dash():
    from bachgen.evaluation.labels import band_text, quality_summary, stat_text

    assert stat_text("steps", None) == "–" and band_text("steps", None, None) == "–"
    assert stat_text("two_plus", 0.993) == "99.3 %" and stat_text("two_plus", 1.0) == "100 %"
    assert stat_text("leaps", 0.0241) == "2 %" and stat_text("silence", 0.004) == "0.4 %"
    assert stat_text("sounding", 2.7907) == "2.79" and stat_text("pitch_range", 48.0) == "48"
    assert band_text("pitch_class_entropy", 3.0, 3.379) == "3.00 – 3.38"
    assert band_text("on_beats", 0.18, 0.51) == "18 % – 51 %"
    empty = {"rows": [], "total": 14, "measured": 0, "inside": 0, "band_events": 100}
    assert quality_summary(empty) == ("0 of 14 statistics inside the range of the real "
                                           "fugues (14 could not be measured)")


def test_the_browser_plays_the_take_from_its_midi(monkeypatch):
    """With the browser's player (the default), a take gets no server audio and no still
    piano roll: the player gets its MIDI and notes at once; the WAV is still made on the
    server when asked for, and an earlier take can be put back into the player."""
    from bachgen.ui.player import built

    if not built():
        pytest.skip("the player's front end is not built (make setup builds it)")
    monkeypatch.delenv("BACHGEN_PLAYER")
    app = new_app()
    short(app, 4)
    app.toggle(key="render_score").set_value(False)
    app.run()
    generate(app)
    generate(app)
    first, second = takes(app)
    for take in (first, second):
        assert take["audio"] is None and take["png"] is None
        assert_valid_midi(take["midi"])
    data = second["player"]
    assert data["id"] == 2 and data["notes"] and data["voices"]
    assert all(0 <= n[3] < len(data["voices"]) for n in data["notes"])
    assert second["trace"]["composed_at"] <= second["trace"]["audio_sent_at"]
    assert app.session_state["playing"] == 2
    if second["audio_ok"]:  # with a synthesizer on this machine
        assert "WAV" in [b.label for b in app.get("download_button")]
        assert is_wav(take_wav(second))
    app.button(key="play_1").click().run()
    assert not app.exception and app.session_state["playing"] == 1


def test_a_whole_fugue_on_a_typed_subject_shows_its_plan_and_a_bad_subject_keeps_the_text():
    app = new_app()
    app.radio(key="seed_source").set_value("subject").run()
    assert app.text_area(key="subject_text").value  # an example to start from
    app.text_area(key="subject_text").set_value("3/4 d4 a8 g f e d4 c# d").run()
    app.slider(key="bars").set_value(16)
    app.select_slider(key="fugue_voices").set_value(2).run()
    generate(app)
    assert not app.error, [e.value for e in app.error]
    [take] = takes(app)
    assert_valid_midi(take["midi"])
    kinds = [s["kind"] for s in take["form"]["sections"]]
    assert kinds[0] == "exposition" and kinds[-1] == "close"
    assert "2 voices" in take["label"] and take["form"]["closes"]
    assert any("Plan" in m.value for m in app.markdown)
    typed = "3/4 d4 a8 g f e d4 c# q"
    app.text_area(key="subject_text").set_value(typed).run()
    assert any("Cannot read 'q'" in e.value for e in app.error)   # said as soon as it is typed
    generate(app)
    assert app.error and "Cannot read 'q'" in app.error[0].value
    assert app.text_area(key="subject_text").value == typed and len(takes(app)) == 1
    app.radio(key="seed_source").set_value("fugue").run()              # away and back: still there
    app.radio(key="seed_source").set_value("subject").run()
    assert app.text_area(key="subject_text").value == typed


def test_the_subject_box_says_what_it_reads():
    app = new_app()
    app.radio(key="seed_source").set_value("subject").run()
    app.text_area(key="subject_text").set_value("3/4 d4 a8 g f e d4 c# d").run()
    assert any("Read: 8 notes in 3/4, d minor (inferred)" in c.value for c in app.caption)
    app.text_input(key="subject_key").set_value("F").run()
    assert any("F major (given)" in c.value for c in app.caption)
