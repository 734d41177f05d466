"""Hostile inputs, round two (issue 20), on the build side: code from data, writes outside the target,
injection into files others read, corrupt packages published, confinement by spelling, resources, and
the loose ends. Each case runs the command as a user runs it and asserts the exact line, the exit code
(the error class's own, so issue 17's move of every error to 2 carries over), no traceback, and that
nothing outside the command's own output changed (tree checksums before and after, hostilekit).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from hostilekit import (
    PEAK,
    SOURCE_REPOS,
    Case,
    both,
    edit_recipe,
    make_world,
    netnsfix,
    package_xml,
    run_case,
    write,
    write_archive,
)
from rpmkit import build_rpms, make_outdir
from scripted_http import Slow
from test_hostile_source import LOCK, NO_SERVER, RESOLVE, SRPM, lock_text, with_lock
from testkit import ROOT

from netnsfix.cli import Exit
from netnsfix.errors import (
    FetchError,
    RepodataError,
)
from netnsfix.manifest import FileRecord, Manifest
from netnsfix.publish import repofile
from netnsfix.util.httpserve import serving

RECIPE_CODE = Exit.ERROR
FETCH_CODE = Exit.ERROR
REPODATA_CODE = Exit.ERROR
PUBLISH_CODE = Exit.ERROR
MANIFEST_CODE = Exit.ERROR
PATCH_CODE = Exit.ERROR
PUBLISH = ("publish", "{work}/out", "--repo", "{work}/repo")
TREE = str(ROOT / "src" / "netnsfix" / "demo" / "iproute2-3.6.0")


def recipe_edit(old: str, new: str):
    return lambda world: edit_recipe(world, old, new)


def archive(href: str):
    return lambda world: write_archive(world / "www", package_xml(href))


def fifo(relative: str):
    def setup(world: Path) -> None:
        (world / relative).parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(world / relative)

    return setup


def symlink(relative: str, target: str):
    def setup(world: Path) -> None:
        (world / relative).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(world / target, world / relative)

    return setup


# -- families without packages: recipes, repodata, locks, the cache, URLs, special files -------------

CASES = [
    # code from data (what the recipe says never reaches rpm as a line of its own)
    Case(
        "recipe-changelog-text-newline",
        ("srpm", "--mirror", NO_SERVER, "--lock", LOCK, "--out", "{work}/out"),
        RECIPE_CODE,
        r"iproute-3\.6\.0-fc18\.toml: field 'changelog\.text' holds the control character '\\n'; values are one line$",
        recipe_edit('text = "Do not remount', 'text = "x\\n%post\\ntouch /tmp/pwned\\nDo not remount'),
    ),
    Case(
        "recipe-changelog-author-trailing-newline",
        ("srpm", "--mirror", NO_SERVER, "--lock", LOCK, "--out", "{work}/out"),
        RECIPE_CODE,
        r"field 'changelog\.author' holds the control character '\\n'; values are one line$",
        recipe_edit('author = "netnsfix <netnsfix@localhost>"', 'author = "netnsfix <netnsfix@localhost>\\n"'),
    ),
    Case(
        "recipe-package-name-nul",
        RESOLVE,
        RECIPE_CODE,
        r"field 'package\.name' holds the control character '\\x00'; values are one line$",
        recipe_edit('name = "iproute"', 'name = "iproute\\u0000"'),
    ),
    Case(
        "recipe-value-trailing-space",
        RESOLVE,
        RECIPE_CODE,
        r"field 'package\.version' '3\.6\.0 ' starts or ends with whitespace$",
        recipe_edit('version = "3.6.0"', 'version = "3.6.0 "'),
    ),
    Case(
        "recipe-patch-name-macro",
        RESOLVE,
        RECIPE_CODE,
        r"patch file name 'x%\{lua:os\.exit\(\)\}\.patch' may only hold letters, digits and \. _ \+ ~ - "
        r"\(it becomes the spec's Patch tag\)$",
        both(
            write("home/patches/x%{lua:os.exit()}.patch", b"--- a/x\n+++ b/x\n"),
            recipe_edit(
                'file = "patches/iproute-3.6.0-netns-keep-sys.patch"', 'file = "patches/x%{lua:os.exit()}.patch"'
            ),
        ),
    ),
    # loose ends: strict keys
    Case(
        "recipe-unknown-top-key",
        RESOLVE,
        RECIPE_CODE,
        r"iproute-3\.6\.0-fc18\.toml: unknown key 'fuzz' \(recipes are strict; known here: archive, changelog, "
        r"description, distribution, gpg, package, patch, release\)$",
        recipe_edit("[package]", "fuzz = 3\n\n[package]"),
    ),
    Case(
        "recipe-unknown-table-key",
        RESOLVE,
        RECIPE_CODE,
        r"unknown key 'patch\.strip' \(recipes are strict; known here: bug, file\)$",
        recipe_edit("bug = 882047", "bug = 882047\nstrip = 0"),
    ),
    Case(
        "recipe-unknown-gpg-key-field",
        RESOLVE,
        RECIPE_CODE,
        r"unknown key 'gpg\.keys\.trust' \(recipes are strict; known here: file, fingerprint\)$",
        recipe_edit('file = "specs/keys/', 'trust = "always"\nfile = "specs/keys/'),
    ),
    Case(
        "recipe-source-repo-dotdot",
        RESOLVE,
        RECIPE_CODE,
        r"field 'archive\.source_repos' entry '\.\./\.\./etc' is not a path below the base URL: it climbs out by '\.\.'$",
        recipe_edit('"updates/18/SRPMS"]', '"../../etc"]'),
    ),
    # confinement by spelling: percent-encoded '..' in a repodata href and a lock location
    Case(
        "href-percent-dotdot",
        RESOLVE,
        REPODATA_CODE,
        r"primary\.xml\.gz: package 'iproute' has location href '%2e%2e/%2e%2e/x\.src\.rpm', which is not a path "
        "inside the repository$",
        archive("%2e%2e/%2e%2e/x.src.rpm"),
    ),
    Case(
        "href-double-percent-dotdot",
        RESOLVE,
        REPODATA_CODE,
        r"location href '%252E%252E/x\.src\.rpm', which is not a path inside the repository$",
        archive("%252E%252E/x.src.rpm"),
    ),
    Case(
        "href-percent-slash",
        RESOLVE,
        REPODATA_CODE,
        r"location href '\.\.%2fx\.src\.rpm', which is not a path inside the repository$",
        archive("..%2fx.src.rpm"),
    ),
    Case(
        "href-percent-newline",
        RESOLVE,
        REPODATA_CODE,
        r"location href 'x%0a\.src\.rpm', which is not a path inside the repository$",
        archive("x%0a.src.rpm"),
    ),
    Case(
        "lock-location-percent-dotdot",
        ("fetch", "--mirror", NO_SERVER, "--lock", LOCK),
        RECIPE_CODE,
        r"malformed lock: location '%2e%2e/%2e%2e/x' is not a path inside the repository \(it climbs out by '\.\.'\)$",
        with_lock(lock_text("%2e%2e/%2e%2e/x")),
    ),
    # injection: URLs entering from the command line or a lock
    Case(
        "mirror-newline",
        ("resolve", "--mirror", "http://127.0.0.1:9/x\n[evil]", "--lock", LOCK),
        FETCH_CODE,
        r"--mirror 'http://127\.0\.0\.1:9/x\\n\[evil\]': holds whitespace \('\\n'\)$",
    ),
    Case(
        "mirror-no-host",
        ("resolve", "--mirror", "http:///x", "--lock", LOCK),
        FETCH_CODE,
        r"--mirror 'http:///x': names no host$",
    ),
    Case(
        "mirror-javascript",
        ("resolve", "--mirror", "javascript:alert(1)", "--lock", LOCK),
        FETCH_CODE,
        r"--mirror 'javascript:alert\(1\)': is not an http:// or https:// URL$",
    ),
    Case("mirror-empty", ("resolve", "--mirror", "", "--lock", LOCK), FETCH_CODE, r"--mirror '': is empty$"),
    Case(
        "lock-url-newline",
        ("fetch", "--mirror", NO_SERVER, "--lock", LOCK),
        RECIPE_CODE,
        r"malformed lock: url 'https://example\.org/x\\n\[evil\]' holds whitespace \('\\n'\)$",
        with_lock(
            lock_text().replace(
                '"url": "https://example.org/releases/18/Everything/source/SRPMS/iproute-3.6.0-2.fc18.src.rpm"',
                '"url": "https://example.org/x\\n[evil]"',
            )
        ),
    ),
    # resources: special files given as inputs are refused at once (never a hang: 120 s would kill the case)
    Case(
        "recipe-is-a-fifo",
        ("resolve", "fifo"),
        RECIPE_CODE,
        r"fifo\.toml: cannot read the recipe: it is a FIFO, not a file$",
        fifo("home/specs/fifo.toml"),
    ),
    Case(
        "lock-is-a-fifo",
        ("fetch", "--lock", "{work}/lock.json"),
        RECIPE_CODE,
        r"lock\.json: cannot read the lock: it is a FIFO, not a file$",
        fifo("work/lock.json"),
    ),
    Case(
        "lock-is-a-device",
        ("fetch", "--lock", "/dev/zero"),
        RECIPE_CODE,
        r"^netnsfix: error: /dev/zero: cannot read the lock: it is a character device, not a file$",
    ),
    Case(
        "patch-is-a-fifo",
        ("patch", "check", "{work}/x.patch", "--source", TREE),
        PATCH_CODE,
        r"x\.patch: cannot read the patch: it is a FIFO, not a file$",
        fifo("work/x.patch"),
    ),
    Case(
        "pasted-diff-is-a-device",
        ("patch", "import", "/dev/zero", "--source", TREE, "-o", "{work}/x.patch"),
        PATCH_CODE,
        r"/dev/zero: cannot read: it is a character device, not a file$",
    ),
    Case(
        "gpg-key-is-a-folder",  # was "missing"
        ("srpm", "--mirror", NO_SERVER, "--lock", LOCK, "--gpg-key", "{work}", "--out", "{work}/out"),
        Exit.ERROR,
        r"/work: is a folder, not a file: a public key file is what the packages' signatures are checked against$",
    ),
    Case(
        "srpm-given-is-a-fifo",
        ("build", "--srpm", "{work}/x.src.rpm", "--out", "{work}/out", "--image", "netnsfix/none"),
        Exit.ERROR,
        r"--srpm .*/work/x\.src\.rpm: is a FIFO, not a file$",
        fifo("work/x.src.rpm"),
    ),
    Case(
        "srpm-given-is-a-folder",
        ("build", "--srpm", "{work}/x.src.rpm", "--out", "{work}/out", "--image", "netnsfix/none"),
        Exit.ERROR,
        r"--srpm .*/work/x\.src\.rpm: is a folder, not a file$",
        write("work/x.src.rpm", None),
    ),
    # writes outside the target: the cache's partial file or folders planted as symlinks
    Case(
        "cache-partial-folder-is-a-symlink",
        ("fetch", "--mirror", "{mirror}", "--lock", LOCK),
        FETCH_CODE,
        r"cache/downloads/partial: cannot use the download cache: a symlink is in the way$",
        both(
            with_lock(lock_text()),
            write("www/releases/18/Everything/source/SRPMS/" + SRPM, b"srpm"),
            write("elsewhere/keep", b"x"),
            symlink("cache/downloads/partial", "elsewhere"),
        ),
        touches=("cache/downloads/locks",),
    ),
]


def _srpm_out_in_repository(world: Path) -> None:
    write_archive(world / "www", package_xml(SRPM))


CASES += [
    Case(
        "srpm-out-inside-a-repository",
        ("srpm", "--mirror", NO_SERVER, "--lock", LOCK, "--out", "{www}/" + SOURCE_REPOS[0] + "/out"),
        MANIFEST_CODE,
        r"/out: is inside the yum repository .*/www/releases/18/Everything/source/SRPMS; the outputs would be served "
        "with it: give --out a folder of its own$",
        _srpm_out_in_repository,
    ),
    Case(
        "srpm-out-inside-the-cache",
        ("srpm", "--mirror", NO_SERVER, "--lock", LOCK, "--out", "{cache}/out"),
        MANIFEST_CODE,
        r"/cache/out: is inside netnsfix's cache .*/cache; give --out a folder of its own$",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_build(case: Case, tmp_path: Path) -> None:
    run_case(case, tmp_path)


def test_a_partial_file_planted_as_a_symlink_is_dropped_not_appended_through(tmp_path: Path) -> None:
    """cache/downloads/partial/SHA.part -> a file outside: the fetch drops the link (one warning), fetches whole,
    and the file it pointed at keeps its bytes."""
    body = b"srpm"
    sha = hashlib.sha256(body).hexdigest()

    def setup(world: Path) -> None:
        (world / "work" / "iproute.lock.json").write_text(lock_text(body=body))
        (world / "www" / SOURCE_REPOS[0]).mkdir(parents=True)
        (world / "www" / SOURCE_REPOS[0] / SRPM).write_bytes(body)
        (world / "victim").write_bytes(b"sr")  # a prefix of the body: a resume would append "pm" to it
        (world / "cache" / "downloads" / "partial").mkdir(parents=True)
        os.symlink(world / "victim", world / "cache" / "downloads" / "partial" / f"{sha}.part")

    case = Case(
        "cache-part-is-a-symlink",
        ("fetch", "--mirror", "{mirror}", "--lock", LOCK),
        0,
        rf"partial/{sha}\.part: not a regular file in the cache \(not a regular file\); dropped$",
        setup,
        touches=("cache",),
        verdict="correct",
    )
    run_case(case, tmp_path)
    assert (tmp_path / "victim").read_bytes() == b"sr"
    assert (tmp_path / "cache" / "downloads" / "sha256" / sha[:2] / sha).read_bytes() == body


# -- code from data, end to end: recipe text with rpm macros through a real `netnsfix srpm` ---------------

MACROS = (
    '%{lua: os.execute("touch {world}/LUA")} %(touch {world}/SHELL) %{expand:%%(touch {world}/EXPAND)} '
    "%{expand:%{lua: os.execute('touch {world}/EXPANDLUA')}}"
)


def test_recipe_text_with_macros_runs_nothing_and_reads_literally(tmp_path: Path, demo_archive, need_tool) -> None:
    """The changelog text and author carry %{lua:...}, %(...) and %{expand:...}: `netnsfix srpm` runs none of
    them (no marker file appears) and the SRPM's changelog shows the text as written."""
    need_tool("rpm")
    world = tmp_path
    make_world(world)
    for repo in SOURCE_REPOS:
        shutil.copytree(demo_archive.root / repo, world / "www" / repo)
    text = MACROS.replace("{world}", str(world))
    author = f"Mallory %(touch {world}/AUTHOR) <m@example.org>"
    edit_recipe(world, 'author = "netnsfix <netnsfix@localhost>"', f"author = {json.dumps(author)}")
    edit_recipe(
        world,
        "text = \"Do not remount /sys in ip netns exec: systemd's shared mounts propagated the unmount to the host "
        '(#882047)"',
        f"text = {json.dumps(text)}",  # a TOML basic string: JSON's escapes are TOML's
    )
    case = Case(
        "srpm-recipe-text-macros",
        (
            "srpm",
            "--mirror",
            "{mirror}",
            "--lock",
            LOCK,
            "--out",
            "{work}/out",
            "--gpg-key",
            str(demo_archive.key_file),
        ),
        0,
        "",
        touches=("work/out", "work/iproute.lock.json", "cache"),
        lines=0,
        verdict="correct",
    )
    run_case(case, world, prepared=True)
    for marker in ("LUA", "SHELL", "EXPAND", "EXPANDLUA", "AUTHOR"):
        assert not (world / marker).exists(), f"{marker}: a macro from the recipe ran"
    (srpm,) = (world / "work" / "out" / "iproute-3.6.0-fc18" / "srpm").glob("*.src.rpm")
    changelog = subprocess.run(["rpm", "-qp", "--changelog", str(srpm)], capture_output=True, text=True, check=True)
    first = changelog.stdout.split("\n\n")[0]
    assert author in first.splitlines()[0], first
    assert " ".join(first.split()[len(first.splitlines()[0].split()) :]).startswith("- " + text), (
        first
    )  # the text, literally (wrapped at spaces only)


