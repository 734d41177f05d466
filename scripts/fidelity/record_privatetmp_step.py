"""Record what a booted systemd 197 (and 198) makes of what ``netnsfix host apply privatetmp --root`` wrote.

For each tag: a Fedora 18 node root made by ``make_node_root`` (v197: a root that says nothing about
its systemd, so the step takes 197; v198: a root whose systemd.pc says 198), the image of
scripts/fidelity/systemd197 booted as PID 1 in a throwaway container (record_systemd197's options),
the root's packaged units copied in. Then, in order: systemd's answer as packaged; the node
library's own verify (its runner ``docker exec``s into the container, so ``systemctl --version`` and
``systemctl show -p PrivateTmp`` are the booted systemd's answers) must fail; ``netnsfix host plan``
and ``apply privatetmp --root`` on the host (Python only: no systemd binary runs on the host); the
files apply wrote copied in, daemon-reload, systemd's answer; the library's verify again; ``host
plan`` (nothing to do); ``host undo``, the files it removed removed in the container too,
daemon-reload, systemd's answer. On v197 also the wrong mechanism: the drop-ins (what the step writes
for >= 198) put in, and the library's verify must catch that systemd 197 still says yes.
Writes OUT/TAG/step.txt (the booted.txt form: ``$ COMMAND``, its output, ``exit N``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from record_systemd197 import BOOT_OPTIONS, IMAGE, docker

from netnsfix.collection.plugins.module_utils.errors import NodeError
from netnsfix.collection.plugins.module_utils.plan import Node
from netnsfix.collection.plugins.module_utils.privatetmp import UNITS, PrivateTmp
from netnsfix.collection.plugins.module_utils.rootfs import RootFS
from netnsfix.collection.plugins.module_utils.settings import validate
from netnsfix.demo.nodefiles import make_node_root

PROJECT = Path(__file__).resolve().parents[2]
NETNSFIX = [sys.executable, "-m", "netnsfix"]


class BootedRoot(RootFS):
    """The host folder whose files the booted container runs: systemd runs it (through ``docker exec``)."""

    def systemd_runs(self) -> bool:
        return True


class Recorder:
    def __init__(self, name: str, root: Path) -> None:
        self.name, self.root, self.lines = name, root, []  # type: ignore[var-annotated]

    def run(self, argv: list[str]) -> tuple[int, str, str]:
        """The node library's runner: the command in the booted container."""
        done = docker("exec", self.name, *argv, check=False)
        return done.returncode, done.stdout, done.stderr

    def say(self, *argv: str) -> None:
        done = docker("exec", self.name, *argv, check=False)
        self.lines += [f"$ {' '.join(argv)}", *(done.stdout + done.stderr).splitlines(), f"exit {done.returncode}"]

    def show(self) -> None:
        for unit in UNITS:
            self.say("systemctl", "show", "-p", "PrivateTmp", "-p", "FragmentPath", f"{unit}.service")

    def host(self, *args: str) -> str:
        done = subprocess.run([*NETNSFIX, "host", *args], capture_output=True, text=True, check=False)
        text = (done.stdout + done.stderr).replace(str(self.root), "ROOT")
        self.lines += [f"$ netnsfix host {' '.join(args)}".replace(str(self.root), "ROOT"), *text.splitlines()]
        self.lines.append(f"exit {done.returncode}")
        return done.stdout

    def verify(self, version: int | None = None) -> None:
        """The node library's verify of the step, with the booted systemd's answers."""
        settings = validate({} if version is None else {"systemd_version": version})
        node = Node(BootedRoot(str(self.root)), settings, self.run)
        title = "$ library verify (PrivateTmp step" + (f", systemd_version={version})" if version else ")")
        try:
            PrivateTmp().verify(node)
            self.lines += [title, "passed", "exit 0"]
        except NodeError as error:
            self.lines += [title, str(error).replace(str(self.root), "ROOT"), "exit 1"]

    def copy_in(self, folder: str) -> None:
        docker("cp", f"{self.root / folder.lstrip('/')}/.", f"{self.name}:{folder}")


def boot(tag: str, name: str) -> None:
    docker("run", "-d", "--name", name, "--hostname=fidelity", *BOOT_OPTIONS, f"{IMAGE}:{tag}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        jobs = docker("exec", name, "systemctl", "list-jobs", check=False)
        # 197 prints nothing when no job is left and stdout is no tty; later ones say "No jobs running."
        if jobs.returncode == 0 and (not jobs.stdout.strip() or "No jobs running" in jobs.stdout):
            return
        time.sleep(0.5)
    raise SystemExit(f"record-privatetmp-step: {IMAGE}:{tag} did not finish booting in 60 s")


def record(tag: str, out: Path) -> None:
    name = f"netnsfix-sdfidelity-step-{tag}-{time.time_ns() % 10**9}"
    with tempfile.TemporaryDirectory(prefix="netnsfix-step-") as tmp:
        root = make_node_root(Path(tmp) / "root", systemd=None if tag == "v197" else int(tag[1:]))
        rec = Recorder(name, root)
        rec.lines += [
            f"# systemd {tag} booted as PID 1 in a throwaway container; the privatetmp step's files written by",
            "# 'netnsfix host apply privatetmp --root ROOT' on the host, copied in; recorded by",
            "# scripts/fidelity/record-privatetmp-step (see its docstring for the order).",
        ]
        boot(tag, name)
        try:
            rec.say("systemctl", "--version")
            rec.copy_in("/usr/lib/systemd/system")
            rec.say("systemctl", "daemon-reload")
            rec.lines.append("## as packaged")
            rec.show()
            rec.verify()
            rec.lines.append("## apply on the host")
            rec.host("plan", "privatetmp", "--root", str(root))
            rec.host("apply", "privatetmp", "--root", str(root))
            rec.lines.append("## the step's files in the booted system")
            rec.copy_in("/etc/systemd/system")
            rec.say("systemctl", "daemon-reload")
            rec.show()
            rec.verify()
            rec.host("plan", "privatetmp", "--root", str(root))
            rec.lines.append("## undo")
            undone = rec.host("undo", "privatetmp", "--root", str(root))
            removed = [line.split("removed ", 1)[1] for line in undone.splitlines() if " removed " in line]
            docker("exec", name, "rm", "-f", *removed)
            docker("exec", name, "sh", "-c", "rmdir /etc/systemd/system/*.service.d 2>/dev/null; true")
            rec.say("systemctl", "daemon-reload")
            rec.show()
            if tag == "v197":
                rec.lines.append("## the wrong mechanism: the drop-ins (the step's form for >= 198) under 197")
                rec.host("apply", "privatetmp", "--root", str(root), "--systemd-version", "198")
                rec.copy_in("/etc/systemd/system")
                rec.say("systemctl", "daemon-reload")
                rec.show()
                rec.verify(198)
        finally:
            docker("rm", "-f", name, check=False)
    (out / tag).mkdir(parents=True, exist_ok=True)
    (out / tag / "step.txt").write_text("\n".join(rec.lines) + "\n")


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else PROJECT / "tests" / "fixtures" / "systemd197"
    tags = argv[1:] or ["v197", "v198"]
    if shutil.which("docker") is None:
        print("record-privatetmp-step: needs docker", file=sys.stderr)
        return 2
    for tag in tags:
        if docker("image", "inspect", f"{IMAGE}:{tag}", check=False).returncode != 0:
            print(f"record-privatetmp-step: no {IMAGE}:{tag}; run scripts/fidelity/systemd197 first", file=sys.stderr)
            return 2
        record(tag, out)
        print(f"record-privatetmp-step: {tag} recorded in {out / tag / 'step.txt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
