"""The whole build side for real: demo binary repository on 127.0.0.1 -> image -> rpmbuild, network off.

The build root image made here (netnsfix/buildroot:<key>) is kept after the
tests, like any cached build root: a second run of the suite reuses it, which
is itself what test_second_image_reuses checks. Everything else the tests make
(the changed-package image, containers) is removed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest
from rpmrepo import Spec, build_rpm
from srpmfixture import F18_IPROUTE_BUILDREQUIRES, make_patched_srpm
from testkit import next_second

from netnsfix.cli import main
from netnsfix.manifest import read_manifest
from netnsfix.tools.engine import Engine
from netnsfix.util.httpserve import serving

pytestmark = [pytest.mark.slow, pytest.mark.engine]

DEAD_ENGINE = "unix:///nonexistent/netnsfix-test/docker.sock"
RECIPE = "iproute-3.6.0-fc18"  # the default recipe: the build folder's name under --out


@pytest.fixture(scope="module")
def archive(tmp_path_factory, docker_client):
    """The demo archive's binary side (built once, cached by content), served on 127.0.0.1."""
    from netnsfix.demo.binaries import build_demo_binary_repo

    dest = tmp_path_factory.mktemp("archive")
    repo = build_demo_binary_repo(dest)
    with serving(dest) as served:
        yield served.url, repo


@pytest.fixture(scope="module")
def srpms(tmp_path_factory):
    work = tmp_path_factory.mktemp("srpms")
    return {"good": make_patched_srpm(work / "good"), "broken": make_patched_srpm(work / "broken", broken=True)}


@pytest.fixture(scope="module")
def image(archive, srpms, docker_client):
    url, _ = archive
    started = time.monotonic()
    code, out, err = _cli(["image", "--mirror", url, "--srpm", str(srpms["good"])])
    assert code == 0, err
    tag, image_id = out.split()[:2]
    return {"tag": tag, "id": image_id, "seconds": time.monotonic() - started, "stdout": out}


_TRUSTED: list[str] = []  # --gpg-key FILE: the demo archive's packages are signed with the demo key


@pytest.fixture(scope="module", autouse=True)
def _trust_the_demo_key(demo_signer) -> None:
    _TRUSTED[:] = ["--gpg-key", str(demo_signer.public_file)]


def _cli(argv: list[str]) -> tuple[int, str, str]:
    """Run the CLI in this process, capturing what it prints (trusting the demo key where a mirror is read)."""
    import contextlib
    import io

    if "--mirror" in argv:
        argv = [argv[0], *_TRUSTED, *argv[1:]]

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _run(docker_client, tag: str, command: list[str]) -> tuple[int, str]:
    container = docker_client.containers.create(tag, command=command, network_mode="none")
    try:
        container.start()
        status = container.wait()["StatusCode"]
        return status, container.logs().decode()
    finally:
        container.remove(force=True)


def test_image_registers_every_package_with_the_roots_own_rpm(image, docker_client):
    labels = docker_client.images.get(image["tag"]).labels
    wanted = sorted(labels["netnsfix.packages"].split())
    code, listed = _run(docker_client, image["tag"], ["rpm", "-qa", "--qf", "%{NEVRA}\\n"])
    assert code == 0
    assert sorted(listed.split()) == wanted
    assert any(n.startswith("rpm-build-") for n in wanted) and any(n.startswith("gcc-") for n in wanted)
    code, verify = _run(docker_client, image["tag"], ["rpm", "-Va"])
    # Only config files may differ (/etc/passwd and /etc/group gained the build user), and
    # the mount points the engine mounts over at run time (/proc, /sys, /dev), as in mock.
    problems = [
        line
        for line in verify.splitlines()
        if line.strip() and not re.match(r"^\S+\s+c\s", line) and line.split()[-1] not in ("/proc", "/sys", "/dev")
    ]
    assert problems == [], verify