# -- resources: a gzip bomb in primary.xml.gz -----------------------------------------------------------

BOMB_OPEN_SIZE = 1536 << 20  # 1.5 GiB of zeros, about 1.5 MB as gzip


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """One gzip member of "<metadata>" and BOMB_OPEN_SIZE zeros, made in a second instead of compressing 1.5 GiB.

    A full flush resets the compressor, so every further MiB of zeros compresses to the same bytes: the
    deflate stream is the first MiB's bytes, then one MiB's bytes repeated, then the end; the trailer holds
    the CRC-32 and size of the whole (a reader that gets that far checks them)."""
    block = b"\0" * (1 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)  # -15: raw deflate, framed as gzip below
    first = packer.compress(b"<metadata>" + block) + packer.flush(zlib.Z_FULL_FLUSH)
    repeated, again = (packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH) for _ in range(2))
    assert repeated == again, "a full flush did not make each MiB compress alike"
    end = packer.flush()
    crc = zlib.crc32(b"<metadata>")
    for _ in range(BOMB_OPEN_SIZE >> 20):
        crc = zlib.crc32(block, crc)
    size = len(b"<metadata>") + BOMB_OPEN_SIZE
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # gzip, deflate, no name, mtime 0, best, unknown OS
    trailer = crc.to_bytes(4, "little") + (size & 0xFFFFFFFF).to_bytes(4, "little")
    return header + first + repeated * ((BOMB_OPEN_SIZE >> 20) - 1) + end + trailer


