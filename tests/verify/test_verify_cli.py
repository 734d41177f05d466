"""``netnsfix verify`` as CI and an operator run it: exit codes, reports, and one-line errors.

The regression check (what CI relies on): the 3.6.0-like binary must be caught
(exit 0 only with --expect-bug), both fixed variants must pass (and then
--expect-bug must fail). Checks that need the engine use the cached systemd
image (kept between runs on purpose); no container is left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from processkit import finish
from verifykit import build_rpm, host_netns, verify_containers

HOST_CHECKS = "mounts,view"


class Run(subprocess.CompletedProcess):
    pid: int


def netnsfix(*args: str, env: dict[str, str] | None = None, user: int | None = None) -> Run:
    """Run ``netnsfix verify ARGS``; the result's pid finds the containers it booted."""
    command = [sys.executable, "-m", "netnsfix", "verify", *args]
    if user is not None:
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}
    ) as process:
        stdout, stderr = finish(process, timeout=300)
    result = Run(command, process.returncode, stdout, stderr)
    result.pid = process.pid
    return result


def one_line_error(result: Run) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("netnsfix: error: ")
    return lines[0]


# --- the regression check -------------------------------------------------------------

REGRESSION = [  # variant, --expect-bug, exit code
    ("unpatched", True, 0),
    ("unpatched", False, 1),
    ("seed", False, 0),
    ("seed", True, 1),
    ("upstream", False, 0),
    ("upstream", True, 1),
]


@pytest.mark.root
@pytest.mark.parametrize(("name", "expect_bug", "code"), REGRESSION)
def test_regression_check_on_the_host(
    need_root, variants: dict[str, Path], name: str, expect_bug: bool, code: int
) -> None:
    args = ["--ip", str(variants[name]), "--checks", HOST_CHECKS] + (["--expect-bug"] if expect_bug else [])
    result = netnsfix(*args)
    assert result.returncode == code, result.stdout + result.stderr


@pytest.mark.root
@pytest.mark.engine
@pytest.mark.slow
@pytest.mark.parametrize(("name", "expect_bug", "code"), REGRESSION)
def test_regression_check_with_every_check(
    need_root, docker_client, systemd_image: str, variants: dict[str, Path], name: str, expect_bug: bool, code: int
) -> None:
    before = host_netns()
    args = ["--ip", str(variants[name]), "--image", systemd_image, "--json"] + (["--expect-bug"] if expect_bug else [])
    result = netnsfix(*args)
    assert result.returncode == code, result.stdout + result.stderr
    report = json.loads(result.stdout)
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    bug = name == "unpatched"
    assert statuses == {"mounts": "fail" if bug else "pass", "view": "info", "systemd": "fail" if bug else "pass"}
    assert report["as_expected"] is (code == 0)
    assert not verify_containers(docker_client, result.pid)
    assert host_netns() == before


# --- what an operator sees --------------------------------------------------------------


@pytest.mark.root
@pytest.mark.engine
@pytest.mark.slow
def test_debian_ip_passes_every_check(
    need_root, docker_client, systemd_image: str, debian_ip: Path, tmp_path: Path
) -> None:
    junit = tmp_path / "verify.xml"
    result = netnsfix("--ip", str(debian_ip), "--junit", str(junit))
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("mounts", "view", "systemd"):
        assert name in result.stdout
    assert "fixed: every check passed" in result.stdout
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == "3" and suite.get("failures") == "0" and suite.get("errors") == "0"


@pytest.mark.root
def test_the_table_shows_evidence_on_failure(need_root, variants: dict[str, Path]) -> None:
    result = netnsfix("--ip", str(variants["unpatched"]), "--checks", "mounts")
    assert result.returncode == 1
    assert "FAIL" in result.stdout
    assert "mounts under /sys before" in result.stdout and "mounts under /sys after" in result.stdout
    assert "- /sys/fs/cgroup" in result.stdout
    assert "NOT fixed" in result.stdout


@pytest.mark.root
def test_json_and_junit_for_ci(need_root, variants: dict[str, Path], tmp_path: Path) -> None:
    junit = tmp_path / "out" / "verify.xml"
    result = netnsfix("--ip", str(variants["unpatched"]), "--checks", HOST_CHECKS, "--json", "--junit", str(junit))
    assert result.returncode == 1
    report = json.loads(result.stdout)
    mounts = report["checks"][0]
    assert mounts["name"] == "mounts" and mounts["status"] == "fail"
    assert mounts["seconds"] > 0 and report["seconds"] >= mounts["seconds"]
    assert any(m["mount_point"] == "/sys/fs/cgroup" for m in mounts["sys_before"])
    assert report["bug_reproduced"] is True and report["host_untouched"] is True
    suite = ET.parse(junit).getroot()
    failure = suite.find("testcase[@name='mounts']/failure")
    assert failure is not None and "/sys/fs/cgroup" in failure.text
    assert suite.find("testcase[@name='view']/failure") is None


