"""One damaged or missing kern file loses its fugue, not the corpus: the others still seed
music, the damaged one is named, and the copy guard says what it checks against."""

from __future__ import annotations

import json
import shutil

import pytest

from bachgen import catalog, cli, corpus
from bachgen.config import CorpusConfig


@pytest.fixture(scope="module")
def damaged_dir(corpus_config, tmp_path_factory):
    """A copy of the 48 files in which wtc1f05.krn is damaged and wtc2f11.krn is missing."""
    folder = tmp_path_factory.mktemp("damaged")
    for item in catalog.FUGUES:
        shutil.copy(corpus.corpus_dir(corpus_config) / item.filename, folder / item.filename)
    damaged = folder / catalog.fugue("wtc1f05").filename
    damaged.write_bytes(damaged.read_bytes()[:-40] + b"!!!\n")
    (folder / catalog.fugue("wtc2f11").filename).unlink()
    return folder


def test_usable_names_the_good_fugues_and_the_broken_files(damaged_dir, corpus_config):
    good, broken = corpus.usable(CorpusConfig.from_env(corpus_dir=str(damaged_dir)))
    assert len(good) == 46 and "wtc1f05" not in good and "wtc2f11" not in good
    assert [(s.fugue.id, s.present) for s in broken] == [("wtc1f05", True), ("wtc2f11", False)]
    notice = corpus.broken_notice(broken, len(good))
    assert "wtc1f05.krn (damaged)" in notice and "wtc2f11.krn (missing)" in notice
    assert "other 46" in notice and "bachgen corpus download" in notice
    assert corpus.usable(corpus_config) == (catalog.fugue_ids(), [])


def test_an_intact_fugue_still_seeds_and_the_notice_says_what_is_lost(damaged_dir, tmp_path, capsys):
    code = cli.main(["generate", "--corpus-dir", str(damaged_dir), "--fugue", "wtc1f02", "--events", "40",
                     "--seed", "3", "--midi", str(tmp_path / "x.mid")])
    out, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads(out)
    assert summary["events"] == 40 and (tmp_path / "x.mid").is_file()
    assert any("wtc1f05.krn (damaged)" in n and "other 46" in n for n in summary["notices"])


@pytest.mark.parametrize("fugue, problem", [("wtc1f05", "damaged"), ("wtc2f11", "missing")])
def test_the_broken_fugue_itself_is_refused_by_name(damaged_dir, tmp_path, capsys, fugue, problem):
    code = cli.main(["generate", "--corpus-dir", str(damaged_dir), "--fugue", fugue, "--events", "20",
                     "--midi", str(tmp_path / "x.mid")])
    err = capsys.readouterr().err
    assert code == 2 and catalog.fugue(fugue).filename in err and problem in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_the_page_offers_the_other_fugues_and_says_which_are_lost(damaged_dir, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.app_support import APP

    monkeypatch.setenv("BACHGEN_CORPUS_DIR", str(damaged_dir))
    app = AppTest.from_file(str(APP), default_timeout=180)
    app.run()
    assert not app.exception, app.exception
    options = app.selectbox(key="fugue").options
    assert len(options) == 46 and app.selectbox(key="fugue").value == "wtc1f02"
    assert any("wtc1f05.krn (damaged)" in w.value for w in app.warning)
    app.slider(key="bars").set_value(4)
    app.button(key="generate").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert len(app.session_state["takes"]) == 1