def _bomb_archive(bomb: bytes, open_size: int):
    def setup(world: Path) -> None:
        write_archive(world / "www", package_xml(SRPM))
        folder = world / "www" / SOURCE_REPOS[0] / "repodata"
        (folder / "primary.xml.gz").write_bytes(bomb)
        repomd = (folder / "repomd.xml").read_text()
        repomd = re.sub(
            r"<checksum type=\"sha256\">[0-9a-f]+<",
            f'<checksum type="sha256">{hashlib.sha256(bomb).hexdigest()}<',
            repomd,
        )
        repomd = re.sub(r"<size>\d+</size>", f"<size>{len(bomb)}</size>", repomd)
        repomd = re.sub(r"<open-size>\d+</open-size>", f"<open-size>{open_size}</open-size>", repomd)
        (folder / "repomd.xml").write_text(repomd)

    return setup


@pytest.mark.parametrize(
    ("open_size", "pattern", "ceiling_mib"),
    [
        (
            1 << 20,
            r"primary\.xml\.gz: decompresses to more than the 1048576 bytes repomd\.xml's open-size says; "
            r"refused \(a compression bomb\?\)$",
            150,
        ),
        (
            BOMB_OPEN_SIZE,
            r"primary\.xml\.gz: decompresses to more than 268435456 bytes, netnsfix's limit for repodata; "
            r"refused \(a compression bomb\?\)$",
            450,
        ),
    ],
    ids=["open-size-small", "open-size-honest"],
)
def test_a_gzip_bomb_fails_fast_with_bounded_memory(
    tmp_path: Path, gzip_bomb: bytes, open_size: int, pattern: str, ceiling_mib: int
) -> None:
    """1.5 MB of gzip that grows to 1.5 GiB: one line, and the process never holds more than the cap (RSS measured)."""
    assert len(gzip_bomb) < 2 << 20
    make_world(tmp_path)
    _bomb_archive(gzip_bomb, open_size)(tmp_path)
    with serving(tmp_path / "www") as served:
        env = {
            **os.environ,
            "NETNSFIX_HOME": str(tmp_path / "home"),
            "NETNSFIX_CACHE": str(tmp_path / "cache"),
            "PYTHONPATH": str(ROOT / "src"),
        }
        argv = ["resolve", "--mirror", served.url, "--lock", str(tmp_path / "work" / "lock.json")]
        done = subprocess.run([sys.executable, "-c", PEAK, *argv], env=env, capture_output=True, text=True, timeout=120)
    lines = done.stderr.splitlines()
    assert done.returncode == REPODATA_CODE, done.stderr
    assert len(lines) == 2 and "Traceback" not in done.stderr, done.stderr
    assert re.search(pattern, lines[0]), lines[0]
    peak_mib = int(lines[1].split()[1]) / 1024
    assert peak_mib < ceiling_mib, f"peak RSS {peak_mib:.0f} MiB"
    assert not (tmp_path / "work" / "lock.json").exists()


