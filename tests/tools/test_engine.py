"""The engine seam: a clear error when no engine answers, and the typed calls the project uses.

The containers here run a static busybox imported as a one-file image (Docker Hub cannot be
reached), so every call goes to the real engine.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from testkit import unavailable

from netnsfix.errors import EngineError
from netnsfix.tools.engine import Bind, Engine, connect

pytestmark = pytest.mark.engine

BUSYBOX = Path("/bin/busybox")


def test_engine_down_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(EngineError, match=r"no-engine\.sock is not answering.*scripts/engine start"):
        connect(timeout=5)


@pytest.mark.root
def test_a_socket_that_refuses_this_user_is_engine_denied(need_root, need_tool, tmp_path: Path) -> None:
    """A socket only root may open, connected to as nobody: EngineDenied (doctor then says how to join the
    'docker' group), told from an engine that is down by the PermissionError under the SDK's error, not by
    its text."""
    import os
    import socket
    import subprocess
    import sys

    need_tool("setpriv")
    sock = tmp_path / "root-only.sock"
    probe = (
        "from netnsfix.errors import EngineDenied, EngineError\n"
        "from netnsfix.tools.engine import connect\n"
        "try:\n    connect(timeout=5)\n"
        "except EngineDenied as error:\n    print('denied', error)\n"
        "except EngineError as error:\n    print('other', error)\n"
    )
    tmp_path.chmod(0o755)
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(sock))
        sock.chmod(0o600)
        server.listen(1)
        env = {**os.environ, "DOCKER_HOST": f"unix://{sock}"}
        as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", probe]
        done = subprocess.run(as_nobody, capture_output=True, text=True, env=env, timeout=60)
    assert done.stdout == (
        f"denied Docker engine at unix://{sock}: permission denied; run as root or join the 'docker' group\n"
    ), done.stderr


def test_running_engine_answers(engine: Engine) -> None:
    assert connect().ping()
    assert engine.version()[0].isdigit()
    assert engine.local  # the suite's engine is on this machine's socket


def _tar(files: dict[str, bytes], mode: int = 0o755) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(body), mode
            tar.addfile(info, io.BytesIO(body))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def busybox_image(engine: Engine) -> Iterator[str]:
    """An image holding only a static busybox, as bin/busybox and bin/sh."""
    if shutil.which("busybox") is None or not BUSYBOX.is_file():
        unavailable("busybox-static is not installed")
    body = BUSYBOX.read_bytes()
    tag = f"netnsfix-test-engine:{uuid.uuid4().hex[:8]}"
    repository, _, version = tag.partition(":")
    image_id = engine.import_image(
        iter([_tar({"bin/busybox": body, "bin/sh": body})]), repository=repository, tag=version
    )
    assert image_id.startswith("sha256:")
    try:
        yield tag
    finally:
        engine.remove_image_quietly(tag)
    assert not engine.image_exists(tag)


def test_image_lookup(engine: Engine, busybox_image: str) -> None:
    found = engine.find_image(busybox_image)
    assert found is not None and busybox_image in found.tags and found.id.startswith("sha256:")
    assert engine.find_image("netnsfix-test-engine:no-such-tag") is None
    assert not engine.image_exists("netnsfix-test-engine:no-such-tag")


def test_container_life(engine: Engine, busybox_image: str, docker_client, tmp_path: Path) -> None:
    """create -> put_archive -> start -> follow logs -> wait -> get_archive -> removed, network off."""
    script = "busybox cat /in/hello; echo made > /out/made; busybox ls /sys/class/net; exit 3"
    name = f"netnsfix-test-engine-{uuid.uuid4().hex[:8]}"
    with engine.create(busybox_image, ["/bin/sh", "-c", script], name=name, labels={"org.netnsfix.test": "1"}) as box:
        assert box.name == name and box.labels["org.netnsfix.test"] == "1"
        assert box.status() == "created"
        with pytest.raises(EngineError, match=rf"^Docker engine: cannot copy into {name}:/in"):
            box.put_archive("/in", _tar({"hello": b"hello from the host\n"}, 0o644))  # no such folder yet
        assert box.put_archive("/", _tar({"in/hello": b"hello from the host\n", "out/.keep": b""}, 0o644))
        box.start()
        output = b"".join(box.follow_logs()).decode()
        assert box.wait() == 3
        assert output.split() == ["hello", "from", "the", "host", "lo"]  # only lo: the network is off
        assert box.logs(tail=1).strip() == "lo"
        with tarfile.open(fileobj=io.BytesIO(b"".join(box.get_archive("/out/made")))) as tar:
            member = tar.extractfile("made")
            assert member is not None and member.read() == b"made\n"
    assert not docker_client.containers.list(all=True, filters={"name": f"^{name}$"})


def test_exec_in_a_running_container_and_commit(engine: Engine, busybox_image: str, tmp_path: Path) -> None:
    name = f"netnsfix-test-engine-{uuid.uuid4().hex[:8]}"
    (tmp_path / "bound").write_text("from a bind mount\n")
    binds = [Bind(str(tmp_path), "/host")]
    with engine.create(busybox_image, ["/bin/busybox", "sleep", "60"], name=name, binds=binds) as box:
        box.start()
        done = box.exec(["/bin/sh", "-c", "busybox cat /host/bound; echo oops >&2; exit 7"])
        assert done.exit_code == 7  # stdout and stderr both, though their order is the engine's
        assert sorted(done.output.splitlines()) == ["from a bind mount", "oops"]
        assert box.exec(["/bin/sh", "-c", "busybox touch /host/x"]).exit_code != 0  # the bind is read-only
        assert box.exec(["/bin/busybox", "true"]).exit_code == 0
        image_id = box.commit("netnsfix-test-engine", f"commit-{name[-8:]}", "a test", {"Labels": {"k": "v"}})
    try:
        found = engine.find_image(image_id)
        assert found is not None and found.labels == {"k": "v"}
    finally:
        engine.remove_image_quietly(image_id)


def test_every_refusal_is_an_engine_error(engine: Engine, busybox_image: str) -> None:
    with pytest.raises(EngineError, match=r"^Docker engine: cannot create a container from netnsfix-test-engine:gone"):
        engine.create("netnsfix-test-engine:gone", ["/bin/sh"], name=f"netnsfix-test-engine-{uuid.uuid4().hex[:8]}")
    with pytest.raises(EngineError, match=r"^Docker engine: docker import of junk failed"):
        engine.import_image(iter([b"not a tar archive" * 100]), what="docker import of junk")
    name = f"netnsfix-test-engine-{uuid.uuid4().hex[:8]}"
    with engine.create(busybox_image, ["/bin/busybox", "true"], name=name) as box:
        with pytest.raises(EngineError, match=rf"^Docker engine: cannot run /bin/sh in {name}"):
            box.exec(["/bin/sh", "-c", "true"])  # not running
        with pytest.raises(EngineError, match=rf"^Docker engine: cannot copy /nowhere out of {name}"):
            b"".join(box.get_archive("/nowhere"))
