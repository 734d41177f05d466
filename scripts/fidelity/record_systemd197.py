"""Record systemd 197's (and 198's) own answers on the privatetmp step's files; see record-systemd197.

Every systemd binary runs inside a throwaway container of the image scripts/fidelity/systemd197 made:
the unit loader (``systemd --test``) as uid 65534 in a private mount namespace, the booted systemd as
PID 1 in a container started the way the project boots systemd (DESIGN.md section 3: private cgroup
namespace, tmpfs on /run, /run/lock and /sys/fs/cgroup, no --privileged, no host cgroup fs). Nothing
runs on the host but docker and file writes under OUT.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from netnsfix.collection.plugins.module_utils.privatetmp import DROPIN, DROPIN_NAME, override
from netnsfix.demo.nodefiles import UNITS, unit_file

PROJECT = Path(__file__).resolve().parents[2]
IMAGE = "netnsfix-systemd-fidelity"
CASES = ("a-vendor", "b-dropin", "c-include", "d-copy")
NOBODY = "65534"
BOOT_OPTIONS = [
    "--cap-add=ALL",
    "--cap-drop=SYS_RESOURCE",
    "--security-opt=seccomp=unconfined",
    "--security-opt=apparmor=unconfined",
    "--cgroupns=private",
    "--tmpfs=/run",
    "--tmpfs=/run/lock",
    "--tmpfs=/sys/fs/cgroup",
    "--network=none",
    "-e",
    "container=docker",
]
MISSING = "netnsfix-absent.service"


def write_cases(cases: Path) -> None:
    """The files each case puts on the node: vendor units under usr/, the case's own under etc/."""
    shutil.rmtree(cases, ignore_errors=True)
    for unit in UNITS:
        vendor = cases / "vendor" / f"{unit}.service"
        vendor.parent.mkdir(parents=True, exist_ok=True)
        vendor.write_text(unit_file(unit, "2012.2"))
        for case in CASES:
            etc = cases / case / "etc"
            etc.mkdir(parents=True, exist_ok=True)
            if case == "b-dropin":
                (etc / f"{unit}.service.d").mkdir()
                (etc / f"{unit}.service.d" / DROPIN_NAME).write_bytes(DROPIN)
            elif case == "c-include":
                (etc / f"{unit}.service").write_bytes(override(unit))
            elif case == "d-copy":
                (etc / f"{unit}.service").write_text(
                    unit_file(unit, "2012.2").replace("PrivateTmp=true\n", "PrivateTmp=false\n")
                )