# -- families with packages: publish ------------------------------------------------------------------


@pytest.fixture(scope="module")
def rpms() -> Path:
    for tool in ("rpmbuild", "createrepo_c"):
        if shutil.which(tool) is None:
            from testkit import unavailable

            unavailable(f"{tool} is not installed")
    return build_rpms("nfxhostile", 1)


def good_outdir(rpms: Path):
    def setup(world: Path) -> None:
        make_outdir(world / "work" / "out", sorted(rpms.glob("*.rpm")))

    return setup


def altered_outdir(rpms: Path, how: str):
    """A build folder whose binary RPM was altered after the build, with the manifest rewritten to match."""

    def setup(world: Path) -> None:
        out = make_outdir(world / "work" / "out", sorted(rpms.glob("*.rpm")))
        rpm = out / "nfxhostile-0001-1.0-1.noarch.rpm"
        data = bytearray(rpm.read_bytes())
        if how == "payload":
            data[-40] ^= 0x01  # inside the compressed payload
        else:
            data = data[:-64]  # the payload cut short
        rpm.write_bytes(bytes(data))
        records = [
            FileRecord.of(p, p.name, "srpm" if p.name.endswith(".src.rpm") else "rpm")
            for p in sorted(out.glob("*.rpm"))
        ]
        Manifest(stage="build", recipe="test", inputs=(), outputs=tuple(records)).write(out)

    return setup


