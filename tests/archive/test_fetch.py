"""The fetcher against real HTTP on 127.0.0.1: checksums, resume, retries, mirrors, the cache."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from scripted_http import IgnoreRange, Ok, ScriptedServer, Status, Truncate

from netnsfix.archive.fetch import Cache, Fetcher
from netnsfix.errors import ChecksumError, FetchError
from netnsfix.util.httpserve import serving

BODY = bytes(range(256)) * 200  # 51200 bytes
SHA = hashlib.sha256(BODY).hexdigest()


def files_in(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(tmp_path / "cache")


def fetcher(cache: Cache, **kwargs) -> Fetcher:
    return Fetcher(cache, retries=kwargs.pop("retries", 2), backoff=0, timeout=5, **kwargs)


def test_download_lands_in_the_content_addressed_cache(cache: Cache, tmp_path: Path) -> None:
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "f.rpm").write_bytes(BODY)
    with serving(tmp_path / "www") as served:
        path = fetcher(cache).fetch([f"{served.url}/f.rpm"], SHA, len(BODY))
    assert path == cache.root / "sha256" / SHA[:2] / SHA
    assert path.read_bytes() == BODY
    assert files_in(cache.root) == [path]
    # the server is gone: the cache answers
    assert fetcher(cache).fetch(["http://127.0.0.1:9/gone"], SHA, len(BODY)) == path


def test_wrong_sha256_keeps_nothing(cache: Cache, scripted_server: ScriptedServer) -> None:
    url = scripted_server.route("/f.rpm", BODY)
    wrong = "0" * 64
    with pytest.raises(ChecksumError, match=rf"/f\.rpm: sha256 is {SHA}, expected {wrong}; nothing was kept"):
        fetcher(cache).fetch([url], wrong, len(BODY))
    assert files_in(cache.root) == []


def test_truncated_body_is_resumed_with_range(cache: Cache, scripted_server: ScriptedServer) -> None:
    url = scripted_server.route("/f.rpm", BODY, Truncate(20000), Ok())
    path = fetcher(cache).fetch([url], SHA, len(BODY))
    assert path.read_bytes() == BODY
    assert scripted_server.asked("/f.rpm") == [None, "bytes=20000-"]


def test_truncated_twice_resumes_from_each_point(cache: Cache, scripted_server: ScriptedServer) -> None:
    url = scripted_server.route("/f.rpm", BODY, Truncate(10000), Truncate(10000), Ok())
    assert fetcher(cache).fetch([url], SHA, len(BODY)).read_bytes() == BODY
    assert scripted_server.asked("/f.rpm") == [None, "bytes=10000-", "bytes=20000-"]


def test_body_that_never_completes_is_an_error_and_keeps_nothing(cache: Cache, scripted_server: ScriptedServer) -> None:
    url = scripted_server.route("/f.rpm", BODY, Truncate(0))
    with pytest.raises(FetchError, match=r"/f\.rpm: .*(truncated|broken).*after 3 tries; nothing was kept"):
        fetcher(cache).fetch([url], SHA, len(BODY))
    assert files_in(cache.root) == []
    assert len(scripted_server.asked("/f.rpm")) == 3


def test_server_that_ignores_range_is_read_again_from_the_start(cache: Cache, scripted_server: ScriptedServer) -> None:
    url = scripted_server.route("/f.rpm", BODY, Truncate(30000), IgnoreRange())
    assert fetcher(cache).fetch([url], SHA, len(BODY)).read_bytes() == BODY
    assert scripted_server.asked("/f.rpm") == [None, "bytes=30000-"]


def test_404_is_one_clear_error_without_retries(cache: Cache, scripted_server: ScriptedServer) -> None:
    url = f"{scripted_server.url}/missing.rpm"
    with pytest.raises(FetchError, match=r"^http://127\.0\.0\.1:\d+/missing\.rpm: HTTP 404"):
        fetcher(cache).fetch([url], SHA, len(BODY))
    assert len(scripted_server.asked("/missing.rpm")) == 1
    assert files_in(cache.root) == []


def test_500_then_200_is_retried(cache: Cache, scripted_server: ScriptedServer) -> None:
    url = scripted_server.route("/f.rpm", BODY, Status(500), Ok())
    assert fetcher(cache).fetch([url], SHA, len(BODY)).read_bytes() == BODY
    assert len(scripted_server.asked("/f.rpm")) == 2


def test_500_every_time_is_an_error(cache: Cache, scripted_server: ScriptedServer) -> None:
    url = scripted_server.route("/f.rpm", BODY, Status(500))
    with pytest.raises(FetchError, match=r"/f\.rpm: HTTP 500 .*after 3 tries"):
        fetcher(cache).fetch([url], SHA, len(BODY))
    assert files_in(cache.root) == []


def test_mirrors_are_tried_in_order(cache: Cache, scripted_server: ScriptedServer) -> None:
    first = f"{scripted_server.url}/one/f.rpm"  # 404
    corrupt = scripted_server.route("/two/f.rpm", BODY[::-1])  # other bytes
    good = scripted_server.route("/three/f.rpm", BODY)
    unused = scripted_server.route("/four/f.rpm", BODY)
    assert fetcher(cache).fetch([first, corrupt, good, unused], SHA, len(BODY)).read_bytes() == BODY
    assert [p for p, _ in scripted_server.requests] == ["/one/f.rpm", "/two/f.rpm", "/three/f.rpm"]


def test_every_mirror_failing_names_each(cache: Cache, scripted_server: ScriptedServer) -> None:
    corrupt = scripted_server.route("/two/f.rpm", BODY[::-1])
    with pytest.raises(
        ChecksumError, match=r"every mirror failed: .*/one/f\.rpm: HTTP 404.*; .*/two/f\.rpm: sha256 is"
    ):
        fetcher(cache).fetch([f"{scripted_server.url}/one/f.rpm", corrupt], SHA, len(BODY))
    assert files_in(cache.root) == []


def test_a_bad_leftover_partial_file_is_downloaded_again(cache: Cache, scripted_server: ScriptedServer) -> None:
    partial = cache.partial_for(SHA)
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"x" * 1000)  # left by an interrupted run, but not this file's bytes
    url = scripted_server.route("/f.rpm", BODY)
    assert fetcher(cache).fetch([url], SHA, len(BODY)).read_bytes() == BODY
    assert scripted_server.asked("/f.rpm") == ["bytes=1000-", None]


def test_progress_is_told_what_happens(cache: Cache, scripted_server: ScriptedServer) -> None:
    events: list[tuple] = []

    class Recorder:
        def start(self, name: str, total: int | None, done: int = 0) -> None:
            events.append(("start", name, total, done))

        def advance(self, amount: int) -> None:
            events.append(("advance", amount))

        def finish(self) -> None:
            events.append(("finish",))

    url = scripted_server.route("/f.rpm", BODY, Truncate(20000), Ok())
    fetcher(cache, progress=Recorder()).fetch([url], SHA, len(BODY), name="f.rpm")
    starts = [e for e in events if e[0] == "start"]
    assert starts == [("start", "f.rpm", len(BODY), 0), ("start", "f.rpm", len(BODY), 20000)]
    assert sum(e[1] for e in events if e[0] == "advance") == len(BODY)
    assert events[-1] == ("finish",)


def test_get_bytes_retries_and_reports(cache: Cache, scripted_server: ScriptedServer) -> None:
    url = scripted_server.route("/repomd.xml", b"<repomd/>", Status(503), Truncate(3), Ok())
    assert fetcher(cache).get_bytes(url) == b"<repomd/>"
    with pytest.raises(FetchError, match=r"/nothing\.xml: HTTP 404"):
        fetcher(cache).get_bytes(f"{scripted_server.url}/nothing.xml")
    assert files_in(cache.root) == []


def test_unreachable_server_is_an_error(cache: Cache) -> None:
    with pytest.raises(FetchError, match=r"^http://127\.0\.0\.1:1/f\.rpm: ConnectionError"):
        fetcher(cache, retries=0).fetch(["http://127.0.0.1:1/f.rpm"], SHA, len(BODY))
    assert files_in(cache.root) == []


def test_get_bytes_gives_the_files_own_bytes(cache: Cache, scripted_server: ScriptedServer) -> None:
    import gzip as gz

    packed = gz.compress(b"<metadata/>")
    url = scripted_server.route("/primary.xml.gz", packed)
    assert fetcher(cache).get_bytes(url) == packed
    with pytest.raises(FetchError, match=r"/cut\.xml\.gz: truncated body.*\(after 2 tries\)"):
        fetcher(cache, retries=1).get_bytes(scripted_server.route("/cut.xml.gz", packed, Truncate(5)))
