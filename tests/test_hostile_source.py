"""Hostile inputs to the source stages (recipes, locks, resolve, fetch, the cache), run as a user runs them.

Issue 13's cases and more: each ends in one stderr line naming the file,
option or URL and what is wrong (or in the right result), exit 2, no
traceback, and nothing outside the command's own output changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostilekit import SOURCE_REPOS, Case, both, edit_recipe, package_xml, prepare, run_case, write, write_archive
from hostroot import read_only
from scripted_http import ScriptedServer, Slow, Truncate
from testkit import ROOT

from netnsfix.archive.fetch import Cache, Fetcher
from netnsfix.errors import FetchError

RECIPE = "iproute-3.6.0-fc18"
SRPM = "iproute-3.6.0-2.fc18.src.rpm"
LOCK = "{work}/iproute.lock.json"
NO_SERVER = "http://127.0.0.1:9"  # nothing listens there: a case that reached the network would say so
RESOLVE = ("resolve", "--mirror", "{mirror}", "--lock", LOCK)


def lock_text(location: str = SRPM, body: bytes = b"srpm", repo: str = SOURCE_REPOS[0]) -> str:
    """A lock of the shape recipelock.write_lock writes."""
    return json.dumps(
        {
            "lock_format": 1,
            "recipe": RECIPE,
            "resolved_at": "2026-01-01T00:00:00Z",
            "name": "iproute",
            "epoch": 0,
            "version": "3.6.0",
            "release": "2.fc18",
            "arch": "src",
            "nevra": "iproute-3.6.0-2.fc18.src",
            "repo": repo,
            "location": location,
            "url": f"https://example.org/{repo}/{location}",
            "sha256": hashlib.sha256(body).hexdigest(),
            "size": len(body),
        }
    )


def with_lock(text: str, name: str = "iproute.lock.json"):
    def setup(world: Path) -> None:
        (world / "work" / name).write_text(text)

    return setup


def recipe_edit(old: str, new: str):
    return lambda world: edit_recipe(world, old, new)


def archive(href: str, size: str | None = None):
    return lambda world: write_archive(world / "www", package_xml(href), size=size)


def _symlinked_lock(world: Path) -> None:
    (world / "secret.json").write_text('{"not": "a lock"}\n')
    os.symlink(world / "secret.json", world / "work" / "iproute.lock.json")


def _corrupt_cache_entry(world: Path) -> None:
    body = b"srpm"
    sha = hashlib.sha256(body).hexdigest()
    (world / "www" / SOURCE_REPOS[0]).mkdir(parents=True)
    (world / "www" / SOURCE_REPOS[0] / SRPM).write_bytes(body)
    cached = world / "cache" / "downloads" / "sha256" / sha[:2] / sha
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"altered")  # its name says sha256(b"srpm"); its bytes are not
    (world / "work" / "iproute.lock.json").write_text(lock_text(body=body))


def _truncated_srpm(world: Path) -> None:
    body = b"\xed\xab\xee\xdb\x03\x00\x00\x01" + b"\x00" * 40  # an RPM lead cut short
    (world / "www" / SOURCE_REPOS[0]).mkdir(parents=True)
    (world / "www" / SOURCE_REPOS[0] / SRPM).write_bytes(body)
    (world / "work" / "iproute.lock.json").write_text(lock_text(body=body))


def _recipe_folder(world: Path) -> None:
    (world / "home" / "specs" / "folder.toml").mkdir()


CASES = [
    # -- recipes ---------------------------------------------------------------------------
    Case(
        "recipe-is-a-folder",
        ("resolve", "folder"),
        2,
        r"folder\.toml: cannot read the recipe: it is a folder, not a file",
        _recipe_folder,
    ),
    Case(
        "recipe-not-utf8",
        ("resolve", "latin1"),
        2,
        r"latin1\.toml: not UTF-8 text",
        write("home/specs/latin1.toml", b'description = "caf\xe9"\n'),
    ),
    Case(
        "recipe-bug-true",
        ("resolve", "--mirror", NO_SERVER, "--lock", LOCK),
        2,
        rf"{RECIPE}\.toml: field 'patch\.bug' must be an integer, not True",
        recipe_edit("bug = 882047", "bug = true"),
    ),
    Case(
        "recipe-bug-string",
        ("resolve", "--mirror", NO_SERVER, "--lock", LOCK),
        2,
        r"field 'patch\.bug' must be an integer, not '882047'",
        recipe_edit("bug = 882047", 'bug = "882047"'),
    ),
    Case(
        "recipe-bug-negative",
        ("resolve", "--mirror", NO_SERVER, "--lock", LOCK),
        2,
        r"field 'patch\.bug' must be a bug number, not -1",
        recipe_edit("bug = 882047", "bug = -1"),
    ),
    Case(
        "recipe-patch-outside-patches",
        ("resolve", "--mirror", NO_SERVER, "--lock", LOCK),
        2,
        rf"{RECIPE}\.toml: patch file .*/home/patches/\.\./\.\./outside\.patch is outside .*/home/patches",
        both(
            write("outside.patch", b"--- a/x\n+++ b/x\n"),
            recipe_edit('file = "patches/', 'file = "patches/../../outside.patch" # '),
        ),
    ),
    Case(
        "recipe-release-suffix-path",
        ("srpm", "--mirror", NO_SERVER, "--lock", LOCK, "--out", "{work}/out"),
        2,  # refused before any download: NO_SERVER would have been a connection error
        r"field 'release\.suffix' '/\.\./x y' may only hold letters, digits",
        recipe_edit('suffix = ".netnsfix1"', 'suffix = "/../x y"'),
    ),
    Case(
        "recipe-base-url-file-scheme",
        ("resolve", "--lock", LOCK),
        2,
        r"field 'archive\.base_url' 'file:///etc' is not an http:// or https:// URL",
        recipe_edit(
            'base_url = "https://archives.fedoraproject.org/pub/archive/fedora/linux"', 'base_url = "file:///etc"'
        ),
    ),
    Case(
        "recipe-source-repos-string",
        ("resolve", "--mirror", NO_SERVER, "--lock", LOCK),
        2,
        r"field 'archive\.source_repos' must be a non-empty list of strings",
        recipe_edit(
            'source_repos = ["releases/18/Everything/source/SRPMS", "updates/18/SRPMS"]',
            'source_repos = "updates/18/SRPMS"',
        ),
    ),
    Case("recipe-name-with-slash", ("resolve", "../specs/x"), 2, r"no such recipe \(known: iproute-3\.6\.0-fc18"),
    Case("recipe-name-dotdot", ("resolve", ".."), 2, r"no such recipe \(known: "),
    Case(
        "unknown-recipe-beside-a-broken-one",
        ("resolve", "no-such"),
        2,
        r"no-such\.toml: no such recipe \(known: folder, iproute-3\.6\.0-fc18",
        _recipe_folder,
    ),
    Case(
        "recipes-with-a-broken-one",
        ("recipes",),
        2,
        r"^netnsfix: error: 1 recipe\(s\) in .*/specs are broken \(listed above\)$",
        _recipe_folder,
    ),
    Case("recipes-stdout-closed", ("recipes",), 141, "", lines=0, stdout_closed=True, verdict="correct"),
    # -- the mirror and the repodata ---------------------------------------------------------
    Case("mirror-file-scheme", ("resolve", "--mirror", "file:///etc", "--lock", LOCK), 2, r"--mirror 'file:///etc'"),
    Case(
        "repomd-size-not-a-number",
        RESOLVE,
        2,
        r"/releases/18/Everything/source/SRPMS/repodata/repomd\.xml: <data type='primary'> has size 'abc'",
        archive(SRPM, size="abc"),
    ),
    Case(
        "repomd-size-enormous",
        RESOLVE,
        0,
        "",
        archive(SRPM, size="9" * 40),
        touches=("work/iproute.lock.json",),
        lines=0,
        verdict="correct",
    ),
    Case(
        "href-dotdot",
        RESOLVE,
        2,
        r"primary\.xml\.gz: package 'iproute' has location href '\.\./\.\./\.\./x\.src\.rpm', which is not a path "
        "inside the repository",
        archive("../../../x.src.rpm"),
    ),
    Case("href-absolute", RESOLVE, 2, r"location href '/etc/passwd', which is not a path", archive("/etc/passwd")),
    Case(
        "href-url",
        RESOLVE,
        2,
        r"location href 'http://evil\.example/x\.src\.rpm'",
        archive("http://evil.example/x.src.rpm"),
    ),
    Case("href-file-url", RESOLVE, 2, r"location href 'file:///etc/shadow'", archive("file:///etc/shadow")),
    Case("href-nul", RESOLVE, 2, r"primary\.xml\.gz: not valid XML", archive("x&#0;.src.rpm")),
    Case("href-newline", RESOLVE, 2, r"location href 'x\\nsrc\.rpm'", archive("x&#10;src.rpm")),
    Case(
        "repomd-not-xml",
        RESOLVE,
        2,
        r"repomd\.xml: not valid XML",
        write(f"www/{SOURCE_REPOS[0]}/repodata/repomd.xml", b"\x00\xff garbage"),
    ),
    # -- locks ---------------------------------------------------------------------------------
    Case("lock-not-json", ("fetch", "--lock", LOCK), 2, r"iproute\.lock\.json: malformed lock", with_lock("{nope")),
    Case(
        "lock-location-dotdot",
        ("fetch", "--lock", LOCK),
        2,
        r"malformed lock: location '\.\./\.\./x' is not a path inside the repository",
        with_lock(lock_text("../../x")),
    ),
    Case(
        "lock-is-a-folder", ("fetch", "--lock", "{work}"), 2, r"work: cannot read the lock: it is a folder, not a file"
    ),
    Case(
        "lock-symlinked-elsewhere",
        ("fetch", "--lock", LOCK),
        2,
        r"iproute\.lock\.json: malformed lock: missing field 'name'",
        _symlinked_lock,
    ),
    Case(
        "lock-folder-is-a-file",
        (*RESOLVE[:-1], "{work}/file/iproute.lock.json"),
        2,
        r"file/iproute\.lock\.json: cannot write the lock",
        both(archive(SRPM), write("work/file", b"a file, not a folder")),
    ),
    Case(
        "lock-names-a-package-that-is-gone",
        ("fetch", "--mirror", "{mirror}", "--lock", LOCK),
        2,
        rf"/{SRPM}: HTTP 404 .*the lock .*iproute\.lock\.json may name a package the archive no longer has: "
        "resolve again with --refresh",
        with_lock(lock_text()),
        touches=("cache",),
    ),
    Case("retries-negative", ("fetch", "--retries", "-1"), 2, r"argument --retries: '-1' is not a whole number"),
    # -- fetch and the cache -----------------------------------------------------------------
    Case(
        "cache-entry-altered",
        ("fetch", "--mirror", "{mirror}", "--lock", LOCK),
        0,
        r"cached file does not match its sha256 \(it is [0-9a-f]{64}\); dropped, fetching it again",
        _corrupt_cache_entry,
        touches=("cache",),
        verdict="correct",
    ),
    Case(
        "cache-is-a-file",
        ("fetch", "--mirror", "{mirror}", "--lock", LOCK),
        2,
        r"cannot use the download cache: Not a directory",
        both(with_lock(lock_text()), write("cachefile", b"x")),
        env={"NETNSFIX_CACHE": "{world}/cachefile"},
    ),
    Case(
        "srpm-truncated-header",
        ("srpm", "--mirror", "{mirror}", "--lock", LOCK, "--out", "{work}/out"),
        2,
        rf"/{SRPM}: truncated header: the file ends inside the RPM's signature header \(cached as .*/cache/",
        _truncated_srpm,
        touches=("cache", "work/out"),
    ),
    Case(
        "srpm-out-is-a-file",
        ("srpm", "--mirror", NO_SERVER, "--lock", LOCK, "--out", "{work}/afile"),
        2,
        r"--out .*/work/afile: not a folder",
        write("work/afile", b"x"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_source(case: Case, tmp_path: Path) -> None:
    run_case(case, tmp_path)


@pytest.mark.root
def test_a_lock_folder_that_cannot_be_written(tmp_path: Path, need_root) -> None:
    """An immutable folder (chattr +i, which stops root too): one line, nothing changed."""
    case = Case(
        "lock-folder-read-only",
        (*RESOLVE[:-1], "{work}/locks/iproute.lock.json"),
        2,
        r"locks/iproute\.lock\.json: cannot write the lock: Operation not permitted",
        both(archive(SRPM), write("work/locks/.keep", b"")),
    )
    prepare(case, tmp_path)
    with read_only(tmp_path / "work" / "locks"):
        run_case(case, tmp_path, prepared=True)


# -- the cache under concurrency and failure (library level, with real processes) --------

BODY = bytes(range(256)) * 200  # 51200 bytes
SHA = hashlib.sha256(BODY).hexdigest()

FETCH_SCRIPT = """
import logging, sys
from pathlib import Path
from netnsfix.archive.fetch import Cache, Fetcher
logging.basicConfig(level=logging.INFO, format="%(message)s")
path = Fetcher(Cache(Path(sys.argv[1])), retries=0, timeout=30).fetch([sys.argv[2]], sys.argv[3], int(sys.argv[4]))
print(path)
"""


def test_two_processes_fetching_one_entry_share_one_download(tmp_path: Path, scripted_server: ScriptedServer) -> None:
    """The second waits for the first's lock, then takes the cached file: one transfer, no false checksum error."""
    url = scripted_server.route("/f.rpm", BODY, Slow(chunk=4096, pause=0.08))  # about a second per transfer
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    args = [sys.executable, "-c", FETCH_SCRIPT, str(tmp_path / "cache"), url, SHA, str(len(BODY))]
    first = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = []
    for process in (first, second):
        try:
            out, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        results.append((process.returncode, out.strip(), err))
    assert [code for code, _, _ in results] == [0, 0], results
    cached = Cache(tmp_path / "cache").path_for(SHA)
    assert {out for _, out, _ in results} == {str(cached)}
    assert cached.read_bytes() == BODY
    assert "Traceback" not in results[0][2] + results[1][2]
    # they did overlap: one of them waited for the other's lock
    assert sum("another netnsfix is fetching it; waiting" in err for _, _, err in results) == 1, results
    assert len(scripted_server.asked("/f.rpm")) == 1  # one transfer; the second read the cache
    assert not list((tmp_path / "cache").rglob("*.part"))
    assert not list((tmp_path / "cache").rglob("*.lock"))