def repo_file(text: str):
    def setup(world: Path) -> None:
        (world / "work" / "repo").mkdir(parents=True, exist_ok=True)
        (world / "work" / "repo" / repofile.REPO_FILE).write_bytes(text.encode("utf-8", "surrogateescape"))

    return setup


GOOD_REPO_FILE = repofile.render("http://repo.example.org/netnsfix", signed=False)


def publish_cases(rpms: Path) -> list[Case]:
    good = good_outdir(rpms)
    return [
        # corrupt input published as good
        Case(
            "payload-altered-manifest-updated",
            PUBLISH,
            PUBLISH_CODE,
            r"out/nfxhostile-0001-1\.0-1\.noarch\.rpm: payload sha256 digest is [0-9a-f]{64}, but its header says "
            r"[0-9a-f]{64}: the package was altered or cut short after it was built; refusing to publish it$",
            altered_outdir(rpms, "payload"),
        ),
        Case(
            "payload-truncated-manifest-updated",
            PUBLISH,
            PUBLISH_CODE,
            r"out/nfxhostile-0001-1\.0-1\.noarch\.rpm: header and payload are \d+ bytes, but its signature header says "
            r"\d+: cut short or altered; refusing to publish it$",
            altered_outdir(rpms, "truncate"),
        ),
        # injection into netnsfix.repo
        Case(
            "baseurl-newline-section",
            (*PUBLISH, "--baseurl", "http://h/x\n[evil]\nbaseurl=http://evil\ngpgcheck=0"),
            PUBLISH_CODE,
            r"--baseurl 'http://h/x\\n\[evil\]\\nbaseurl=http://evil\\ngpgcheck=0': holds whitespace \('\\n'\)$",
            good,
        ),
        Case(
            "baseurl-javascript",
            (*PUBLISH, "--baseurl", "javascript:alert(1)"),
            PUBLISH_CODE,
            r"--baseurl 'javascript:alert\(1\)': is not an http:// or https:// or file:// URL$",
            good,
        ),
        Case(
            "baseurl-space", (*PUBLISH, "--baseurl", "http://h/a b"), PUBLISH_CODE, r"holds whitespace \(' '\)$", good
        ),
        Case("baseurl-empty", (*PUBLISH, "--baseurl", ""), PUBLISH_CODE, r"--baseurl '': is empty$", good),
        Case(
            "baseurl-file-without-path",
            (*PUBLISH, "--baseurl", "file://"),
            PUBLISH_CODE,
            r"--baseurl 'file://': names no folder \(file:///PATH\)$",
            good,
        ),
        Case(
            "baseurl-no-host",
            (*PUBLISH, "--baseurl", "https:///x"),
            PUBLISH_CODE,
            r"'https:///x': names no host$",
            good,
        ),
        Case(
            "repo-file-has-an-evil-section",
            PUBLISH,
            PUBLISH_CODE,
            r"repo/netnsfix\.repo: has a section netnsfix does not write \(\[evil\]\); hosts would read it too: "
            r"remove it \(or the file\) before publishing$",
            both(good, repo_file(GOOD_REPO_FILE + "\n[evil]\nname=evil\nbaseurl=http://evil/\ngpgcheck=0\n")),
        ),
        Case(
            "repo-file-baseurl-javascript",
            PUBLISH,
            PUBLISH_CODE,
            r"repo/netnsfix\.repo: baseurl 'javascript:x': is not an http:// or https:// or file:// URL$",
            both(good, repo_file(GOOD_REPO_FILE.replace("http://repo.example.org/netnsfix", "javascript:x", 1))),
        ),
        Case(
            "repo-file-not-utf8",  # was: unexpected UnicodeDecodeError ... position N, without the file
            PUBLISH,
            PUBLISH_CODE,
            r"repo/netnsfix\.repo: not UTF-8 text \(invalid continuation byte at byte \d+\)$",
            both(good, repo_file(GOOD_REPO_FILE + "# caf\udce9\n")),
        ),
        Case(
            "repo-file-not-ini",
            PUBLISH,
            PUBLISH_CODE,
            r"repo/netnsfix\.repo: not a repository file netnsfix wrote \(File contains no section headers\.\); move it away$",
            both(good, repo_file("baseurl=http://x\n")),
        ),
        # writes outside the target: the repository and the build folder apart
        Case(
            "repo-is-the-build-folder",
            ("publish", "{work}/out", "--repo", "{work}/out"),
            PUBLISH_CODE,
            r"--repo .*/work/out: is the build folder .*/work/out; publish into a folder of its own$",
            good,
        ),
        Case(
            "repo-is-the-build-folders-parent",
            ("publish", "{work}/out", "--repo", "{work}"),
            PUBLISH_CODE,
            r"--repo .*/work: holds the build folder .*/work/out; publish into a folder of its own$",
            good,
        ),
        Case(
            "repo-inside-the-build-folder",
            ("publish", "{work}/out", "--repo", "{work}/out/repo"),
            PUBLISH_CODE,
            r"--repo .*/work/out/repo: is inside the build folder .*/work/out; publish into a folder of its own$",
            good,
        ),
        Case(
            "repo-inside-the-cache",
            ("publish", "{work}/out", "--repo", "{cache}/repo"),
            PUBLISH_CODE,
            r"--repo .*/cache/repo: is inside netnsfix's cache .*/cache; publish into a folder of its own$",
            good,
        ),
        Case(
            "repo-packages-folder-is-a-symlink",
            PUBLISH,
            PUBLISH_CODE,
            r"repo/Packages: cannot write into the repository: a symlink is in the way$",
            both(good, write("elsewhere/keep", b"x"), symlink("work/repo/Packages", "elsewhere")),
            touches=("work/repo/.netnsfix-publish.lock",),
        ),
        # loose ends: a folder or FIFO where a file belongs, a manifest lacking a field
        Case(
            "listed-rpm-is-a-folder",  # was: "listed in manifest.json but missing"
            PUBLISH,
            PUBLISH_CODE,
            r"out/x\.rpm: listed in .*manifest\.json, but it is a folder, not a file$",
            lambda world: _listed(world, rpms, "x.rpm", lambda p: p.mkdir()),
        ),
        Case(
            "listed-rpm-is-a-fifo",
            PUBLISH,
            PUBLISH_CODE,
            r"out/x\.rpm: listed in .*manifest\.json, but it is a FIFO, not a file$",
            lambda world: _listed(world, rpms, "x.rpm", os.mkfifo),
        ),
        Case(
            "manifest-is-a-fifo",
            PUBLISH,
            PUBLISH_CODE,
            r"out/manifest\.json: cannot read the manifest: it is a FIFO, not a file$",
            both(write("work/out/.keep", b""), fifo("work/out/manifest.json")),
        ),
        Case(
            "manifest-lacks-a-field",  # was: not a netnsfix manifest: 'recipe'
            PUBLISH,
            PUBLISH_CODE,
            r"out/manifest\.json: not a netnsfix manifest: it lacks the field 'recipe'$",
            write("work/out/manifest.json", b'{"stage": "build", "inputs": [], "outputs": []}'),
        ),
        Case("outdir-is-a-file", PUBLISH, PUBLISH_CODE, r"work/out: not a folder$", write("work/out", b"x")),
    ]