def test_second_image_reuses(archive, srpms, image):
    url, _ = archive
    code, out, _err = _cli(["image", "--mirror", url, "--srpm", str(srpms["good"])])
    assert code == 0
    assert out.split()[:2] == [image["tag"], image["id"]] and "reused" in out


@pytest.mark.root
def test_build_rebuilds_the_patched_srpm_network_off(archive, srpms, image, tmp_path, docker_client, need_root):
    url, _ = archive
    root = tmp_path / "out"
    out = root / RECIPE / "build"  # --out names the output root: the build stage writes ROOT/RECIPE/build
    code, stdout, err = _cli(["build", "--mirror", url, "--srpm", str(srpms["good"]), "--out", str(root)])
    assert code == 0, err + (out / "build.log").read_text() if (out / "build.log").exists() else err
    binary = out / "iproute-3.6.0-2.netnsfix1.fc18.x86_64.rpm"
    assert binary.is_file() and str(binary) in stdout
    log = (out / "build.log").read_text()
    assert "iproute-3.6.0-netns-keep-sys.patch" in log and "network none" in log
    assert "ipnetns.c" in stdout or "ipnetns.c" in log  # the compiler's line streamed to the terminal too
    manifest = read_manifest(out)
    assert manifest.stage == "build"
    kinds = {r.kind for r in manifest.outputs}
    assert kinds == {"srpm", "rpm", "log"}
    assert {r.kind for r in manifest.inputs} == {"srpm", "image"}
    assert manifest.extra["image_id"] == image["id"] and manifest.extra["build_root"]
    assert not docker_client.containers.list(all=True, filters={"ancestor": image["id"]})

    # The ip inside behaves fixed: in a private mount namespace with / rshared (as under
    # systemd), "ip netns exec" leaves /sys/fs/cgroup alone.
    from netnsfix.rpm.extract import extract

    files = extract(binary, tmp_path / "unpacked")
    ip = next(p for p in files if p.name == "ip")
    script = (
        "mount --make-rshared / && mount -t tmpfs netnsfix-test /run && "
        f"before=$(ls /sys/fs/cgroup | wc -l) && {ip} netns add nfxbuild && "
        f"{ip} netns exec nfxbuild true && after=$(ls /sys/fs/cgroup | wc -l) && "
        "echo $before $after"
    )
    result = subprocess.run(["unshare", "--mount", "sh", "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    before, after = result.stdout.split()
    assert int(before) > 0 and after == before

    # Same inputs, outputs unchanged: no container, not even the engine (it is "dead" now).
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCKER_HOST", DEAD_ENGINE)
        started = time.monotonic()
        code, stdout, err = _cli(["build", "--mirror", url, "--srpm", str(srpms["good"]), "--out", str(root)])
        assert code == 0 and "up to date" in err, err
        assert time.monotonic() - started < 5  # generous: bench/bench_build.py measures it
    # A changed output is noticed.
    binary.write_bytes(binary.read_bytes() + b"x")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCKER_HOST", DEAD_ENGINE)
        code, _, err = _cli(["build", "--mirror", url, "--srpm", str(srpms["good"]), "--out", str(root)])
        assert code != 0 and "not answering" in err


def test_broken_spec_fails_keeps_log_leaves_no_container(archive, srpms, image, tmp_path, docker_client):
    url, _ = archive
    out = tmp_path / "out" / RECIPE / "build"
    code, _, err = _cli(["build", "--mirror", url, "--srpm", str(srpms["broken"]), "--out", str(tmp_path / "out")])
    assert code != 0
    assert "failed (exit 1)" in err and str(out / "build.log") in err
    assert "this build fails on purpose" in (out / "build.log").read_text()
    assert not list(out.glob("*.x86_64.rpm")) and not (out / "manifest.json").exists()
    assert not docker_client.containers.list(all=True, filters={"ancestor": image["id"]})


def test_build_with_an_explicit_image(srpms, image, tmp_path, docker_client):
    out = tmp_path / "out" / RECIPE / "build"
    code, _stdout, err = _cli(
        ["build", "--image", image["tag"], "--srpm", str(srpms["good"]), "--out", str(tmp_path / "out")]
    )
    assert code == 0, err
    assert json.loads((out / "manifest.json").read_text())["extra"]["image_id"] == image["id"]


def test_changed_package_makes_a_new_image(archive, srpms, image, tmp_path, docker_client, monkeypatch, demo_signer):
    # Also the path for an engine elsewhere (DOCKER_HOST=tcp://...): packages copied in, not mounted.
    monkeypatch.setattr(Engine, "local", property(lambda self: False))
    _url, repo = archive
    changed = tmp_path / "archive"
    shutil.copytree(
        repo.root, changed, symlinks=False, copy_function=os.link
    )  # links: cheap, and createrepo_c replaces files
    updates = changed / repo.updates.relative_to(repo.root)
    newer = build_rpm(
        Spec(
            "fedora-release",
            "18",
            "2",
            provides=["system-release", "system-release(18)"],
            files={
                "/etc/fedora-release": "Fedora release 18 (Spherical Cow)\\n",
                "/etc/rpm/macros.dist": "%%dist .fc18\\n%%fedora 18\\n",
            },
            symlinks={"/etc/system-release": "fedora-release"},
        ),
        tmp_path / "work",
    )
    (updates / "Packages").mkdir(parents=True, exist_ok=True)
    shutil.copy2(newer, updates / "Packages" / newer.name)
    demo_signer.sign([updates / "Packages" / newer.name], at=1349265600)  # signed as the archive's packages are
    subprocess.run(["createrepo_c", "--quiet", "--general-compress-type=gz", str(updates)], check=True)
    with serving(changed) as served:
        code, out, err = _cli(["image", "--mirror", served.url, "--srpm", str(srpms["good"])])
    assert code == 0, err
    tag = out.split()[0]
    try:
        assert tag != image["tag"] and "reused" not in out
        assert "fedora-release-18-2.noarch" in docker_client.images.get(tag).labels["netnsfix.packages"]
    finally:
        docker_client.images.remove(tag, force=True)


@pytest.mark.parametrize("kind", ["unsigned", "other-key", "altered"])
def test_a_build_root_package_not_signed_by_the_key_stops_before_unpacking(
    kind, archive, srpms, tmp_path, docker_client, monkeypatch, demo_signer
):
    """A mirror that serves its own repodata over a changed package: sha256 passes, the signature does not."""
    from netnsfix.demo.signkey import demo_key

    _url, repo = archive
    changed = tmp_path / "archive"
    shutil.copytree(repo.root, changed, symlinks=False, copy_function=os.link)
    updates = changed / repo.updates.relative_to(repo.root)
    (target,) = (updates / "Packages").glob("*/patch-*.rpm")
    variant = tmp_path / target.name  # a copy of its own: the cached archive's file is linked, never changed
    shutil.copyfile(target, variant)
    if kind in ("unsigned", "other-key"):
        subprocess.run(["rpmsign", "--delsign", str(variant)], check=True, capture_output=True)
    if kind == "other-key":
        demo_key(tmp_path / "other-key").sign([variant], at=1349265600)
    if kind == "altered":
        data = bytearray(variant.read_bytes())
        data[-200] ^= 0x01
        variant.write_bytes(bytes(data))
    target.unlink()
    shutil.copyfile(variant, target)
    subprocess.run(["createrepo_c", "--quiet", "--general-compress-type=gz", str(updates)], check=True)
    monkeypatch.setenv("NETNSFIX_CACHE", str(tmp_path / "cache"))
    images_before = {i.id for i in docker_client.images.list()}
    with serving(changed) as served:
        code, _out, err = _cli(["image", "--mirror", served.url, "--srpm", str(srpms["good"])])
    assert code == 2
    errors = [line for line in err.splitlines() if line.startswith("netnsfix: error")]
    assert len(errors) == 1 and err.strip().splitlines()[-1] == errors[0], err
    # the package, and the key (the trusted one; for another key's signature, that key too)
    assert f"{target.name}: " in errors[0] and demo_signer.fingerprint[-8:] in errors[0]
    assert "nothing of it was unpacked" in errors[0]
    assert not (tmp_path / "cache" / "payloads").exists() or not any((tmp_path / "cache" / "payloads").iterdir())
    assert {i.id for i in docker_client.images.list()} <= images_before


def test_engine_not_running(srpms, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", DEAD_ENGINE)
    code, out, _ = _cli(["doctor"])
    assert code != 0
    assert "not answering" in out and "scripts/engine start" in out and "something needed is missing" in out
    code, _, err = _cli(
        ["build", "--image", "netnsfix/buildroot:none", "--srpm", str(srpms["good"]), "--out", str(tmp_path)]
    )
    assert code != 0 and "not answering" in err and "scripts/engine start" in err


def test_ctrl_c_during_the_build_leaves_no_container(srpms, image, tmp_path, docker_client, engine):
    from netnsfix.build.image import BuildImage
    from netnsfix.build.rebuild import rebuild

    def interrupt(line: str) -> None:
        raise KeyboardInterrupt

    target = BuildImage(tag=image["tag"], id=image["id"], packages=(), key=None)
    with pytest.raises(KeyboardInterrupt):
        rebuild(srpms["good"], target, tmp_path / "out", lambda: engine, interrupt, force=True)
    assert not docker_client.containers.list(all=True, filters={"ancestor": image["id"]})
    assert (tmp_path / "out" / "build.log").exists() and not (tmp_path / "out" / "manifest.json").exists()
    assert not list((tmp_path / "out").glob(".rpms-*"))


def test_the_source_pipelines_srpm_rebuilds(archive, image, tmp_path, docker_client, monkeypatch):
    """Without --srpm, build runs the srpm stage (demo archive's iproute, patched) and rebuilds its output."""
    from netnsfix.demo.archive import build_demo_archive
    from netnsfix.recipe import find_recipe

    url, repo = archive
    build_demo_archive(repo.root)
    recipe = find_recipe(None)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NETNSFIX_CACHE", str(tmp_path / "cache"))
    argv = ["build", "--mirror", url, "--lock", str(tmp_path / "recipe.lock.json")]
    code, _stdout, err = _cli(argv)
    assert code == 0, err
    assert f"{image['tag']} exists" in err  # same BuildRequires: same build root
    srpm = next((tmp_path / "out" / recipe.name / "srpm").glob("*.src.rpm"))
    out = tmp_path / "out" / recipe.name / "build"
    rpms = sorted(p.name for p in out.glob("*.x86_64.rpm"))
    assert rpms == [srpm.name.replace(".src.rpm", ".x86_64.rpm")]
    assert recipe.patch.name in (out / "build.log").read_text()
    # Again with nothing changed: the srpm stage keeps its SRPM, so the build is a no-op.
    code, _stdout, err = _cli(argv)
    assert code == 0, err
    assert "srpm" in err and "(up to date)" in err and "up to date:" in err


def test_build_through_archives_for_an_engine_elsewhere(srpms, image, tmp_path, docker_client, monkeypatch):
    """DOCKER_HOST=tcp://...: the SRPM goes in and the RPMs come out as tar archives, not mounts."""
    monkeypatch.setattr(Engine, "local", property(lambda self: False))
    out = tmp_path / "out" / RECIPE / "build"
    code, _stdout, err = _cli(
        ["build", "--image", image["tag"], "--srpm", str(srpms["good"]), "--out", str(tmp_path / "out")]
    )
    assert code == 0, err
    assert [p.name for p in out.glob("*.x86_64.rpm")] == ["iproute-3.6.0-2.netnsfix1.fc18.x86_64.rpm"]
    assert not list(out.glob(".rpms-*"))


# -- issue 11: reproducible outputs, one output layout, every missing requirement at once -----


def _payload_digests(folder) -> dict[str, str]:
    from netnsfix.rpm.compare import payload_sha256

    return {p.name: payload_sha256(p) for p in sorted(folder.glob("*.rpm"))}


def test_two_builds_on_other_hosts_folders_time_zones_and_caches_are_identical(archive, image, tmp_path):
    """The whole pipeline twice (srpm stage included), as two users on two machines would run it:
    another working folder, TZ, cache and output root, later: the same SRPM and the same RPMs."""
    from netnsfix.demo.archive import build_demo_archive

    url, repo = archive
    build_demo_archive(repo.root)
    lock = tmp_path / "recipe.lock.json"
    folders = []
    for run, tz in enumerate(("UTC", "America/St_Johns")):
        if run:
            next_second()  # a later clock for the second run
        where = tmp_path / f"machine{run}"
        where.mkdir()
        env = {**os.environ, "TZ": tz, "NETNSFIX_CACHE": str(where / "cache"), "HOME": str(where)}
        argv = [sys.executable, "-m", "netnsfix", "build", *_TRUSTED, "--mirror", url, "--lock", str(lock)]
        argv += ["--out", "results"]
        result = subprocess.run(argv, cwd=where, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        folders.append(where / "results" / RECIPE)
    first, second = folders
    srpms = [next((f / "srpm").glob("*.src.rpm")) for f in folders]
    assert srpms[0].read_bytes() == srpms[1].read_bytes()
    assert _payload_digests(first / "build") == _payload_digests(second / "build")
    # Debian's rpm 4.18 in the demo root takes BUILDTIME from SOURCE_DATE_EPOCH: the RPMs are identical whole.
    for rpm in (first / "build").glob("*.x86_64.rpm"):
        assert rpm.read_bytes() == (second / "build" / rpm.name).read_bytes()
    assert "network none" in (first / "build" / "build.log").read_text()


def test_check_reproducible_passes_on_the_demo_package(srpms, image, tmp_path):
    code, stdout, err = _cli(
        ["build", "--check-reproducible", "--image", image["tag"], "--srpm", str(srpms["good"]), "--out", str(tmp_path)]
    )
    assert code == 0, err + stdout
    assert "reproducible: the RPMs of both builds are the same" in stdout
    assert "rpm 4.18" in stdout and "may differ: nothing" in stdout
    assert "second build:" in err
    # the second build's scratch folder is gone; the first build's outputs are the build folder's
    assert sorted(p.name for p in (tmp_path / RECIPE).iterdir()) == ["build"]
    assert (tmp_path / RECIPE / "build" / "manifest.json").is_file()


def test_check_reproducible_fails_naming_the_file_and_field(image, tmp_path):
    dated = make_patched_srpm(tmp_path / "dated", dated=True)
    out = tmp_path / "out"
    code, stdout, err = _cli(
        ["build", "--check-reproducible", "--image", image["tag"], "--srpm", str(dated), "--out", str(out)]
    )
    assert code == 1, err
    assert "NOT reproducible" in stdout
    rows = [line for line in stdout.splitlines() if line.startswith("iproute-3.6.0-")]
    fields = {line.split()[1:3][0] + " " + line.split()[2] for line in rows}
    assert "payload sha256" in fields
    assert "file /usr/share/iproute-demo/built-at" in {" ".join(line.split()[1:3]) for line in rows}
    assert any(line.split()[1:4] == ["file", "/usr/share/iproute-demo/built-at", "digest"] for line in rows)


def test_nine_missing_build_requires_are_all_named_and_nothing_is_made(archive, tmp_path, docker_client):
    url, _ = archive
    srpm = make_patched_srpm(tmp_path / "needy", build_requires=F18_IPROUTE_BUILDREQUIRES)
    before = {i.id for i in docker_client.images.list()}
    out = tmp_path / "out"
    code, _, err = _cli(["build", "--mirror", url, "--srpm", str(srpm), "--out", str(out)])
    assert code != 0
    lines = err.splitlines()
    assert "netnsfix: error: 9 requirements cannot be met:" in lines
    for name in F18_IPROUTE_BUILDREQUIRES:
        assert any(f"nothing provides '{name}' needed by BuildRequires of {srpm.name}" in line for line in lines), name
    assert {i.id for i in docker_client.images.list()} == before  # no image made
    assert not out.exists() or not list(out.rglob("*.rpm"))


def test_srpm_build_publish_share_one_output_root(archive, image, tmp_path, monkeypatch):
    """srpm --out X, build --out X, publish X/RECIPE/build: nothing overwritten, nothing nested."""
    from netnsfix.demo.archive import build_demo_archive

    url, repo = archive
    build_demo_archive(repo.root)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NETNSFIX_CACHE", str(tmp_path / "cache"))
    lock = ["--mirror", url, "--lock", str(tmp_path / "recipe.lock.json")]
    root = tmp_path / "out"
    assert _cli(["srpm", *lock, "--out", str(root)])[0] == 0
    srpm_folder = root / RECIPE / "srpm"
    srpm_state = {p.name: p.read_bytes() for p in srpm_folder.iterdir()}
    code, _, err = _cli(["build", "--recipe", RECIPE, *lock, "--out", str(root)])
    assert code == 0, err
    assert "srpm: iproute-3.6.0-2.fc18.src -> " in err and "(up to date)" in err  # it kept its own SRPM
    assert {p.name: p.read_bytes() for p in srpm_folder.iterdir()} == srpm_state
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir()) == [
        RECIPE,
        f"{RECIPE}/build",
        f"{RECIPE}/srpm",
    ]
    build_state = {p.name: p.read_bytes() for p in (root / RECIPE / "build").iterdir()}
    # From another folder, with the same root: nothing changes.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, _, err = _cli(["build", *lock, "--out", str(root)])
    assert code == 0 and "up to date:" in err, err
    assert {p.name: p.read_bytes() for p in (root / RECIPE / "build").iterdir()} == build_state
    assert not list(elsewhere.iterdir())
    # publish wants the build folder, and says so when given the root or the recipe's folder.
    for wrong in (root, root / RECIPE, root / RECIPE / "srpm"):
        code, _, err = _cli(["publish", str(wrong), "--repo", str(tmp_path / "repo")])
        assert code != 0 and str(root / RECIPE / "build") in err, err
    code, stdout, err = _cli(["publish", str(root / RECIPE / "build"), "--repo", str(tmp_path / "repo")])
    assert code == 0, err
    # A forced rebuild makes the same RPMs: publishing it again is a no-op, without --replace.
    code, _, err = _cli(["build", *lock, "--out", str(root), "--force"])
    assert code == 0, err
    code, stdout, err = _cli(["publish", str(root / RECIPE / "build"), "--repo", str(tmp_path / "repo")])
    assert code == 0, err
    assert "nothing changed" in stdout and "added" not in stdout
    # --out naming a stage's folder would nest a second tree: refused.
    code, _, err = _cli(["build", *lock, "--out", str(root / RECIPE / "build")])
    assert code != 0 and "--out takes the output root" in err


def test_demo_archive_makes_the_binary_side_too_so_image_runs_against_it(srpms, image, tmp_path):
    """`netnsfix demo-archive DIR`, served, is all `netnsfix image` needs (README's build section by hand)."""
    dest = tmp_path / "archive"
    code, stdout, err = _cli(["demo-archive", str(dest)])
    assert code == 0, err
    assert "x86_64  " in stdout and (dest / "releases/18/Everything/x86_64/os/repodata/repomd.xml").is_file()
    assert (dest / "updates/18/SRPMS/repodata/repomd.xml").is_file()
    with serving(dest) as served:
        code, stdout, err = _cli(["image", "--mirror", served.url, "--srpm", str(srpms["good"])])
    assert code == 0, err
    assert stdout.split()[:2] == [image["tag"], image["id"]]  # the same build root as the tests' archive
