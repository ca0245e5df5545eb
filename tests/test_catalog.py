"""The catalogue of the 48 fugues agrees with itself and with the real kern files."""

import re
from pathlib import Path

import pytest

from bachgen import catalog


def test_48_fugues_with_unique_ids_and_bwv_numbers():
    assert len(catalog.FUGUES) == 48
    assert len({f.id for f in catalog.FUGUES}) == 48
    assert [f.bwv for f in catalog.FUGUES] == list(range(846, 894))


@pytest.mark.parametrize("fugue_id, title", [
    ("wtc1f02", "Book I · Fugue 2 in C minor, BWV 847"),
    ("wtc1f08", "Book I · Fugue 8 in D-sharp minor, BWV 853"),
    ("wtc2f17", "Book II · Fugue 17 in A-flat major, BWV 886"),
])
def test_titles_read_like_a_programme(fugue_id, title):
    assert catalog.fugue(fugue_id).title == title


def test_unknown_id_is_a_key_error():
    with pytest.raises(KeyError):
        catalog.fugue("wtc3f01")


def test_keys_voices_and_checksums_match_the_kern_files(corpus_config):
    folder = Path(corpus_config.corpus_dir)
    sums = dict(reversed(line.split()) for line in (folder / "SHA256SUMS").read_text().splitlines())
    for item in catalog.FUGUES:
        text = (folder / item.filename).read_text()
        assert sums[item.filename] == item.sha256, item.id
        assert re.search(rf"^\*{re.escape(item.key)}:", text, re.M), item.id
        spines = next(line for line in text.splitlines() if line.startswith("**kern"))
        assert spines.count("**kern") == item.voices, item.id
