"""Shared fixtures and the rules every test here follows.

- Under CI (``CI=true``) nothing is skipped: a missing tool, engine or root is
  a failure, so a missing install step in .ci/run cannot hide behind a skip.
- Every test leaves ``/proc/self/mountinfo`` as it found it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Skip locally, fail under CI."""
    if IN_CI:
        pytest.fail(f"required under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which is a failure: {report.longrepr}"


# On a machine shared with other work (several developers' test runs against one
# engine), other people's containers come and go in mountinfo. Setting this
# variable ignores the engine's own mounts; CI never sets it.
IGNORE_ENGINE_MOUNTS = os.environ.get("NETNSFIX_TEST_IGNORE_ENGINE_MOUNTS") == "1" and not IN_CI
ENGINE_MOUNTS = (" /var/lib/docker/", " /run/docker/")


def _mountinfo() -> str:
    text = Path("/proc/self/mountinfo").read_text()
    if IGNORE_ENGINE_MOUNTS:
        text = "".join(line for line in text.splitlines(True) if not any(m in line for m in ENGINE_MOUNTS))
    return text


@pytest.fixture(autouse=True)
def mountinfo_unchanged() -> Iterator[None]:
    """Every test must leave the host's mounts exactly as they were."""
    before = _mountinfo()
    yield
    after = _mountinfo()
    assert after == before, "the test changed /proc/self/mountinfo"


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def demo_tree() -> Path:
    """The demo archive's iproute2-3.6.0 source tree (netnsfix's own stand-in)."""
    return ROOT / "src" / "netnsfix" / "demo" / "iproute2-3.6.0"


@pytest.fixture
def need_root() -> None:
    if os.geteuid() != 0:
        unavailable("needs root")


@pytest.fixture
def need_tool():
    def check(*names: str) -> None:
        for name in names:
            if shutil.which(name) is None:
                unavailable(f"{name} is not installed")

    return check


@pytest.fixture(scope="session")
def docker_client():
    """A client of the running Docker engine (fails under CI when there is none)."""
    try:
        import docker

        client = docker.from_env()
        client.ping()
    except Exception as error:  # noqa: BLE001 - any failure means "no engine"
        unavailable(f"no Docker engine: {error}")
    return client


@pytest.fixture(scope="session")
def engine(docker_client):
    """The running engine through netnsfix's seam (what the library is given)."""
    from netnsfix.tools.engine import connect

    return connect()


# -- the source pipeline: the demo archive over HTTP, and a server that misbehaves --


@pytest.fixture(scope="session")
def demo_signer():
    """The demo archive's release key, cached where the demo keeps it: every demo package is signed with it."""
    for tool in ("gpg", "rpmsign", "rpmkeys"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed")
    from netnsfix.demo.signkey import demo_key

    return demo_key()


@pytest.fixture(scope="session")
def demo_gpgcheck(demo_signer):
    """Trust the demo key, as ``netnsfix demo`` does (the archive's packages are not Fedora's)."""
    return demo_signer.gpgcheck()


@pytest.fixture(scope="session")
def demo_archive(tmp_path_factory: pytest.TempPathFactory, demo_signer):
    """The demo archive's source repositories (built with rpmbuild and createrepo_c, signed), once a session."""
    for tool in ("rpmbuild", "createrepo_c"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed")
    from netnsfix.demo.archive import build_demo_archive

    return build_demo_archive(
        tmp_path_factory.mktemp("demo-archive"), cache=tmp_path_factory.mktemp("demo-archive-cache"), signer=demo_signer
    )


@pytest.fixture(scope="session")
def demo_mirror(demo_archive) -> Iterator[str]:
    """The demo archive served on 127.0.0.1: the URL to pass as --mirror."""
    from netnsfix.util.httpserve import serving

    with serving(demo_archive.root) as served:
        yield served.url


@pytest.fixture
def scripted_server():
    """An HTTP server on 127.0.0.1 whose answers each test scripts (see tests/scripted_http.py)."""
    from scripted_http import Running

    running = Running()
    yield running.state
    running.stop()


@pytest.fixture
def netnsfix_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private NETNSFIX_CACHE, so no test reads or fills the user's cache."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("NETNSFIX_CACHE", str(cache))
    return cache


NETNSFIX_IMAGE_PREFIXES = ("netnsfix/", "netnsfix-")


def _netnsfix_images(client) -> set[str]:
    return {
        image.id for image in client.images.list() if any(tag.startswith(NETNSFIX_IMAGE_PREFIXES) for tag in image.tags)
    }


@pytest.fixture(scope="session", autouse=True)
def no_gpg_agent_left(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The suite's keyrings (all under pytest's temporary folder) leave no gpg-agent running: the library stops
    the agent of every keyring it makes (demo/signkey.py), the fixtures those they make (gpgconf --kill all).
    One left over is stopped here and reported as an error of the session's last teardown."""
    from processkit import gpg_agents_under, stop_gpg_agents

    base = tmp_path_factory.getbasetemp()
    yield
    left = gpg_agents_under(base)
    deadline = time.monotonic() + 5  # an agent told to stop (gpgconf --kill) exits a moment later
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = gpg_agents_under(base)
    if left:
        stop_gpg_agents([home for _, home in left])
        raise AssertionError(f"gpg-agent left running by the tests: {left} (stopped now)")


@pytest.fixture(scope="session", autouse=True)
def engine_left_as_found() -> Iterator[None]:
    """Images the suite makes (build roots, the systemd image) are shared by its tests and
    removed at the end, so the engine is left as the run found it."""
    try:
        import docker

        client = docker.from_env()
        client.ping()
        before = _netnsfix_images(client)
    except Exception:  # noqa: BLE001 - no engine: nothing to clean
        yield
        return
    yield
    if os.environ.get("NETNSFIX_TEST_KEEP_IMAGES") == "1" and not IN_CI:
        return
    for image_id in _netnsfix_images(client) - before:
        with contextlib.suppress(Exception):  # already gone
            client.images.remove(image_id, force=True)


@pytest.fixture(scope="module")
def recipe(demo_gpgcheck):
    """The default recipe (iproute-3.6.0-fc18), trusting the demo archive's key in place of Fedora 18's:
    the tests run it against the demo archive."""
    import dataclasses

    from netnsfix.recipe import find_recipe

    return dataclasses.replace(find_recipe("iproute-3.6.0-fc18"), gpg_keys=demo_gpgcheck.keys)


@pytest.fixture
def fetcher(tmp_path: Path):
    """A Fetcher with a private cache that gives up at once (no retries, no back-off)."""
    from netnsfix.archive.fetch import Cache, Fetcher

    return Fetcher(Cache(tmp_path / "cache"), retries=0, backoff=0, timeout=5)


# The harness's fixtures: the ip variants, Debian's ip, the systemd image.
DEBIAN_IP = Path("/usr/sbin/ip")


@pytest.fixture(scope="session")
def variants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """unpatched (3.6.0's bug), seed (keeps /sys), upstream (make-rslave): built once per session."""
    from netnsfix.demo.ipvariants import build_named_variant

    out = tmp_path_factory.mktemp("ip-variants")
    try:
        return {name: build_named_variant(name, out) for name in ("unpatched", "seed", "upstream")}
    except Exception as error:
        unavailable(f"cannot build the ip variants: {error}")
        raise


@pytest.fixture
def debian_ip() -> Path:
    if not DEBIAN_IP.is_file():
        unavailable("Debian's iproute2 (/usr/sbin/ip) is not installed")
    return DEBIAN_IP


@pytest.fixture(scope="session")
def systemd_image(engine) -> str:
    """The systemd image, made once per session (engine_left_as_found removes it at the end)."""
    from netnsfix.verify.systemd_image import ensure_systemd_image

    return ensure_systemd_image(engine)


# -- hostile inputs: what a command may touch ---------------------------------------------


def tree_state(folder: Path) -> dict[str, tuple[int, int, int, str]]:
    """Every path under ``folder`` (itself included): (mode, size, mtime_ns, sha256 or link target).

    Two states compared before and after a command show whether it touched
    anything there, even a chmod, a touch or a file rewritten with the same size.
    """
    import hashlib

    state: dict[str, tuple[int, int, int, str]] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in ["", *dirnames, *filenames] if dirpath == str(folder) else dirnames + filenames:
            path = Path(dirpath) / name if name else Path(dirpath)
            info = path.lstat()
            if path.is_symlink():
                content = "-> " + os.readlink(path)
            elif path.is_file():
                content = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                content = ""
            state[str(path.relative_to(folder))] = (info.st_mode, info.st_size, info.st_mtime_ns, content)
    return state


def changed_paths(before: dict, after: dict) -> list[str]:
    """Paths added, removed or changed between two :func:`tree_state` results."""
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
