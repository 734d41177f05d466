"""Record the role's yum backend on a node with Fedora 18's yum 3.4.3 and rpm 4.10; see record-yum-role.

The node is the fleet's node (src/netnsfix/demo/fleetnodes.py: a booted systemd container, Debian 12's
glibc, sshd) plus the three libraries the kit's tools link against (Fedora 18 has them: nss, glib2,
libcurl), with the fidelity kit (scripts/fidelity/pkgtools) mounted read-only at its own path (its
programs have that path built in). In the node, before anything runs:

- ``/usr/bin/rpm``, ``rpmkeys``, ``rpmdb`` are the kit's rpm 4.10.3.1 and ``/usr/bin/yum`` its yum 3.4.3;
- ``/usr/bin/python2.7`` (the interpreter fleet export names) runs the kit's Python 2.7.3 with yum's and
  rpm's modules on its path (Debian's 2.7.18 is moved aside: its ABI is not the kit's);
- rpm's database is ``/var/lib/rpm`` (``~/.rpmmacros``; the kit's own is under its prefix), made anew
  by rpm 4.10 (Debian's rpm 4.18 wrote sqlite) with the demo archive's glibc registered, as the image
  does with Debian's rpm;
- ``/etc/yum.conf`` (yum's own, gpgcheck=1) and a ``fedora`` repository that no mirror answers, enabled,
  as on a Fedora 18 node cut off from its mirrors: the role must not need it.

On the host: the demo's iproute built and published (``netnsfix publish``, signed with netnsfix's own
key), the fixture repository createrepo 0.9.9 made (tests/fixtures/fedora18-tools, updates/18/x86_64,
its packages signed by the fixture key) with a netnsfix.repo and that key beside it, both served by
``netnsfix serve --bind GATEWAY`` (the node reaches the host at its bridge's gateway). Then, through the
CLI over SSH: ``fleet export`` (no pkg_backend in the site file: the default), plan / apply / plan /
verify / undo with each repository (the fixture's first: its repodata is older than the demo's, and
yum 3.4.3 keeps cached metadata newer than what it downloads, ``timestamp_check``); the must-fail cases
(a newer iproute in the rpm database; the packages re-signed by another key on the server); and yum by
hand with the repository file as ``publish`` writes it (its gpgkey on the server), which installs the
re-signed package.

Writes OUT (default tests/fixtures/fedora18-tools/yum-role.txt): ``$ COMMAND``, its output, ``exit N``;
paths and the served address replaced by WORK, KIT, http://HOST:PORT.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from netnsfix.demo.fleetnodes import (
    authorize_key,
    booted_nodes,
    ensure_node_image,
    make_key,
    published_repo,
    put_files,
)
from netnsfix.demo.nodefiles import make_node_root
from netnsfix.fleet.export import export_project
from netnsfix.fleet.package import read_package
from netnsfix.fleet.site import load_fleet
from netnsfix.publish.repofile import KEY_FILE, REPO_FILE, render
from netnsfix.recipe import find_recipe
from netnsfix.tools.engine import Bind, Container, connect

PROJECT = Path(__file__).resolve().parents[2]
FIXTURES = PROJECT / "tests" / "fixtures" / "fedora18-tools"
KIT_LIBS = ("libcurl4", "libglib2.0-0", "libnss3")  # what the kit's rpm, yum and pycurl link against
NODE = "y1"
NETNSFIX = [sys.executable, "-m", "netnsfix"]
SITE = '[defaults]\nprivate_nic = "eth2"\niscsi_ip_address = "192.168.1.101"\n'
YUM_CONF = """[main]
cachedir=/var/cache/yum
keepcache=0
debuglevel=2
logfile=/var/log/yum.log
exactarch=1
obsoletes=1
gpgcheck=1
plugins=0
"""
FEDORA_REPO = """[fedora]
name=Fedora 18 - x86_64 (no mirror answers this node)
baseurl=http://127.0.0.1:9/pub/fedora/linux/releases/18/Everything/x86_64/os/
enabled=1
gpgcheck=1
"""
SETUP = r"""
set -eu
K=@KIT@
for tool in rpm rpmkeys rpmdb; do ln -sf "$K/bin/$tool" "/usr/bin/$tool"; done
ln -sf "$K/bin/yum" /usr/bin/yum
mv /usr/bin/python2.7 /usr/bin/python2.7.debian
printf '#!/bin/sh\nPYTHONPATH=%s exec %s "$@"\n' "$K/root$K/lib/python2.7/site-packages" "$K/bin/python2.7" \
    > /usr/bin/python2.7
