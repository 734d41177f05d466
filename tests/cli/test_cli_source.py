"""The source commands as a user runs them: recipes, resolve, fetch, demo-archive."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from processkit import finish, ignoring_sigint, stop, wait_for_handler

from netnsfix.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_recipes_lists_both(capsys) -> None:
    code, out, _ = run(capsys, "recipes")
    assert code == 0
    assert re.search(r"^iproute-3\.6\.0-fc18 .*iproute-3\.6\.0 +bug 882047", out, re.M)
    assert re.search(r"^iproute-3\.6\.0-fc18-upstream ", out, re.M)


def test_resolve_prints_and_locks(capsys, demo_archive, demo_mirror: str, tmp_path: Path, netnsfix_cache: Path) -> None:
    lock = tmp_path / "iproute.lock.json"
    code, out, err = run(capsys, "resolve", "--mirror", demo_mirror, "--lock", str(lock))
    assert (code, err) == (0, "")
    assert f"nevra   {demo_archive.nevra}\n" in out
    assert f"url     {demo_mirror}/updates/18/SRPMS/{demo_archive.srpm_name}\n" in out
    assert f"sha256  {demo_archive.srpm_sha256}\n" in out
    assert f"lock    {lock} (written)" in out
    code, out, _ = run(capsys, "resolve", "iproute-3.6.0-fc18", "--mirror", "http://127.0.0.1:1", "--lock", str(lock))
    assert code == 0 and f"lock    {lock} (reused)" in out and "http://127.0.0.1:1/updates/18/SRPMS/" in out
    code, out, _ = run(capsys, "resolve", "--mirror", demo_mirror, "--lock", str(lock), "--refresh")
    assert code == 0 and "(written)" in out


def test_fetch_prints_the_cached_path_and_no_bar_off_a_terminal(
    capsys, demo_archive, demo_mirror: str, tmp_path: Path, netnsfix_cache: Path
) -> None:
    lock = tmp_path / "iproute.lock.json"
    fetch = ("fetch", "--retries", "0", "--mirror", "http://127.0.0.1:1", "--mirror", demo_mirror, "--lock", str(lock))
    code, out, err = run(capsys, *fetch)
    # resolution asks the first mirror only, so a dead first mirror fails resolution ...
    assert code == 2 and err.startswith("netnsfix: error: http://127.0.0.1:1/releases/18/") and err.count("\n") == 1
    run(capsys, "resolve", "--mirror", demo_mirror, "--lock", str(lock))
    # ... but with a lock, fetch tries the mirrors in order
    code, out, err = run(capsys, *fetch)
    assert (code, err) == (0, "")
    path = Path(out.strip())
    assert path == netnsfix_cache / "downloads" / "sha256" / demo_archive.srpm_sha256[:2] / demo_archive.srpm_sha256
    assert path.read_bytes() == demo_archive.srpm_path.read_bytes()


def test_fetch_shows_a_progress_bar_on_a_terminal(demo_mirror: str, tmp_path: Path) -> None:
    lock = tmp_path / "iproute.lock.json"
    env = {**os.environ, "NETNSFIX_CACHE": str(tmp_path / "cache"), "COLUMNS": "100"}
    main_, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "netnsfix", "fetch", "--mirror", demo_mirror, "--lock", str(lock)],
        stdout=subprocess.PIPE,
        stderr=secondary,
        env=env,
    )
    os.close(secondary)
    seen = b""
    while True:
        ready, _, _ = select.select([main_], [], [], 30)
        if not ready:
            break
        try:
            block = os.read(main_, 4096)
        except OSError:
            break
        if not block:
            break
        seen += block
    out, _ = finish(process, timeout=30)
    os.close(main_)
    assert process.returncode == 0
    assert b"iproute-3.6.0-2.fc18.src.rpm" in seen and re.search(rb"\d+\.\d+/\d+\.\d+ kB", seen)
    assert Path(out.decode().strip()).is_file()


def test_a_wrong_checksum_in_the_lock_is_one_line_and_keeps_nothing(
    capsys, demo_mirror: str, tmp_path: Path, netnsfix_cache: Path
) -> None:
    lock = tmp_path / "iproute.lock.json"
    run(capsys, "resolve", "--mirror", demo_mirror, "--lock", str(lock))
    lock.write_text(re.sub(r'"sha256": "[0-9a-f]{64}"', f'"sha256": "{"b" * 64}"', lock.read_text()))
    code, out, err = run(capsys, "fetch", "--mirror", demo_mirror, "--lock", str(lock))
    assert code == 2 and out == ""
    assert re.fullmatch(
        r"netnsfix: error: http://\S+\.src\.rpm: sha256 is [0-9a-f]{64}, expected b{64}; nothing was kept\n", err
    )
    assert not [p for p in netnsfix_cache.rglob("*") if p.is_file()]


def test_bad_mirror_and_missing_recipe_are_one_line_errors(capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, "resolve", "--mirror", "ftp://x", "--lock", str(tmp_path / "l.json"))
    assert code == 2 and err == "netnsfix: error: --mirror 'ftp://x': is not an http:// or https:// URL\n"
    code, _, err = run(capsys, "resolve", "no-such-recipe", "--lock", str(tmp_path / "l.json"))
    assert code == 2 and "no-such-recipe.toml: no such recipe (known: iproute-3.6.0-fc18" in err
    assert not (tmp_path / "l.json").exists()


def test_demo_archive_makes_it(capsys, tmp_path: Path, netnsfix_cache: Path, need_tool) -> None:
    need_tool("rpmbuild", "createrepo_c")
    code, out, _ = run(capsys, "demo-archive", str(tmp_path / "archive"), "--source-only")
    assert code == 0
    assert f"archive {(tmp_path / 'archive').resolve()}\n" in out
    assert "srpm    updates/18/SRPMS/iproute-3.6.0-2.fc18.src.rpm  sha256 " in out
    assert (tmp_path / "archive/updates/18/SRPMS/repodata/repomd.xml").is_file()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_demo_archive_serves_until_interrupted(tmp_path: Path, need_tool, signum: int) -> None:
    # started as a background job of a non-interactive shell is: SIGINT ignored
    need_tool("rpmbuild", "createrepo_c")
    env = {**os.environ, "NETNSFIX_CACHE": str(tmp_path / "cache")}
    process = subprocess.Popen(
        [sys.executable, "-m", "netnsfix", "demo-archive", str(tmp_path / "archive"), "--source-only", "--serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=ignoring_sigint,
    )
    try:
        mirror = None
        for line in process.stdout:
            if line.startswith("mirror  "):
                mirror = line.split()[1]
                break
        assert mirror and mirror.startswith("http://127.0.0.1:")
        assert requests.get(f"{mirror}/updates/18/SRPMS/repodata/repomd.xml", timeout=5).status_code == 200
        wait_for_handler(process.pid, signum)
        process.send_signal(signum)
        assert process.wait(timeout=10) == 0
    finally:
        stop(process, signal.SIGKILL)