def _listed(world: Path, rpms: Path, name: str, make) -> None:
    out = make_outdir(world / "work" / "out", sorted(rpms.glob("*.rpm")))
    make(out / name)
    records = [
        FileRecord.of(p, p.name, "srpm" if p.name.endswith(".src.rpm") else "rpm")
        for p in sorted(out.glob("*.rpm"))
        if p.is_file() and not p.is_fifo()
    ]
    records.append(FileRecord(name, "0" * 64, 0, "rpm"))
    Manifest(stage="build", recipe="test", inputs=(), outputs=tuple(records)).write(out)


PUBLISH_IDS = [c.id for c in publish_cases(Path("/nonexistent"))]


@pytest.mark.parametrize("case_id", PUBLISH_IDS)
def test_hostile_publish_round_two(case_id: str, rpms: Path, tmp_path: Path) -> None:
    case = next(c for c in publish_cases(rpms) if c.id == case_id)
    run_case(case, tmp_path)
    assert not (tmp_path / "work" / "repo" / "repodata").exists()


def test_rpm_itself_calls_the_altered_packages_corrupt(rpms: Path, tmp_path: Path, need_tool) -> None:
    """The check agrees with rpm's own: rpmkeys --checksig (digests only) fails both altered packages and
    passes the intact one, so the refusal above is not netnsfix's opinion alone."""
    need_tool("rpmkeys")
    from netnsfix.rpm.digests import verify_payload

    for how in ("payload", "truncate"):
        world = tmp_path / how
        make_world(world)
        altered_outdir(rpms, how)(world)
        bad = world / "work" / "out" / "nfxhostile-0001-1.0-1.noarch.rpm"
        checked = subprocess.run(["rpmkeys", "--checksig", "--nosignature", str(bad)], capture_output=True, text=True)
        assert checked.returncode != 0 and "NOT OK" in checked.stdout, checked
    good = rpms / "nfxhostile-0001-1.0-1.noarch.rpm"
    assert subprocess.run(["rpmkeys", "--checksig", "--nosignature", str(good)], capture_output=True).returncode == 0
    assert "payload sha256" in verify_payload(good).checked