chmod 755 /usr/bin/python2.7
printf '%%_dbpath /var/lib/rpm\n' > /root/.rpmmacros
rm -rf /var/lib/rpm
mkdir -p /var/lib/rpm /var/cache/yum /etc/yum.repos.d
rpm --initdb
rpm -i --justdb --nodeps /tmp/glibc.rpm 2>/dev/null
rm -f /tmp/glibc.rpm
ip link add eth1 type veth peer name eth1-peer
ip link add eth2 type veth peer name eth2-peer
systemctl restart ssh
"""
NEWER_SPEC = """Name: iproute
Version: 3.6.0
Release: 99.fc18
Summary: A newer iproute build than the fixed one (a must-fail case)
License: GPLv2+
%description
Empty: it stands in the rpm database for a newer build an operator installed.
%files
"""


class Transcript:
    def __init__(self, replace: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.replace = replace

    def clean(self, text: str) -> str:
        for old, new in self.replace.items():
            text = text.replace(old, new)
        return text

    def add(self, command: str, output: str, code: int) -> None:
        self.lines += [self.clean(f"$ {command}"), *self.clean(output).rstrip("\n").splitlines(), f"exit {code}"]

    def note(self, line: str) -> None:
        self.lines.append(self.clean(line))


class Recorder:
    def __init__(self, work: Path, kit: Path) -> None:
        self.work = work
        self.kit = kit
        self.node: Container | None = None
        self.t = Transcript({str(work): "WORK", str(kit): "KIT"})

    def in_node(self, script: str, show: str | None = None) -> tuple[int, str]:
        """``sh -c SCRIPT`` in the node (docker exec: the operator's own look at it); recorded as ``show``."""
        assert self.node is not None
        result = self.node.exec(["sh", "-c", script])
        self.t.add(show or script, result.output, result.exit_code)
        return result.exit_code, result.output

    def cli(self, *args: str, log: Path | None = None) -> tuple[int, str]:
        env = dict(os.environ)
        if log is not None:
            env["ANSIBLE_LOG_PATH"] = str(log)
        done = subprocess.run([*NETNSFIX, *args], capture_output=True, text=True, check=False, env=env, cwd=self.work)
        self.t.add("netnsfix " + " ".join(args), done.stdout + done.stderr, done.returncode)
        return done.returncode, done.stdout

    def yum_said(self, log: Path) -> None:
        """What yum 3.4.3 printed in the role's yum task (its result in ansible's log), or its failure."""
        for task in _tasks(log):
            if "Package | yum install" in task.get("task", {}).get("name", ""):
                result = task.get("hosts", {}).get(NODE, {})
                if result.get("skipped"):
                    self.t.note("# the yum task: skipped")
                    continue
                said = "\n".join(result.get("results", [])) + "\n" + result.get("msg", "")
                self.t.add("# the role's yum task: what yum -d 2 -y printed", said, result.get("rc", 0))
        log.unlink(missing_ok=True)


def _tasks(log: Path) -> list[dict]:
    """The json callback's document in ansible's log (ANSIBLE_LOG_PATH), its tasks."""
    if not log.is_file():
        return []
    text = log.read_text(errors="replace")
    start = text.find("| {\n")
    if start < 0:
        return []
    document, _ = json.JSONDecoder().raw_decode(text, start + 2)
    return [task for play in document.get("plays", []) for task in play.get("tasks", [])]


def build_newer(kit: Path, work: Path) -> Path:
    top = work / "rpmbuild"
    (top / "SPECS").mkdir(parents=True)
    (top / "SPECS" / "iproute.spec").write_text(NEWER_SPEC)
    (kit / "var" / "tmp").mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            kit / "bin" / "rpmbuild",
            "-bb",
            "--target",
            "x86_64",
            "--define",
            f"_topdir {top}",
            top / "SPECS/iproute.spec",
        ],
        check=True,
        capture_output=True,
    )
    return top / "RPMS" / "x86_64" / "iproute-3.6.0-99.fc18.x86_64.rpm"


def fixture_repo(dest: Path, url: str) -> Path:
    """The fixture repository createrepo 0.9.9 made, as it is, plus what the role reads beside it."""
    shutil.copytree(FIXTURES / "archive" / "updates" / "18" / "x86_64", dest)
    (dest / REPO_FILE).write_text(render(url, signed=True))
    shutil.copy(FIXTURES / "RPM-GPG-KEY-nfxfix", dest / KEY_FILE)
    return dest


def serve(folder: Path, host: str) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [*NETNSFIX, "serve", str(folder), "--bind", host],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert server.stdout is not None
    first = server.stdout.readline()  # "serving DIR at http://HOST:PORT/  (Ctrl-C stops)"
    if " at http://" not in first:
        server.terminate()
        raise SystemExit(f"record-yum-role: netnsfix serve said {first!r}")
    return server, first.split(" at ", 1)[1].split()[0].rstrip("/")


