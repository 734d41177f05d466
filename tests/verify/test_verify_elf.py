"""A binary that needs libraries the host or the container lacks is one error naming them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from verifykit import verify_containers

from netnsfix.errors import VerifyError
from netnsfix.verify import verify_binary
from netnsfix.verify.elf import read_elf

MAIN = "int netnsfix_test_symbol(void);\nint main(void) { return netnsfix_test_symbol(); }\n"
LIB = "int netnsfix_test_symbol(void) { return 0; }\n"


def build_needing_a_library(tmp_path: Path, *, rpath: bool) -> Path:
    """An executable that needs libnetnsfixtest.so.1 (found on this host only through its rpath)."""
    (tmp_path / "lib.c").write_text(LIB)
    (tmp_path / "main.c").write_text(MAIN)
    lib = tmp_path / "libnetnsfixtest.so.1"
    soname = "-Wl,-soname,libnetnsfixtest.so.1"
    subprocess.run(["gcc", "-shared", "-fPIC", soname, "-o", str(lib), str(tmp_path / "lib.c")], check=True)
    (tmp_path / "libnetnsfixtest.so").symlink_to(lib.name)
    out = tmp_path / "needs-lib"
    flags = [f"-Wl,-rpath,{tmp_path}"] if rpath else []
    subprocess.run(
        ["gcc", "-o", str(out), str(tmp_path / "main.c"), f"-L{tmp_path}", "-lnetnsfixtest", *flags], check=True
    )
    return out


def test_read_elf_of_debians_ip(debian_ip: Path) -> None:
    info = read_elf(debian_ip)
    assert info is not None and info.interpreter and info.interpreter.startswith("/lib")
    assert "libc.so.6" in info.needed


def test_read_elf_of_a_static_binary_and_a_script(tmp_path: Path) -> None:
    busybox = shutil.which("busybox")
    if busybox:
        info = read_elf(Path(busybox))
        assert info is not None and info.interpreter is None
    script = tmp_path / "ip"
    script.write_text("#!/bin/sh\n")
    assert read_elf(script) is None


@pytest.mark.root
def test_library_missing_on_the_host_is_named(need_root, need_tool, tmp_path: Path) -> None:
    need_tool("gcc")
    binary = build_needing_a_library(tmp_path, rpath=False)
    with pytest.raises(VerifyError, match=r"needs libraries that this host lacks: libnetnsfixtest\.so\.1$"):
        verify_binary(binary, ("mounts",))


@pytest.mark.engine
@pytest.mark.slow
def test_library_missing_in_the_image_is_named(
    docker_client, engine, systemd_image: str, need_tool, tmp_path: Path
) -> None:
    need_tool("gcc")
    binary = build_needing_a_library(tmp_path, rpath=True)
    with pytest.raises(VerifyError, match=r"lacks: libnetnsfixtest\.so\.1$") as caught:
        verify_binary(binary, ("systemd",), systemd_image, client=engine)
    assert f"image {systemd_image}" in str(caught.value)
    assert not verify_containers(docker_client)
