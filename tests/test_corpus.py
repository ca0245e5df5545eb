"""The real corpus: verified, parsed with zero failures, every bar full, cached."""

from pathlib import Path

import pytest

from bachgen import catalog, corpus
from bachgen.config import CorpusConfig
from bachgen.errors import CorpusError


def test_all_48_files_are_present_and_verified(corpus_config):
    rows = corpus.status(corpus_config)
    assert len(rows) == 48 and all(r.verified for r in rows)


def test_all_48_parse_and_every_bar_adds_up(corpus_pieces):
    assert [p.name for p in corpus_pieces] == catalog.fugue_ids()
    for piece in corpus_pieces:
        report = piece.meta["parse"]
        assert report["bar_errors"] == [], piece.name
        assert len(piece.notes) > 300
        assert piece.key == catalog.fugue(piece.name).key


def test_the_rest_chord_trap_in_wtc1f06_is_repaired_and_detected(corpus_config):
    text = corpus.verified_path("wtc1f06", corpus_config).read_text()
    fixed, report = corpus.parse_kern(text, "wtc1f06")
    assert report.rest_chords_fixed == 2 and report.bar_errors == []
    _, raw = corpus.parse_kern(text, "wtc1f06", repair=False)
    assert any("bar 43" in error for error in raw.bar_errors)


def test_second_load_of_all_48_comes_from_the_parse_cache(corpus_config, corpus_pieces, monkeypatch):
    def no_parsing(*args, **kwargs):
        raise AssertionError("a cached fugue was parsed again")

    monkeypatch.setattr(corpus, "parse_kern", no_parsing)
    again = corpus.load_corpus(corpus_config)
    assert again == corpus_pieces


def test_a_damaged_parse_cache_entry_is_rebuilt(tmp_path, corpus_config):
    config = CorpusConfig(corpus_dir=corpus_config.corpus_dir, cache_dir=str(tmp_path))
    first = corpus.load_piece("wtc1f02", config)
    entry = corpus.parse_cache_path(config, catalog.fugue("wtc1f02").sha256)
    entry.write_text("{not json")
    assert corpus.load_piece("wtc1f02", config) == first


def test_a_damaged_corpus_file_is_reported_with_what_to_do(tmp_path, corpus_config):
    good = Path(corpus_config.corpus_dir) / "wtc1f02.krn"
    (tmp_path / "wtc1f02.krn").write_bytes(good.read_bytes().replace(b"4c", b"4d", 1))
    with pytest.raises(CorpusError, match="damaged.*bachgen corpus download"):
        corpus.load_piece("wtc1f02", CorpusConfig(corpus_dir=str(tmp_path)))


@pytest.mark.parametrize("fugue_id, message", [
    ("wtc9f99", "Unknown fugue"),
    ("wtc1f03", "missing"),
])
def test_missing_or_unknown_fugues_say_so(tmp_path, fugue_id, message):
    with pytest.raises(CorpusError, match=message):
        corpus.load_piece(fugue_id, CorpusConfig(corpus_dir=str(tmp_path)))


def test_a_corpus_folder_that_does_not_exist_is_named(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        corpus.status(CorpusConfig(corpus_dir=str(tmp_path / "nowhere")))


def test_unparseable_kern_is_a_corpus_error():
    with pytest.raises(CorpusError):
        corpus.parse_kern("**kern\n*M4/4\n=1\n4qqq\n*-\n**kern\n", "broken")


def test_kern_without_notes_is_a_corpus_error():
    with pytest.raises(CorpusError, match="no notes"):
        corpus.parse_kern("**kern\n*M4/4\n=1\n4r\n*-\n", "silent")