def test_a_newline_in_baseurl_never_adds_a_section(rpms: Path, tmp_path: Path) -> None:
    """After the refusal, a good publish writes exactly the two sections netnsfix writes."""
    make_world(tmp_path)
    good_outdir(rpms)(tmp_path)
    bad = netnsfix([*(a.format(work=tmp_path / "work") for a in PUBLISH), "--baseurl", "http://h/\n[evil]"], tmp_path)
    assert bad.returncode == PUBLISH_CODE
    done = netnsfix([*(a.format(work=tmp_path / "work") for a in PUBLISH), "--baseurl", "http://h/r"], tmp_path)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "work" / "repo" / repofile.REPO_FILE).read_text()
    assert [line for line in text.splitlines() if line.startswith("[")] == ["[netnsfix]", "[netnsfix-source]"]
    assert "baseurl=http://h/r\n" in text


def test_gzip_is_still_read(tmp_path: Path) -> None:
    """The capped reader reads what createrepo_c writes (gzip, one member) exactly as gzip does."""
    from netnsfix.archive.repodata import _decompress

    raw = os.urandom(3 << 20).hex().encode()
    assert bytes(_decompress(gzip.compress(raw), "primary.xml.gz", len(raw))) == raw
    with pytest.raises(RepodataError, match=r"cannot decompress"):
        _decompress(gzip.compress(raw)[:-20], "primary.xml.gz", len(raw))