def phase(rec: Recorder, title: str, inventory: Path, project: Path, nevra: str, name: str) -> None:
    rec.t.note(f"## {title}")
    log = rec.work / "ansible.log"
    common = ("-i", inventory.name, "--project", project.name)
    rec.cli("fleet", "plan", *common)
    rec.cli("fleet", "apply", *common, log=log)
    rec.yum_said(log)
    rec.cli("fleet", "plan", *common)
    rec.cli("fleet", "verify", *common)
    rec.in_node(f"rpm -q {name}")
    rec.in_node("rpm -q gpg-pubkey --qf '%{NAME}-%{VERSION}-%{RELEASE} %{SUMMARY}\\n'")
    rec.in_node(f"rpm -V {nevra}")
    rec.in_node("grep -v '^#' /etc/yum.repos.d/netnsfix.repo | head -6")
    rec.in_node(f"tail -n 3 /var/log/yum.log | cut -d' ' -f4- | grep {name}")
    rec.cli("fleet", "undo", *common)


def record(out: Path, kit: Path) -> None:
    engine = connect()
    with tempfile.TemporaryDirectory(prefix="netnsfix-yumrole-") as tmp:
        work = Path(tmp)
        rec = Recorder(work, kit)
        rec.t.note("# recorded by scripts/fidelity/record-yum-role on a node with the fidelity kit's")
        rec.t.note("# yum 3.4.3 and rpm 4.10.3.1 (see the script's docstring for the node and the order)")
        published = published_repo(find_recipe("iproute-3.6.0-fc18"), work / "demo")
        assert published.build is not None
        image = ensure_node_image(engine, published.glibc_rpm, KIT_LIBS)
        make_key(work)
        served = work / "served"
        served.mkdir()
        rec.cli("publish", str(published.build), "--repo", str(served / "demo"))
        # the same build signed by a key made for this run (another cache: another own key)
        subprocess.run(
            [*NETNSFIX, "publish", str(published.build), "--repo", str(work / "other")],
            env={**os.environ, "NETNSFIX_CACHE": str(work / "othercache")},
            capture_output=True,
            check=True,
        )
        newer = build_newer(kit, work)
        with booted_nodes(engine, image, (NODE,), "netnsfix-yumrole", binds=(Bind(str(kit), str(kit)),)) as nodes:
            node = nodes[NODE]
            rec.node = node.container
            prepare(rec, node.container, published.glibc_rpm, newer)
            gateway = node.container.exec(["sh", "-c", "ip -4 route show default"]).output.split()[2]
            server, url = serve(served, gateway)
            rec.t.replace |= {url: "http://HOST:PORT", node.container.name: "NODE", node.address: "ADDRESS"}
            try:
                runs(rec, node.address, url, newer)
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=10)
    out.write_text("\n".join(rec.t.lines) + "\n")


def prepare(rec: Recorder, container: Container, glibc_rpm: Path, newer: Path) -> None:
    """The node's files (Fedora 18's Quantum files), its package tools (SETUP), yum's files, root's SSH key."""
    put_files(container, make_node_root(rec.work / "root", plugin_ini=False))
    container.put_archive("/tmp", _tar_one("glibc.rpm", glibc_rpm))
    container.put_archive("/tmp", _tar_one(newer.name, newer))
    code, said = rec.in_node(SETUP.replace("@KIT@", str(rec.kit)), show="# the node's package tools (SETUP)")
    if code != 0:
        raise SystemExit(f"record-yum-role: setting up the node failed: {said}")
    for path, text in {"etc/yum.conf": YUM_CONF, "etc/yum.repos.d/fedora.repo": FEDORA_REPO}.items():
        container.put_archive("/", _tar_text(path, text))
    authorize_key(container, (rec.work / "id_ed25519.pub").read_bytes())


