"""Hostile inputs to publish, run as a user runs it: manifests that point outside OUTDIR, lie about
sizes, corrupt RPMs, a reader that closes stdout. One stderr line (or the right result), no
traceback, and nothing outside the command's own output changed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from hostilekit import Case, run_case, write
from rpmkit import build_rpms, make_outdir

from netnsfix.manifest import FileRecord, Manifest

PUBLISH = ("publish", "{work}/out", "--repo", "{work}/repo")


@pytest.fixture(scope="module")
def rpms(need_tool_module) -> Path:
    return build_rpms("nfxhostile", 1)


@pytest.fixture(scope="module")
def need_tool_module() -> None:
    from testkit import unavailable

    for tool in ("rpmbuild", "createrepo_c"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed")


def good_outdir(rpms: Path):
    def setup(world: Path) -> None:
        make_outdir(world / "work" / "out", sorted(rpms.glob("*.rpm")))

    return setup


def manifest_naming(rpms: Path, name: str, size_delta: int = 0, place=None):
    """An OUTDIR whose manifest lists ``name`` for a real RPM placed by ``place(world, rpm)``."""

    def setup(world: Path) -> None:
        rpm = next(p for p in sorted(rpms.glob("*.rpm")) if not p.name.endswith(".src.rpm"))
        out = world / "work" / "out"
        out.mkdir(parents=True)
        target = place(world, rpm) if place else world / "OUTSIDE.rpm"
        if not place:
            shutil.copyfile(rpm, target)
        record = FileRecord.of(target, name, "rpm")
        record = FileRecord(record.path, record.sha256, record.size + size_delta, "rpm")
        Manifest(stage="build", recipe="test", inputs=(), outputs=(record,)).write(out)

    return setup


def _symlink_out(world: Path, rpm: Path) -> Path:
    shutil.copyfile(rpm, world / "OUTSIDE.rpm")
    os.symlink("../../OUTSIDE.rpm", world / "work" / "out" / "link.rpm")
    return world / "OUTSIDE.rpm"


def _inside(world: Path, rpm: Path) -> Path:
    target = world / "work" / "out" / rpm.name
    shutil.copyfile(rpm, target)
    return target


def _corrupt(world: Path) -> None:
    out = world / "work" / "out"
    out.mkdir(parents=True)
    bad = out / "nfxbad-1.0-1.x86_64.rpm"
    bad.write_bytes(os.urandom(3000))
    Manifest(stage="build", recipe="test", inputs=(), outputs=(FileRecord.of(bad, bad.name, "rpm"),)).write(out)


def cases(rpms: Path) -> list[Case]:
    return [
        Case(
            "manifest-entry-dotdot",
            PUBLISH,
            2,
            r"out/manifest\.json: output '\.\./\.\./OUTSIDE\.rpm' is outside .*/work/out; refusing to publish it",
            manifest_naming(rpms, "../../OUTSIDE.rpm"),
        ),
        Case(
            "manifest-entry-absolute",
            PUBLISH,
            2,
            r"manifest\.json: output '/.*/OUTSIDE\.rpm' is outside",
            lambda world: manifest_naming(rpms, str(world / "OUTSIDE.rpm"))(world),
        ),
        Case(
            "manifest-entry-symlink-out",
            PUBLISH,
            2,
            r"manifest\.json: output 'link\.rpm' is outside",
            manifest_naming(rpms, "link.rpm", place=_symlink_out),
        ),
        Case(
            "manifest-size-wrong",
            PUBLISH,
            2,
            r"out/nfxhostile-0001-1\.0-1\.noarch\.rpm: \d+ bytes, but .*manifest\.json says \d+",
            manifest_naming(rpms, "nfxhostile-0001-1.0-1.noarch.rpm", size_delta=1, place=_inside),
        ),
        Case(
            "corrupt-rpm",  # one line: librpm's and createrepo_c's own messages are not printed
            PUBLISH,
            2,
            r"^netnsfix: error: .*/out/nfxbad-1\.0-1\.x86_64\.rpm: not a readable RPM \(not an RPM",
            _corrupt,
        ),
        Case(
            "manifest-not-json",
            PUBLISH,
            2,
            r"out/manifest\.json: not a netnsfix manifest",
            write("work/out/manifest.json", b"{"),
        ),
        Case(
            "manifest-is-a-folder",
            PUBLISH,
            2,
            r"out/manifest\.json: cannot read the manifest",
            write("work/out/manifest.json", None),
        ),
        Case(
            "manifest-wrong-shape",
            PUBLISH,
            2,
            r"out/manifest\.json: not a netnsfix manifest",
            write(
                "work/out/manifest.json",
                json.dumps({"stage": "build", "recipe": "x", "inputs": [], "outputs": [7]}).encode(),
            ),
        ),
        Case("outdir-missing", PUBLISH, 2, r"work/out: no such build output folder"),
        Case(
            "rpm-not-in-manifest",
            PUBLISH,
            2,
            r"out/stray\.rpm: not listed in .*manifest\.json; refusing to publish it",
            lambda world: (good_outdir(rpms)(world), write("work/out/stray.rpm", b"x")(world)),
        ),
        Case(
            "repo-is-a-file",
            PUBLISH,
            2,
            r"work/repo: (not a folder|cannot create the repository folder)",
            lambda world: (good_outdir(rpms)(world), write("work/repo", b"a file")(world)),
        ),
        Case(
            "publish-stdout-closed",  # `netnsfix publish ... | head -0`: the repository is whole, nothing said
            PUBLISH,
            141,
            "",
            good_outdir(rpms),
            touches=("work/repo",),
            lines=0,
            stdout_closed=True,
            verdict="correct",
        ),
    ]


CASE_IDS = [
    "manifest-entry-dotdot",
    "manifest-entry-absolute",
    "manifest-entry-symlink-out",
    "manifest-size-wrong",
    "corrupt-rpm",
    "manifest-not-json",
    "manifest-is-a-folder",
    "manifest-wrong-shape",
    "outdir-missing",
    "rpm-not-in-manifest",
    "repo-is-a-file",
    "publish-stdout-closed",
]


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_hostile_publish(case_id: str, rpms: Path, tmp_path: Path) -> None:
    case = next(c for c in cases(rpms) if c.id == case_id)
    run_case(case, tmp_path)
    if case_id == "publish-stdout-closed":
        assert (tmp_path / "work" / "repo" / "repodata" / "repomd.xml").is_file()
        assert list((tmp_path / "work" / "repo" / "Packages").rglob("nfxhostile-*.rpm"))


def test_the_catalogue_lists_every_case(tmp_path: Path) -> None:
    assert [c.id for c in cases(tmp_path)] == CASE_IDS