# -- resources: a server that trickles ------------------------------------------------------------------


def test_a_trickling_server_is_given_up_within_the_deadline(
    tmp_path: Path, scripted_server, caplog: pytest.LogCaptureFixture
) -> None:
    """20 bytes a second: the fetch gives up once a window brought less than the minimum rate (one FetchError
    line), keeps what arrived for the next run, and does not try the same server again."""
    from netnsfix.archive.fetch import Cache, Fetcher

    body = os.urandom(4000)
    url = scripted_server.route("/slow.rpm", body, Slow(chunk=20, pause=1.0))
    fetcher = Fetcher(
        Cache(tmp_path / "cache"), retries=3, backoff=0, timeout=5, min_rate=100, rate_window=2, deadline=20
    )
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetcher.fetch([url], hashlib.sha256(body).hexdigest(), len(body))
    took = time.monotonic() - started
    assert re.fullmatch(
        r"http://127\.0\.0\.1:\d+/slow\.rpm: too slow: \d+ bytes in [23] s \(at least 100 bytes/s needed\); gave up "
        r"\(\d+ bytes kept in .*\.part; the next run resumes from there\)",
        str(caught.value),
    ), str(caught.value)
    assert "\n" not in str(caught.value)
    assert took < 6, f"took {took:.1f} s"
    assert len(scripted_server.asked("/slow.rpm")) == 1  # not tried again: the same server would be as slow


def test_the_deadline_stops_a_transfer_that_keeps_the_minimum_rate(tmp_path: Path, scripted_server) -> None:
    """Fast enough for the rate, too slow for the deadline: given up at the deadline, for repodata as for packages."""
    from netnsfix.archive.fetch import Cache, Fetcher

    body = os.urandom(20000)
    url = scripted_server.route("/repomd.xml", body, Slow(chunk=500, pause=0.25))  # 2000 bytes/s: 10 s in all
    fetcher = Fetcher(Cache(tmp_path / "cache"), retries=0, timeout=5, min_rate=100, rate_window=1, deadline=2)
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"/repomd\.xml: gave up after [23] s, the deadline for one file$"):
        fetcher.get_bytes(url)
    assert time.monotonic() - started < 4


def test_repodata_bigger_than_its_limit_is_refused_while_it_arrives(tmp_path: Path, scripted_server) -> None:
    from netnsfix.archive.fetch import Cache, Fetcher

    url = scripted_server.route("/repomd.xml", b"x" * 300_000)
    with pytest.raises(FetchError, match=r"/repomd\.xml: more than 100000 bytes; refused"):
        Fetcher(Cache(tmp_path / "cache"), retries=0).get_bytes(url, limit=100_000)


def test_verify_payload_agrees_with_rpmkeys_byte_by_byte(rpms: Path, tmp_path: Path, need_tool) -> None:
    """One bit flipped at every 29th byte of a real package's main header and payload: netnsfix's verdict
    is rpm's (rpmkeys --checksig --nosignature) each time, and intact it passes both. (In the signature
    header netnsfix is stricter than rpm: it checks the SHA1 and the size rpm 4.18 skips when it has
    SHA256; a flip there fails netnsfix's check whether or not rpm notices.)"""
    need_tool("rpmkeys")
    from netnsfix.errors import UnpackError
    from netnsfix.rpm.digests import verify_payload
    from netnsfix.rpm.header import read_header

    package = rpms / "nfxhostile-0001-1.0-1.noarch.rpm"
    original = package.read_bytes()
    main_start = len(original) - int(
        subprocess.run(["rpm", "-qp", "--qf", "%{SIGSIZE}", str(package)], capture_output=True, text=True).stdout
    )
    assert read_header(package).payload_offset > main_start > 96
    assert verify_payload(package).checked[0] == "payload sha256"
    flipped = tmp_path / "flipped.rpm"
    caught = 0
    for offset in range(main_start, len(original), 29):
        data = bytearray(original)
        data[offset] ^= 1 << (offset % 8)
        flipped.write_bytes(bytes(data))
        try:
            verify_payload(flipped)
            ours = True
        except UnpackError:
            ours = False
        checked = subprocess.run(["rpmkeys", "--checksig", "--nosignature", str(flipped)], capture_output=True)
        assert ours == (checked.returncode == 0), f"byte {offset}: netnsfix says {ours}, rpmkeys {checked.returncode}"
        caught += not ours
    assert caught > 10