def runs(rec: Recorder, address: str, url: str, newer: Path) -> None:
    """The node's tools, then each repository's round trip, then the must-fail cases."""
    work = rec.work
    rec.in_node("rpm --version")
    rec.in_node("yum --version | head -1")
    rec.in_node("python2.7 -c 'import sys, rpm, yum; print sys.version.split()[0], rpm.__version__, yum.__version__'")
    rec.in_node("rpm -qa")
    rec.in_node("cat /etc/yum.conf /etc/yum.repos.d/fedora.repo")
    rec.in_node(
        "out=$(yum -y -d 2 install iproute 2>&1); code=$?; printf '%s\\n' \"$out\" | tail -n 3; exit $code",
        show="yum -y install iproute  # every repository on; the last lines",
    )
    ssh = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
    inventory = work / "inventory.ini"
    inventory.write_text(
        f"[compute]\n{NODE} ansible_host={address} ansible_user=root "
        f"ansible_ssh_private_key_file={work / 'id_ed25519'} ansible_ssh_common_args='{ssh}'\n"
    )
    (work / "site.toml").write_text(SITE)

    fixture = fixture_repo(work / "served" / "fixture", f"{url}/fixture")
    package = read_package(fixture, name="nfxfix", repo_url=f"{url}/fixture")
    export_project(load_fleet(inventory, work / "site.toml"), package, work / "fixture-project", fixture)
    rec.t.note("## the fixture repository createrepo 0.9.9 made (tests/fixtures/fedora18-tools), served over HTTP")
    rec.t.note(f"# exported with the library: read_package(REPO, name='nfxfix') -> {package.nevra}")
    phase(
        rec,
        "fixture: plan / apply / plan / verify / undo",
        inventory,
        work / "fixture-project",
        package.nevra,
        "nfxfix",
    )

    demo = work / "served" / "demo"
    nevra = next((demo / "Packages").glob("*/iproute-*.rpm")).name.removesuffix(".rpm")
    rec.t.note("## the published demo repository (netnsfix publish, signed), served over HTTP")
    rec.cli("fleet", "export", "-i", "inventory.ini", "--site", "site.toml", "--repo", str(demo),
            "--repo-url", f"{url}/demo", "-o", "demo-project")  # fmt: skip
    phase(rec, "demo: plan / apply / plan / verify / undo", inventory, work / "demo-project", nevra, "iproute")

    rec.t.note("## must fail: a newer iproute build in the rpm database")
    rec.in_node(f"rpm -U --justdb --nodeps /tmp/{newer.name}")
    rec.in_node("rpm -q iproute")
    rec.cli("fleet", "apply", "-i", "inventory.ini", "--project", "demo-project")
    rec.in_node("rpm -q iproute")
    fresh = "rpm -e --justdb --nodeps iproute && rpm -e $(rpm -q gpg-pubkey)"
    rec.in_node(fresh, show=f"{fresh}  # as a fresh node")

    rec.t.note("## must fail: the server's packages re-signed by another key, its key file that key")
    shutil.rmtree(demo)
    shutil.copytree(work / "other", demo)
    rec.cli("fleet", "apply", "-i", "inventory.ini", "--project", "demo-project", log=work / "ansible.log")
    rec.yum_said(work / "ansible.log")
    rec.in_node("rpm -q iproute")
    rec.in_node("rpm -q gpg-pubkey --qf '%{NAME}-%{VERSION}-%{RELEASE} %{SUMMARY}\\n'")

    rec.t.note("## why the nodes' repository file names the key the role put there: publish's own")
    rec.t.note("## netnsfix.repo names the key on the server, and yum -y imports what the server gives")
    assert rec.node is not None
    rec.node.put_archive("/", _tar_text("etc/yum.repos.d/netnsfix.repo", render(f"{url}/demo", signed=True)))
    rec.in_node("grep gpgkey /etc/yum.repos.d/netnsfix.repo | head -1")
    rec.in_node(
        f"out=$(yum -y -d 2 --disablerepo='*' --enablerepo=netnsfix install {nevra} 2>&1); code=$?; "
        "printf '%s\\n' \"$out\" | grep -E 'Importing|Userid|From|Complete|Error|Public key'; exit $code",
        show=f"yum -y --disablerepo='*' --enablerepo=netnsfix install {nevra}  # the key lines",
    )
    rec.in_node(f"rpm -q {nevra}")


def _tar_one(name: str, path: Path) -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(path, arcname=name)
    return buffer.getvalue()


def _tar_text(name: str, text: str) -> bytes:
    import io
    import tarfile

    data = text.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else FIXTURES / "yum-role.txt"
    kit = Path(
        os.environ.get("NETNSFIX_FIDELITY_KIT")
        or Path(os.environ.get("NETNSFIX_CACHE") or Path.home() / ".cache/netnsfix") / "fidelity/fedora18"
    )
    for tool in ("rpm", "rpmbuild", "yum", "python2.7"):
        if not (kit / "bin" / tool).is_file():
            print(
                f"record-yum-role: no {kit}/bin/{tool}; build the kit first (scripts/fidelity/pkgtools)",
                file=sys.stderr,
            )
            return 2
    if shutil.which("docker") is None or shutil.which("ssh") is None:
        print("record-yum-role: needs docker and ssh", file=sys.stderr)
        return 2
    record(out, kit)
    print(f"record-yum-role: recorded in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