def docker(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


LOADER = r"""
set -eu
cp /cases/vendor/*.service /usr/lib/systemd/system/
cp -a /cases/$CASE/etc/. /etc/systemd/system/
for unit in $UNITS; do
  set +e
  # a private mount namespace with its own empty /run and /sys/fs/cgroup (197's --test otherwise makes
  # and joins a cgroup under /sys/fs/cgroup/systemd), then uid 65534 without capabilities
  unshare --mount --propagation private -- sh -c "mount -t tmpfs none /sys/fs/cgroup && mount -t tmpfs none /run &&
    exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all -- \
    /usr/lib/systemd/systemd --test --system --log-target=console --unit=$unit.service" >/tmp/out 2>/tmp/err
  code=$?
  set -e
  echo "@@@ $unit $code"
  cat /tmp/out
  echo "@@@ stderr"
  cat /tmp/err
done
"""


def unit_block(dump: str, unit: str) -> list[str]:
    """The lines of ``-> Unit UNIT:`` in a ``systemd --test`` dump, up to the next unit or job."""
    lines = dump.splitlines()
    start = [line.strip() for line in lines].index(f"-> Unit {unit}:")
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if line.lstrip().startswith("-> "):
            break
        block.append(line)
    return block


def masked(line: str) -> str:
    """A stderr line without its timing ("... initial transaction in 12ms."), so reruns compare equal."""
    return re.sub(r" in [0-9][0-9a-z. ]*\.$", " in TIME.", line)


def record_loader(tag: str, cases: Path, out: Path) -> None:
    image = f"{IMAGE}:{tag}"
    for case in CASES:
        result = docker(
            "run", "--rm", "--network=none", "--hostname=fidelity",
            "--cap-add=SYS_ADMIN", "--security-opt=apparmor=unconfined",
            "-v", f"{cases}:/cases:ro", "-e", f"CASE={case}", "-e", f"UNITS={' '.join(UNITS)}",
            image, "bash", "-c", LOADER,
        )  # fmt: skip
        parts = result.stdout.split("@@@ ")[1:]
        lines = [
            f"# systemd {tag}: its own unit loader on case {case} (inputs: cases/{case}/etc over cases/vendor)",
            "# `systemd --test --system --unit=NAME.service`, uid 65534, private mount namespace, throwaway",
            "# container; recorded by scripts/fidelity/record-systemd197. Per unit: exit code, stderr, dump.",
        ]
        for head, err in zip(parts[0::2], parts[1::2], strict=True):
            first, _, dump = head.partition("\n")
            unit, code = first.split()
            lines.append(f"## {unit}.service exit {code}")
            lines += [f"## stderr: {masked(line)}" for line in err.partition("\n")[2].splitlines()]
            lines += unit_block(dump, f"{unit}.service")
        (out / tag / f"{case}.txt").write_text("\n".join(lines) + "\n")


BOOTED = r"""
set -u
say() { echo "\$ $*"; "$@" 2>&1; echo "exit $?"; }
say systemctl --version
cp /cases/vendor/*.service /usr/lib/systemd/system/
for case in $CASES; do
  rm -rf /etc/systemd/system/quantum-*
  cp -a /cases/$case/etc/. /etc/systemd/system/
  systemctl daemon-reload
  echo "## case $case"
  for unit in $UNITS; do say systemctl show -p PrivateTmp -p FragmentPath $unit.service; done
done
echo "## undo: the case's files removed, daemon-reload"
rm -rf /etc/systemd/system/quantum-*
systemctl daemon-reload
for unit in $UNITS; do say systemctl show -p PrivateTmp -p FragmentPath $unit.service; done
echo "## PID 1"
say readlink /proc/1/exe
say systemctl show -p Version
echo "## a unit that does not exist"
say systemctl show -p LoadState -p ActiveState $MISSING
say systemctl try-restart $MISSING
say systemctl restart $MISSING
say systemctl is-active $MISSING
echo "## a unit that exists, loaded and inactive"
say systemctl show -p LoadState -p ActiveState quantum-server.service
say systemctl try-restart quantum-server.service
echo "## several units in one call (how a restart handler can ask once)"
say systemctl show -p Id -p LoadState quantum-server.service $MISSING quantum-l3-agent.service
echo "## what 197 does not have"
say systemctl is-system-running
say test -e /usr/bin/systemd-run
"""


def record_booted(tag: str, cases: Path, out: Path) -> None:
    image = f"{IMAGE}:{tag}"
    header = [
        f"# systemd {tag} booted as PID 1 in a throwaway container (--cgroupns=private, tmpfs on /run,",
        "# /run/lock, /sys/fs/cgroup; no --privileged, no host cgroup fs); recorded by",
        "# scripts/fidelity/record-systemd197. Vendor units from cases/vendor, each case's etc/ in turn.",
    ]
    name = f"netnsfix-sdfidelity-boot-{tag}-{time.time_ns() % 10**9}"
    docker("run", "-d", "--name", name, "--hostname=fidelity", *BOOT_OPTIONS, "-v", f"{cases}:/cases:ro", image)
    try:
        state = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = docker("inspect", "-f", "{{.State.Status}}", name).stdout.strip()
            if state != "running":
                break
            jobs = docker("exec", name, "systemctl", "list-jobs", check=False)
            if jobs.returncode == 0 and "No jobs running" in jobs.stdout:
                break
            time.sleep(0.5)
        logs = docker("logs", name, check=False)
        if state != "running":
            tail = (logs.stdout + logs.stderr).splitlines()[-25:]
            text = [*header, f"## did not boot: container {state}; last lines of its console:", *tail]
        else:
            result = docker(
                "exec", "-e", f"CASES={' '.join(CASES)}", "-e", f"UNITS={' '.join(UNITS)}", "-e", f"MISSING={MISSING}",
                name, "bash", "-c", BOOTED, check=False,
            )  # fmt: skip
            text = [
                *header,
                *result.stdout.splitlines(),
                *(f"## stderr: {line}" for line in result.stderr.splitlines()),
            ]
        (out / tag / "booted.txt").write_text("\n".join(text) + "\n")
    finally:
        docker("rm", "-f", name, check=False)


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else PROJECT / "tests" / "fixtures" / "systemd197"
    tags = argv[1:] or [
        tag for tag in ("v197", "v198") if docker("image", "inspect", f"{IMAGE}:{tag}", check=False).returncode == 0
    ]
    if not tags:
        print(f"record-systemd197: no {IMAGE}:TAG image; run scripts/fidelity/systemd197 first", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    write_cases(out / "cases")
    with tempfile.TemporaryDirectory(prefix="netnsfix-sd197-") as tmp:
        cases = Path(tmp) / "cases"
        shutil.copytree(out / "cases", cases)
        cases.chmod(0o755)
        for tag in tags:
            (out / tag).mkdir(exist_ok=True)
            record_loader(tag, cases, out)
            record_booted(tag, cases, out)
            print(f"record-systemd197: {tag} recorded in {out / tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
