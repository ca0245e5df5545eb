"""The downloader against a real HTTP server on 127.0.0.1 serving the shared corpus."""

import functools
import http.server
import json
import shutil
import socket
import threading

import pytest

from bachgen import catalog, cli, corpus
from bachgen.config import CorpusConfig
from bachgen.errors import CorpusError, OfflineError


@pytest.fixture
def mirror(tmp_path, corpus_config):
    """Serve a copy of the corpus folder over HTTP; yields (base_url, folder)."""
    folder = tmp_path / "mirror"
    shutil.copytree(corpus_config.corpus_dir, folder)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", folder
    server.shutdown()
    server.server_close()


def _cache_config(tmp_path, url, **extra):
    return CorpusConfig(cache_dir=str(tmp_path / "cache"), mirror=url, timeout_s=5, **extra)


def test_a_good_download_verifies_all_48_and_reports_progress(tmp_path, mirror):
    url, _ = mirror
    config = _cache_config(tmp_path, url)
    seen = []
    written = corpus.download(config, progress=lambda done, total, name: seen.append((done, total)))
    assert len(written) == 48
    assert seen[-1] == (48, 48)
    assert corpus.is_complete(config)
    assert corpus.download(config) == []  # nothing to fetch the second time


def test_a_corrupted_file_is_rejected_and_leaves_nothing_behind(tmp_path, mirror):
    url, folder = mirror
    damaged = folder / "wtc1f02.krn"
    damaged.write_bytes(damaged.read_bytes() + b"!! tampered\n")
    config = _cache_config(tmp_path, url)
    with pytest.raises(CorpusError, match="wtc1f02.krn .*wrong checksum.*nothing was saved"):
        corpus.download(config, ids=["wtc1f01", "wtc1f02"])
    cached = sorted(p.name for p in (tmp_path / "cache" / "corpus").iterdir())
    assert cached == ["wtc1f01.krn"]


def test_a_damaged_cached_file_is_fetched_again(tmp_path, mirror):
    url, _ = mirror
    config = _cache_config(tmp_path, url)
    corpus.download(config, ids=["wtc1f01"])
    target = tmp_path / "cache" / "corpus" / "wtc1f01.krn"
    target.write_bytes(b"half a file")
    assert corpus.download(config, ids=["wtc1f01"]) == [target]
    assert corpus.sha256_of(target) == catalog.fugue("wtc1f01").sha256


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_mirror_gives_the_offline_message(tmp_path):
    config = _cache_config(tmp_path, f"http://127.0.0.1:{_closed_port()}/")
    with pytest.raises(OfflineError, match="offline.*BACHGEN_CORPUS_DIR"):
        corpus.download(config, ids=["wtc1f01"])
    assert list((tmp_path / "cache" / "corpus").iterdir()) == []


def test_a_mirror_that_answers_404_is_named(tmp_path, mirror):
    url, _ = mirror
    with pytest.raises(CorpusError, match="404"):
        corpus.download(_cache_config(tmp_path, url + "nothing-here/"), ids=["wtc1f01"])


def test_cli_downloads_then_lists_48_verified(tmp_path, mirror, capsys, monkeypatch):
    url, _ = mirror
    monkeypatch.delenv("BACHGEN_CORPUS_DIR", raising=False)
    cache = str(tmp_path / "cache")
    assert cli.main(["corpus", "download", "--mirror", url, "--cache-dir", cache, "--quiet"]) == 0
    capsys.readouterr()
    assert cli.main(["corpus", "list", "--json", "--cache-dir", cache]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["verified"] == 48
    assert listing["fugues"][1]["title"] == "Book I · Fugue 2 in C minor, BWV 847"


def test_cli_offline_is_one_line_and_status_2(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("BACHGEN_CORPUS_DIR", raising=False)
    code = cli.main(["corpus", "download", "--quiet", "--cache-dir", str(tmp_path),
                     "--mirror", f"http://127.0.0.1:{_closed_port()}/"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("bachgen: error: Cannot reach the corpus source") and err.count("\n") == 1
