"""The source pipeline end to end: demo archive on 127.0.0.1 -> patched SRPM."""

from __future__ import annotations

import datetime
import json
import subprocess
from pathlib import Path

import pytest
import rpm
from testkit import next_second

from netnsfix.archive.fetch import Cache, Fetcher
from netnsfix.cli import main
from netnsfix.errors import PatchError
from netnsfix.recipe import find_recipe
from netnsfix.rpm.extract import read_header
from netnsfix.source.request import Request
from netnsfix.source.srpm import build_patched_srpm, dist_of

DAY = datetime.date(2012, 12, 3)


def _prep(srpm: Path, top: Path) -> Path:
    """rpmbuild -bp of the SRPM at fuzz 0; the prepared tree."""
    subprocess.run(["rpm", "-i", "--define", f"_topdir {top}", str(srpm)], check=True, capture_output=True)
    spec = next((top / "SPECS").glob("*.spec"))
    result = subprocess.run(
        ["rpmbuild", "-bp", "--nodeps", "--define", f"_topdir {top}", "--define", "_default_patch_fuzz 0", str(spec)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return top / "BUILD" / "iproute2-3.6.0"


@pytest.mark.parametrize(
    ("recipe_name", "marker"),
    [
        ("iproute-3.6.0-fc18", "+/*\n"),
        ("iproute-3.6.0-fc18-upstream", 'mount("", "/", "none", MS_SLAVE | MS_REC, NULL)'),
    ],
)
def test_srpm_from_the_demo_archive(
    recipe_name: str, marker: str, demo_mirror: str, tmp_path: Path, project_root: Path, demo_gpgcheck
) -> None:
    recipe = find_recipe(recipe_name, project_root)
    fetcher = Fetcher(Cache(tmp_path / "cache"), retries=0)
    request = Request.of(
        recipe, mirrors=[demo_mirror], lock=tmp_path / "lock.json", gpgcheck=demo_gpgcheck, out=tmp_path / "out"
    )
    result = build_patched_srpm(request, fetcher, day=DAY)
    # The newest 3.6.0 across release and updates, with the patch as Patch1 and a newer EVR.
    assert result.resolved.nevra == "iproute-3.6.0-2.fc18.src"
    assert result.dist == ".fc18"
    assert [h.offset for h in result.report.hunks] == [0] * len(result.report.hunks)
    header = read_header(result.srpm)
    assert header.release.endswith(".fc18") and header.release.startswith("2.netnsfix1")
    assert rpm.labelCompare(("0", "3.6.0", header.release), ("0", "3.6.0", "2.fc18")) == 1
    assert result.srpm.name == f"iproute-3.6.0-{header.release}.src.rpm"
    # The manifest names every input and output with its sha256.
    manifest = json.loads(result.manifest.read_text())
    assert manifest["stage"] == "srpm" and manifest["recipe"] == recipe_name
    assert {i["kind"] for i in manifest["inputs"]} == {"srpm", "patch", "recipe"}
    assert manifest["outputs"][0]["path"] == result.srpm.name
    assert manifest["extra"]["new_evr"] == f"3.6.0-{header.release.removesuffix('.fc18')}"
    # rpmbuild -bp applies it at fuzz 0, and the prepared source has the fix.
    tree = _prep(result.srpm, tmp_path / "top")
    ipnetns = (tree / "ip" / "ipnetns.c").read_text()
    assert marker.strip("+\n") in ipnetns
    spec = next((tmp_path / "top" / "SPECS").glob("*.spec")).read_text()
    assert "* Mon Dec 03 2012 netnsfix <netnsfix@localhost> - 3.6.0-2.netnsfix1" in spec
    assert "#882047" in spec
    # Nothing but the SRPM and the manifest is left in the output folder.
    folder = tmp_path / "out" / recipe.name / "srpm"
    assert sorted(p.name for p in folder.iterdir()) == sorted([result.srpm.name, "manifest.json"])


def test_srpm_cli_uses_the_lock_and_prints_the_report(
    demo_mirror: str, tmp_path: Path, netnsfix_cache: Path, capsys: pytest.CaptureFixture[str], demo_signer
) -> None:
    lock = tmp_path / "lock.json"
    argv = ["srpm", "--mirror", demo_mirror, "--lock", str(lock), "--out", str(tmp_path / "out")]
    argv += ["--gpg-key", str(demo_signer.public_file)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "resolved  iproute-3.6.0-2.fc18.src" in out
    assert "offset 0" in out and "Release 2%{?dist} -> 2.netnsfix1%{?dist}" in out
    assert json.loads(lock.read_text())["nevra"] == "iproute-3.6.0-2.fc18.src"
    # Second run: from the lock and the cache, against a mirror that no longer answers.
    argv[2] = "http://127.0.0.1:9"
    assert main(argv) == 0


def test_a_patch_that_does_not_match_writes_nothing(
    demo_mirror: str, tmp_path: Path, project_root: Path, demo_gpgcheck
) -> None:
    recipe = find_recipe("iproute-3.6.0-fc18", project_root)
    bad = tmp_path / "bad.patch"
    bad.write_text(recipe.patch.read_text().replace("\t\treturn -1;\n", "\t\treturn 1;\n", 1))
    bad_recipe = type(recipe)(**{**recipe.__dict__, "patch": bad})
    out = tmp_path / "out"
    request = Request.of(
        bad_recipe, mirrors=[demo_mirror], lock=tmp_path / "lock.json", gpgcheck=demo_gpgcheck, out=out
    )
    with pytest.raises(
        PatchError,
        match=r"bad\.patch: .*iproute2-3\.6\.0\.tar\.gz:iproute2-3\.6\.0/ip/ipnetns\.c: hunk #1 .* line 153: expected",
    ):
        build_patched_srpm(request, Fetcher(Cache(tmp_path / "cache"), retries=0), day=DAY)
    assert not out.exists()  # not even the folders it would have written into


def test_dist_is_what_the_archive_built_with() -> None:
    assert dist_of("2.fc18", "2%{?dist}") == ".fc18"
    assert dist_of("2", "2%{?dist}") == ""


def test_same_inputs_keep_the_srpm_and_a_changed_patch_makes_a_new_one(
    demo_mirror: str, tmp_path: Path, project_root: Path, demo_gpgcheck
) -> None:
    recipe = find_recipe("iproute-3.6.0-fc18", project_root)
    fetcher = Fetcher(Cache(tmp_path / "cache"), retries=0)
    kwargs = {"mirrors": [demo_mirror], "lock": tmp_path / "lock.json", "gpgcheck": demo_gpgcheck, "out": tmp_path}
    first = build_patched_srpm(Request.of(recipe, **kwargs), fetcher, day=DAY)
    data = first.srpm.read_bytes()
    # Another day, same inputs: the SRPM (and so every later stage) stays as it is.
    again = build_patched_srpm(Request.of(recipe, **kwargs), fetcher, day=DAY + datetime.timedelta(days=1))
    assert again.reused and again.srpm == first.srpm and again.srpm.read_bytes() == data
    assert again.change == first.change and again.report.hunks == first.report.hunks
    # A changed patch (same hunks, another description) is another input: a new SRPM.
    patch = tmp_path / recipe.patch.name
    patch.write_text("Same fix, described.\n\n" + recipe.patch.read_text())
    changed = type(recipe)(**{**recipe.__dict__, "patch": patch})
    third = build_patched_srpm(Request.of(changed, **kwargs), fetcher, day=DAY)
    assert not third.reused
    folder = tmp_path / recipe.name / "srpm"
    assert sorted(p.name for p in folder.iterdir()) == sorted([third.srpm.name, "manifest.json"])


def test_the_srpm_is_byte_identical_from_another_folder_time_zone_cache_and_clock(
    demo_mirror: str, tmp_path: Path, project_root: Path, demo_signer
) -> None:
    """Same recipe and lock: the same SRPM, whatever the folder, TZ, cache, output path and clock."""
    import os
    import sys

    lock = tmp_path / "lock.json"
    made = []
    for run, tz in enumerate(("UTC", "Pacific/Auckland")):
        if run:
            next_second()  # a later clock for the second run
        where = tmp_path / f"run{run}"
        where.mkdir()
        env = {**os.environ, "TZ": tz, "NETNSFIX_CACHE": str(where / "cache")}
        argv = [sys.executable, "-m", "netnsfix", "srpm", "--gpg-key", str(demo_signer.public_file)]
        argv += ["--mirror", demo_mirror, "--lock", str(lock)]
        result = subprocess.run([*argv, "--out", str(where / "o")], cwd=where, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        made.append(next((where / "o" / "iproute-3.6.0-fc18" / "srpm").glob("*.src.rpm")))
    first, second = made
    assert first.read_bytes() == second.read_bytes()
    query = ["rpm", "-qp", "--qf", "%{BUILDHOST} %{BUILDTIME}\n", str(first)]
    host, buildtime = subprocess.run(query, capture_output=True, text=True, check=True).stdout.split()
    resolved_day = json.loads(lock.read_text())["resolved_at"][:10]
    assert host == "netnsfix.build"
    midnight = datetime.datetime.fromisoformat(resolved_day + "T00:00:00+00:00")
    assert int(buildtime) == int(midnight.timestamp())  # the newest %changelog entry's day (the lock's)
    spec = subprocess.run(["rpm", "-qp", "--qf", "%{SPEC}", str(first)], capture_output=True, text=True).stdout
    assert str(tmp_path) not in first.read_bytes().decode("latin-1") and ".srpm-" not in spec
