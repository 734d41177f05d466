"""The hostile-input catalogue's machinery: a private world, one `python -m netnsfix` run, the checks.

Each case gets a world of its own (``tmp_path``): ``home/`` (NETNSFIX_HOME: the
shipped specs/ and patches/), ``cache/`` (NETNSFIX_CACHE), ``work/`` (the
command's folder) and ``www/``, served on 127.0.0.1 as ``{mirror}``. The case's
setup makes the world hostile; the command runs as a user runs it; then the
catalogue asserts the exit code, exactly one stderr line matching the case's
pattern, no traceback, and that nothing in the world changed apart from the
paths the case names as the command's own output (compared by mode, size,
mtime and sha256, see testkit.tree_state).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from testkit import ROOT, changed_paths, tree_state

from netnsfix.util.httpserve import serving


@dataclass(frozen=True)
class Case:
    """One hostile input: what to set up, what to run, what must come out."""

    id: str
    argv: tuple[str, ...]  # {world}, {home}, {work}, {cache}, {www}, {mirror} are filled in
    code: int
    stderr: str  # a regex the one stderr line must match (search)
    setup: Callable[[Path], None] = lambda world: None
    touches: tuple[str, ...] = ()  # world-relative paths the command may create or change
    lines: int = 1  # stderr lines expected (a quiet BrokenPipe: 0)
    stdout_closed: bool = False  # the reader closes stdout at once (`| head -0`)
    verdict: str = "clear"  # "clear": one clear error line; "correct": the right result (exit 0 or quiet)
    env: dict[str, str] = field(default_factory=dict)


Setup = Callable[[Path], None]


def write(relative: str, data: bytes | None) -> Setup:
    """A setup writing ``data`` at ``relative`` in the world (None: a folder there)."""

    def setup(world: Path) -> None:
        path = world / relative
        if data is None:
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    return setup


def both(*setups: Setup) -> Setup:
    """A setup running ``setups`` in order."""

    def setup(world: Path) -> None:
        for step in setups:
            step(world)

    return setup


def make_world(world: Path) -> None:
    for name in ("specs", "patches"):
        shutil.copytree(ROOT / name, world / "home" / name, ignore=shutil.ignore_patterns("*.lock.json"))
    for name in ("work", "www", "cache"):
        (world / name).mkdir(parents=True, exist_ok=True)


def prepare(case: Case, world: Path) -> None:
    make_world(world)
    case.setup(world)


def run_case(case: Case, world: Path, prepared: bool = False) -> subprocess.CompletedProcess[str]:
    """Set the world up (unless ``prepared``), run the case's command, check everything the catalogue promises."""
    if not prepared:
        prepare(case, world)
    with serving(world / "www") as served:
        values = {
            "world": str(world),
            "home": str(world / "home"),
            "work": str(world / "work"),
            "cache": str(world / "cache"),
            "www": str(world / "www"),
            "mirror": served.url,
        }
        argv = [arg.format(**values) for arg in case.argv]
        before = tree_state(world)
        env = {key: value.format(**values) for key, value in case.env.items()}
        done = netnsfix(argv, world, env, case.stdout_closed)
        after = tree_state(world)
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == case.lines, f"expected {case.lines} stderr line(s), got: {done.stderr!r}"
    if case.lines:
        assert re.search(case.stderr, lines[-1]), f"{lines[-1]!r} does not match {case.stderr!r}"
    assert done.returncode == case.code, f"exit {done.returncode}, expected {case.code}: {done.stderr}"
    stray = [p for p in changed_paths(before, after) if not _allowed(p, case.touches)]
    assert not stray, f"the command changed paths outside its own output: {stray}"
    return done


def netnsfix(
    argv: list[str], world: Path, env: dict[str, str] | None = None, stdout_closed: bool = False
) -> subprocess.CompletedProcess[str]:
    """``python -m netnsfix ARGV`` in ``world/work`` with the world's home and cache (killed after 120 s)."""
    full_env = {
        **os.environ,
        "NETNSFIX_HOME": str(world / "home"),
        "NETNSFIX_CACHE": str(world / "cache"),
        "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
        **(env or {}),
    }
    full_env.pop("NO_COLOR", None)
    command = [sys.executable, "-m", "netnsfix", *argv]
    if not stdout_closed:
        return subprocess.run(command, cwd=world / "work", env=full_env, capture_output=True, text=True, timeout=120)
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first byte: every write meets EPIPE
    try:
        process = subprocess.Popen(
            command, cwd=world / "work", env=full_env, stdout=write, stderr=subprocess.PIPE, text=True
        )
    finally:
        os.close(write)
    try:
        _, err = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return subprocess.CompletedProcess(command, process.returncode, "", err)


