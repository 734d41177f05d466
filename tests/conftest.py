"""Shared fixtures and the rules every test here follows.

- Under CI (``CI=true``) nothing is skipped: a missing tool, engine or root is
  a failure, so a missing install step in .ci/run cannot hide behind a skip.
- Every test leaves ``/proc/self/mountinfo`` as it found it.
- Markers are complete: a test that uses the engine's fixtures is marked
  ``engine``, one that needs root ``root``, or it fails. ``pytest --fast``
  (``scripts/test --fast``) runs every test that is none of slow, engine, root,
  and fails any of them that still reaches the engine or a host off this machine.
- ``scripts/test --fast`` runs them in several processes (pytest-xdist): each worker
  makes its own session fixtures under its own temporary folder, ports are the
  system's choice (port 0), and what workers share (``~/.cache/netnsfix``: keys,
  test RPMs) is made under a lock or aside and renamed. The whole suite runs in
  one process: its root tests mount, which every worker's mountinfo check would see.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from testkit import IN_CI, ROOT, unavailable

# What a test needs, read from the fixtures it uses: each needs its marker (the fast run deselects by marker).
NEEDS_MARKER = {
    "docker_client": "engine",
    "engine": "engine",
    "systemd_image": "engine",
    "need_root": "root",
}
FAST = "not slow and not engine and not root"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fast",
        action="store_true",
        help=f"the quick part: only tests that are '{FAST}'; fail one that reaches the engine or the network",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--fast"):
        if config.option.markexpr:
            raise pytest.UsageError("--fast chooses the markers itself; drop -m")
        config.option.markexpr = FAST


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before any fixture is made: a test using a fixture that needs the engine or root carries the marker."""
    markers = {m.name for m in item.iter_markers()}
    fixtures = getattr(item, "fixturenames", ())
    for fixture in fixtures:  # the test's own fixtures first, then what they use
        marker = NEEDS_MARKER.get(fixture)
        if marker is not None and marker not in markers:
            what = "the engine" if marker == "engine" else "root"
            pytest.fail(
                f"{item.nodeid} needs {what} (fixture {fixture}) but is not marked @pytest.mark.{marker}: "
                "the fast run would pick it",
                pytrace=False,
            )


@pytest.fixture(autouse=True)
def fast_run_stays_local(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under --fast, reaching the Docker engine or a host off this machine fails the test:
    it should have been marked engine (or slow), and the fast run must not need them."""
    if not request.config.getoption("--fast"):
        return
    import socket

    def refuse(what: str) -> Callable[..., NoReturn]:
        def refused(*_args: object, **_kwargs: object) -> NoReturn:
            pytest.fail(f"--fast: the test reached {what}; mark it engine or slow", pytrace=False)

        return refused

    try:
        import docker
    except ImportError:  # pragma: no cover - a dependency of the project
        pass
    else:
        monkeypatch.setattr(docker, "from_env", refuse("the Docker engine"))
        monkeypatch.setattr(docker, "DockerClient", refuse("the Docker engine"))
    connect = socket.socket.connect

    def local_only(sock: socket.socket, address: object) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address):
            refuse(f"the network ({address})")()
        if sock.family == socket.AF_UNIX and "docker" in str(address):
            refuse("the Docker engine")()
        connect(sock, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", local_only)


def _loopback(address: object) -> bool:
    import ipaddress

    host = address[0] if isinstance(address, tuple) else address
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return str(host) == "localhost"


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
def engine_left_as_found(request: pytest.FixtureRequest) -> Iterator[None]:
    """Images the suite makes (build roots, the systemd image) are shared by its tests and
    removed at the end, so the engine is left as the run found it (the fast run does not ask it)."""
    if request.config.getoption("--fast"):
        yield
        return
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
