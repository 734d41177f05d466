"""Check "privatetmp": Bug 881741 in a booted systemd, with a unit shaped like Quantum's agents.

The unit follows Fedora 18's quantum-l3-agent.service as openstack-quantum
2012.2-1 shipped it (rdo-packages/neutron-distgit 31d4016: Type=simple,
PrivateTmp=true at line 9), run as root. Debian's /sbin/ip (iproute2 6.1,
upstream-fixed for 882047, fine for netns) makes the namespace: with the unit as
packaged ip netns exec from outside must fail (the bug), with the privatetmp
step's own drop-in it must work. Runs ``netnsfix verify`` as a user would;
every container is removed, the host's mountinfo is unchanged (conftest).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from verifykit import verify_containers

from netnsfix.collection.plugins.module_utils.privatetmp import DROPIN, override

pytestmark = [pytest.mark.engine, pytest.mark.slow]


def verify(*args: str) -> tuple[int, str, str, int]:
    command = [sys.executable, "-m", "netnsfix", "verify", "--checks", "privatetmp", *args]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        out, err = process.communicate(timeout=300)
    return process.returncode, out, err, process.pid


def check_of(out: str) -> dict:
    data = json.loads(out)
    [check] = data["checks"]
    assert check["name"] == "privatetmp"
    return check


def test_unit_as_packaged_is_caught_with_expect_bug(
    docker_client, systemd_image: str, debian_ip: Path, tmp_path: Path
) -> None:
    junit = tmp_path / "privatetmp.xml"
    code, out, err, pid = verify("--ip", str(debian_ip), "--expect-bug", "--json", "--junit", str(junit))
    assert code == 0, out + err
    check = check_of(out)
    assert check["status"] == "fail"
    log = "\n".join(check["log"])
    assert "after start: systemd shows PrivateTmp=yes" in log
    assert re.search(r"after start: unit's view of /run/netns: nsfs net:\[\d+\] mounted at /run/netns/qrouter-", log)
    assert "after start: outside view of /run/netns: no mount at /run/netns/NAME" in log
    problems = check["problems"]
    assert len(problems) == 2 and problems[0].startswith("after start:") and problems[1].startswith("after restart:")
    for problem in problems:
        assert re.search(
            r'exited 255: setting the network namespace "qrouter-[0-9a-f-]+" failed: Invalid argument', problem
        )
        assert "outside sees no mount, an empty file" in problem
    suite = ET.parse(junit).getroot()
    assert (suite.get("failures"), suite.get("errors")) == ("0", "0")
    assert not verify_containers(docker_client, pid)


def test_unit_as_packaged_is_not_taken_for_a_fix(docker_client, systemd_image: str, debian_ip: Path) -> None:
    code, out, err, pid = verify("--ip", str(debian_ip))
    assert code == 1, out + err
    assert "verdict: NOT fixed: Bug 881741 shows" in out
    assert "Invalid argument" in out
    assert not verify_containers(docker_client, pid)


def test_the_privatetmp_steps_dropin_makes_it_pass(docker_client, systemd_image: str, debian_ip: Path) -> None:
    code, out, err, pid = verify("--ip", str(debian_ip), "--privatetmp-dropin", "--json")
    assert code == 0, out + err
    check = check_of(out)
    assert check["status"] == "pass", check
    log = "\n".join(check["log"])
    assert "after start: systemd shows PrivateTmp=no" in log and "after restart: systemd shows PrivateTmp=no" in log
    # Debian 12's systemd 252: the step's form for >= 198 is the drop-in
    assert check["log"][0] == (
        "harness: systemd 252: netnsfix-privatetmp.conf in netnsfix-quantum-agent.service.d/ "
        "(the privatetmp step's file)"
    )
    unit = re.search(r"after start: unit's view of /run/netns: nsfs net:\[(\d+)\]", log)
    outside = re.search(r"after start: outside view of /run/netns: nsfs net:\[(\d+)\]", log)
    assert unit and outside and unit.group(1) == outside.group(1), log
    entered = re.findall(r"readlink /proc/self/ns/net exited 0: net:\[(\d+)\] \(outside shell: net:\[(\d+)\]\)", log)
    assert len(entered) == 2, log
    for inside, shell in entered:
        assert inside == unit.group(1) and shell != inside, "exec must land in the unit's namespace, not its own"
    assert not verify_containers(docker_client, pid)


def test_the_fix_is_not_taken_for_the_bug(docker_client, systemd_image: str, debian_ip: Path) -> None:
    code, out, err, pid = verify("--ip", str(debian_ip), "--privatetmp-dropin", "--expect-bug")
    assert code == 1, out + err
    assert "expected Bug 881741, but it did not show" in out
    assert not verify_containers(docker_client, pid)


@pytest.mark.parametrize("dropin", [False, True], ids=["as-packaged", "with-dropin"])
def test_a_binary_that_makes_no_namespace_is_no_answer(
    docker_client, systemd_image: str, tmp_path: Path, dropin: bool
) -> None:
    code, out, err, pid = verify(
        "--ip", "/usr/bin/true", "--expect-bug", "--json", *(["--privatetmp-dropin"] if dropin else [])
    )
    assert code == 2, out + err
    check = check_of(out)
    assert check["status"] == "error"
    assert re.search(
        r"ip netns add qrouter-[0-9a-f-]+ \(exit 0: no output\) made no namespace: no nsfs mount at "
        r"/run/netns/qrouter-[0-9a-f-]+ in the unit's own mount namespace",
        check["summary"],
    ), check["summary"]
    assert json.loads(out)["bug_reproduced"] is False
    assert not verify_containers(docker_client, pid)


def test_the_dropin_installed_is_the_steps_own() -> None:
    """The check takes the bytes from the privatetmp step (module_utils/privatetmp.py) through the CLI: no copy in verify/."""
    source = Path(__file__).resolve().parents[2] / "src" / "netnsfix"
    assert DROPIN.decode().splitlines()[-1] == "PrivateTmp=false"
    for path in (source / "verify").rglob("*.py"):
        assert "PrivateTmp=false" not in path.read_text(), path
    assert (
        "from netnsfix.collection.plugins.module_utils.privatetmp import wanted_file"
        in (source / "cli" / "verify.py").read_text()
    )


def test_the_harness_writes_the_steps_form_for_its_own_systemd() -> None:
    """From 198 the step's drop-in goes beside the scenario's unit; below 198 the harness says it cannot."""
    from netnsfix.cli.verify import privatetmp_step_files
    from netnsfix.errors import VerifyError
    from netnsfix.verify.privatetmp import UNIT, dropin_for

    files = privatetmp_step_files()
    for version in (252, 198):
        assert dropin_for(files, version) == ("netnsfix-privatetmp.conf", DROPIN)
    path, data = files.file_for(UNIT.removesuffix(".service"), 197)
    assert (path, data) == (f"/etc/systemd/system/{UNIT}", override(UNIT.removesuffix(".service")))
    with pytest.raises(VerifyError, match=r"the harness's systemd 197 < 198: the privatetmp step writes /etc/"):
        dropin_for(files, 197)


def test_dropin_without_the_check_is_one_error(debian_ip: Path) -> None:
    command = [sys.executable, "-m", "netnsfix", "verify", "--ip", str(debian_ip), "--checks", "mounts"]
    result = subprocess.run([*command, "--privatetmp-dropin"], capture_output=True, text=True, env=dict(os.environ))
    assert result.returncode == 2
    assert result.stderr == "netnsfix: error: --privatetmp-dropin needs the privatetmp check (--checks privatetmp)\n"