def test_a_failed_transfer_keeps_its_part_for_the_next_run(tmp_path: Path, scripted_server: ScriptedServer) -> None:
    cache = Cache(tmp_path / "cache")
    url = scripted_server.route("/f.rpm", BODY, Truncate(12000), Slow(chunk=65536, pause=0))
    with pytest.raises(
        FetchError,
        match=r"after 12000 bytes.*\(after 1 tries; 12000 bytes kept in .*\.part; the next run resumes from there\)$",
    ):
        Fetcher(cache, retries=0, backoff=0, timeout=5).fetch([url], SHA, len(BODY))
    assert cache.partial_for(SHA).stat().st_size == 12000
    # the next run resumes where the last one stopped
    assert Fetcher(cache, retries=0, backoff=0, timeout=5).fetch([url], SHA, len(BODY)).read_bytes() == BODY
    assert scripted_server.asked("/f.rpm") == [None, "bytes=12000-"]


def test_an_altered_cache_entry_is_dropped_and_fetched_again(
    tmp_path: Path, scripted_server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    cache = Cache(tmp_path / "cache")
    url = scripted_server.route("/f.rpm", BODY)
    fetcher = Fetcher(cache, retries=0, backoff=0, timeout=5)
    path = fetcher.fetch([url], SHA, len(BODY))
    path.write_bytes(BODY[::-1])  # same size, other bytes: the name now lies
    with caplog.at_level(logging.WARNING, logger="netnsfix.archive.fetch"):
        assert fetcher.fetch([url], SHA, len(BODY)).read_bytes() == BODY
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "does not match its sha256" in warnings[0]
    assert len(scripted_server.asked("/f.rpm")) == 2
    # an intact entry is used as it is: no warning, no request
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="netnsfix.archive.fetch"):
        fetcher.fetch([url], SHA, len(BODY))
    assert not caplog.records and len(scripted_server.asked("/f.rpm")) == 2
