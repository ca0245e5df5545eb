"""`bachgen corpus` and `bachgen tokens` on the real corpus, as a user runs them."""

import json
import subprocess
import sys

import pytest


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bachgen", *args], capture_output=True, text=True,
                          timeout=300)


def test_corpus_list_json_shows_48_verified(corpus_config):
    result = run("corpus", "list", "--json")
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    assert listing["verified"] == 48 and len(listing["fugues"]) == 48


def test_corpus_check_reports_zero_failures_and_zero_bar_errors(corpus_pieces):
    result = run("corpus", "check", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)["summary"]
    assert summary["parsed"] == 48 and summary["bar_errors"] == 0
    assert summary["rest_chords_fixed"] == 2


@pytest.mark.slow
def test_tokens_stats_json_shows_no_round_trip_failures(corpus_pieces):
    result = run("tokens", "stats", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["codec"] == "spelled" and report["pieces"] == 48
    assert report["round_trip_failures"] == 0 and report["failed_pieces"] == []
    assert 150 <= report["vocabulary"] <= 260 and report["tokens"] > report["events"] > 25_000
    text = run("tokens", "stats")
    assert text.returncode == 0 and "48 pieces" in text.stdout and "0 round-trip failures" in text.stdout


def test_a_missing_corpus_is_one_line_and_status_2(tmp_path):
    result = subprocess.run([sys.executable, "-m", "bachgen", "corpus", "check"],
                            capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "BACHGEN_CACHE_DIR": str(tmp_path),
                                 "HOME": str(tmp_path)})
    assert result.returncode == 2
    assert result.stderr.startswith("bachgen: error:") and "bachgen corpus download" in result.stderr
    assert "Traceback" not in result.stderr