def _allowed(path: str, touches: tuple[str, ...]) -> bool:
    """A path the command may change: one it names as output, inside one, or a folder above one."""
    for allowed in touches:
        if path == allowed or path.startswith(allowed + "/") or path == "." or allowed.startswith(path + "/"):
            return True
    return False


# -- a hostile archive: yum repositories with the layout createrepo_c writes --------------

SOURCE_REPOS = ("releases/18/Everything/source/SRPMS", "updates/18/SRPMS")

# The shape is createrepo_c's (the demo archive's repodata, made by createrepo_c 0.20, has the
# same elements): repomd.xml lists primary with checksum, location and size; primary.xml
# lists each package with name, arch, version, checksum, location and size.
REPOMD = """<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>1354492800</revision>
  <data type="primary">
    <checksum type="sha256">{sha256}</checksum>
    <open-checksum type="sha256">{open_sha256}</open-checksum>
    <location href="{href}"/>
    <timestamp>1354492800</timestamp>
    <size>{size}</size>
    <open-size>{open_size}</open-size>
  </data>
</repomd>
"""

PRIMARY = """<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="{count}">
{packages}</metadata>
"""

PACKAGE = """<package type="rpm">
  <name>{name}</name>
  <arch>src</arch>
  <version epoch="0" ver="{version}" rel="{release}"/>
  <checksum type="sha256" pkgid="YES">{sha256}</checksum>
  <summary>Advanced IP routing and network device configuration tools</summary>
  <location href="{href}"/>
  <size package="{size}" installed="0" archive="0"/>
  <format>
    <rpm:license>GPLv2+ and Public Domain</rpm:license>
  </format>
</package>
"""


def package_xml(
    href: str, body: bytes = b"srpm", name: str = "iproute", version: str = "3.6.0", release: str = "2.fc18"
) -> str:
    return PACKAGE.format(
        name=name,
        version=version,
        release=release,
        sha256=hashlib.sha256(body).hexdigest(),
        href=href,
        size=len(body),
    )


def write_repo(www: Path, repo: str, packages: str = "", count: int = 1, size: str | None = None) -> None:
    """A source repository at ``www/repo`` whose primary lists ``packages`` (XML) as given."""
    folder = www / repo / "repodata"
    folder.mkdir(parents=True, exist_ok=True)
    raw = PRIMARY.format(count=count, packages=packages).encode()
    packed = gzip.compress(raw, mtime=0)
    (folder / "primary.xml.gz").write_bytes(packed)
    (folder / "repomd.xml").write_text(
        REPOMD.format(
            sha256=hashlib.sha256(packed).hexdigest(),
            open_sha256=hashlib.sha256(raw).hexdigest(),
            href="repodata/primary.xml.gz",
            size=len(packed) if size is None else size,
            open_size=len(raw),
        )
    )


def write_archive(www: Path, packages: str, size: str | None = None) -> None:
    """Both source repositories the recipes name: the release one with ``packages``, updates empty."""
    write_repo(www, SOURCE_REPOS[0], packages, size=size)
    write_repo(www, SOURCE_REPOS[1], "", count=0)


def edit_recipe(world: Path, old: str, new: str, name: str = "iproute-3.6.0-fc18") -> None:
    path = world / "home" / "specs" / f"{name}.toml"
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new))


# The netnsfix CLI run as a program that prints its own peak resident memory (VmHWM): ru_maxrss carries
# over the peak of the image before execve, the forking pytest's size (159 MiB late in the whole suite,
# 50 MiB alone), not the command's.
PEAK = """
import sys
from netnsfix.cli import main
code = main(sys.argv[1:])
with open("/proc/self/status") as status:
    peak = [line.split()[1] for line in status if line.startswith("VmHWM:")][0]
print(f"peak-rss-kib {peak}", file=sys.stderr)
sys.exit(code)
"""