@pytest.mark.root
def test_binary_under_another_name_still_runs_as_ip(need_root, debian_ip: Path, tmp_path: Path) -> None:
    # iproute2's ip dispatches on its own name: run as "ip-debian" it would treat "debian" as the object
    renamed = tmp_path / "ip-debian"
    shutil.copy2(debian_ip, renamed)
    result = netnsfix("--ip", str(renamed), "--checks", HOST_CHECKS)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.root
@pytest.mark.parametrize(("name", "code"), [("unpatched", 0), ("upstream", 1)])
def test_rpm_carrying_the_variant_as_sbin_ip(
    need_root, need_tool, variants: dict[str, Path], tmp_path: Path, name: str, code: int
) -> None:
    need_tool("rpmbuild")
    rpm = build_rpm(variants[name], tmp_path, ippath="/sbin/ip", payload="xz")
    result = netnsfix("--rpm", str(rpm), "--checks", HOST_CHECKS, "--expect-bug")
    assert result.returncode == code, result.stdout + result.stderr
    assert f"/sbin/ip from {rpm}" in result.stdout


@pytest.mark.root
@pytest.mark.engine
@pytest.mark.slow
def test_rpm_with_every_check(
    need_root, docker_client, systemd_image: str, need_tool, variants: dict[str, Path], tmp_path: Path
) -> None:
    need_tool("rpmbuild")
    rpm = build_rpm(variants["upstream"], tmp_path, ippath="/usr/sbin/ip", payload="zstd")
    result = netnsfix("--rpm", str(rpm), "--image", systemd_image)
    assert result.returncode == 0, result.stdout + result.stderr


# --- one clear error each ---------------------------------------------------------------


def test_not_root(need_tool, debian_ip: Path) -> None:
    need_tool("setpriv")
    result = netnsfix("--ip", str(debian_ip), "--checks", "mounts", user=65534)
    assert result.returncode == 2
    assert "need root" in one_line_error(result)


def test_not_an_executable(tmp_path: Path) -> None:
    text = tmp_path / "ip"
    text.write_text("just text\n")
    result = netnsfix("--ip", str(text))
    assert result.returncode == 2
    assert f"{text}: not an executable file" in one_line_error(result)
    missing = netnsfix("--ip", str(tmp_path / "nothing"))
    assert missing.returncode == 2 and "no such file" in one_line_error(missing)


def test_no_engine_for_the_systemd_check(debian_ip: Path, tmp_path: Path) -> None:
    result = netnsfix("--ip", str(debian_ip), "--checks", "systemd", env={"DOCKER_HOST": f"unix://{tmp_path}/no.sock"})
    assert result.returncode == 2
    line = one_line_error(result)
    assert "the systemd check needs a Docker engine" in line
    assert "scripts/engine start" in line and "--checks mounts,view" in line


def test_rpm_without_an_ip(need_tool, variants: dict[str, Path], tmp_path: Path) -> None:
    need_tool("rpmbuild")
    rpm = build_rpm(variants["seed"], tmp_path, ippath="/usr/bin/not-ip")
    result = netnsfix("--rpm", str(rpm))
    assert result.returncode == 2
    assert "carries no /sbin/ip or /usr/sbin/ip" in one_line_error(result)


def test_unknown_check_and_expect_bug_without_a_bug_check(debian_ip: Path) -> None:
    unknown = netnsfix("--ip", str(debian_ip), "--checks", "mounts,bogus")
    assert unknown.returncode == 2 and "unknown check(s) bogus" in one_line_error(unknown)
    view_only = netnsfix("--ip", str(debian_ip), "--checks", "view", "--expect-bug")
    assert view_only.returncode == 2 and "--expect-bug needs" in one_line_error(view_only)


def test_ip_or_rpm_is_required() -> None:
    result = netnsfix()
    assert result.returncode == 2 and "one of the arguments --ip --rpm is required" in result.stderr


@pytest.mark.root
def test_junit_with_expect_bug_counts_the_reproduced_bug_as_success(
    need_root, variants: dict[str, Path], tmp_path: Path
) -> None:
    junit = tmp_path / "verify.xml"
    caught = netnsfix("--ip", str(variants["unpatched"]), "--checks", "mounts", "--expect-bug", "--junit", str(junit))
    assert caught.returncode == 0 and "reproduced, as expected" in caught.stdout
    assert ET.parse(junit).getroot().get("failures") == "0"
    missed = netnsfix("--ip", str(variants["upstream"]), "--checks", "mounts", "--expect-bug", "--junit", str(junit))
    assert missed.returncode == 1 and "did not show" in missed.stdout
    failure = ET.parse(junit).getroot().find("testcase[@name='mounts']/failure")
    assert failure is not None and failure.get("message") == "the bug was not reproduced"


@pytest.mark.engine
def test_an_image_that_does_not_exist(docker_client, debian_ip: Path) -> None:
    result = netnsfix("--ip", str(debian_ip), "--checks", "systemd", "--image", "netnsfix-test-verify-missing:nope")
    assert result.returncode == 2
    assert "image netnsfix-test-verify-missing:nope not found" in one_line_error(result)
