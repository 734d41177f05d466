"""Hostile inputs, round two (issue 20), on the fleet side: what `netnsfix fleet export` reads.

Each case runs ``fleet export`` as a user runs it (tests/hostilekit.py: a world of its
own, one ``python -m netnsfix`` run) on a repository ``netnsfix publish`` made and
an inventory and site file the case spoils; it asserts exit 2, the one stderr line,
and that nothing outside ``-o`` changed (the refusals write nothing at all).
tests/fleet/test_fleet_export.py runs an exported project with ansible-playbook to
prove a lookup in every value stays inert.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hostilekit import Case, both, run_case, write
from rpmkit import build_rpms, make_outdir

from netnsfix.cli import Exit
from netnsfix.fleet.package import NODE_KEY
from netnsfix.publish import repofile

EXPORT = (
    "fleet",
    "export",
    "-i",
    "{work}/inventory.yml",
    "--site",
    "{work}/site.toml",
    "--repo",
    "{work}/repo",
    "-o",
    "{work}/project",
)
RPM = "Packages/i/iproute-3.6.0-2.netnsfix1.fc18.x86_64.rpm"
INVENTORY = b"network:\n  hosts:\n    n1: {}\ncompute:\n  hosts:\n    n2: {}\n"
SITE = b'[fleet]\npkg_backend = "none"\n'


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three repositories netnsfix publish made of one iproute build: unsigned, signed, signed by another key."""
    for tool in ("rpmbuild", "createrepo_c", "ansible-inventory"):
        if shutil.which(tool) is None and not (Path(__import__("sys").executable).parent / tool).exists():
            from testkit import unavailable

            unavailable(f"{tool} is not installed")
    from netnsfix.publish.repository import publish

    base = tmp_path_factory.mktemp("hostile-fleet")
    rpms = sorted(build_rpms("iproute", 0, version="3.6.0", release="2.netnsfix1.fc18").glob("*.rpm"))
    made = {}
    with pytest.MonkeyPatch.context() as patch:
        for name, sign in (("unsigned", False), ("signed", True), ("other", True)):
            patch.setenv("NETNSFIX_CACHE", str(base / f"cache-{name}"))
            made[name] = publish(make_outdir(base / f"out-{name}", rpms), base / f"repo-{name}", own_key=sign).repo
    return made


def repo(source: Path, key_from: Path | None = None):
    """A setup copying ``source`` to work/repo, with the inventory and site file (and another key file)."""

    def setup(world: Path) -> None:
        shutil.copytree(source, world / "work" / "repo", symlinks=True)
        (world / "work" / "inventory.yml").write_bytes(INVENTORY)
        (world / "work" / "site.toml").write_bytes(SITE)
        if key_from is not None:
            shutil.copyfile(key_from / repofile.KEY_FILE, world / "work" / "repo" / repofile.KEY_FILE)

    return setup


def truncated(world: Path) -> None:
    rpm = world / "work" / "repo" / RPM
    rpm.write_bytes(rpm.read_bytes()[:-64])


def baseurl(url: str, extra: str = ""):
    def setup(world: Path) -> None:
        path = world / "work" / "repo" / repofile.REPO_FILE
        path.write_text(repofile.render(url, signed=False) + extra)

    return setup


def inventory(text: str):
    return write("work/inventory.yml", text.encode())


def site(text: str):
    return write("work/site.toml", text.encode())


def export(*extra: str) -> tuple[str, ...]:
    return (*EXPORT, *extra)


def cases(repos: dict[str, Path]) -> list[Case]:
    plain = repo(repos["unsigned"])
    inv = r"work/inventory\.yml"
    code = Exit.ERROR
    hostname = r"cannot name a host_vars file: "
    return [
        # writes outside the target: host names that would climb out of host_vars/
        Case(
            "host-dotdot",
            EXPORT,
            code,
            rf"{inv}: host '\.\./\.\./evil' {hostname}it holds a '/'",
            both(plain, inventory("all:\n  hosts:\n    ../../evil: {role: network}\n")),
        ),
        Case(
            "host-slash",
            EXPORT,
            code,
            rf"{inv}: host 'a/b' {hostname}it holds a '/'",
            both(plain, inventory("all:\n  hosts:\n    a/b: {role: network}\n")),
        ),
        Case(
            "host-percent-dotdot",
            EXPORT,
            code,
            rf"{inv}: host '%2e%2e' {hostname}it climbs out by '\.\.'",
            both(plain, inventory("all:\n  hosts:\n    '%2e%2e': {role: network}\n")),
        ),
        Case(
            "host-dot",
            EXPORT,
            code,
            rf"{inv}: host '\.hidden' {hostname}it starts with '\.'",
            both(plain, inventory("network:\n  hosts:\n    .hidden: {}\n")),
        ),
        Case(
            "host-control",
            EXPORT,
            code,
            rf"{inv}: host 'a\\x01b' {hostname}it holds the control character",
            both(plain, inventory('network:\n  hosts:\n    "a\\x01b": {}\n')),
        ),
        # -o overlapping what it must not touch
        Case(
            "output-in-repository",
            export("-o", "{work}/repo/project"),
            code,
            r"-o .*/work/repo/project: is inside the repository .*/work/repo; write the project into a folder",
            plain,
        ),
        Case(
            "repository-in-output",
            export("-o", "{work}"),
            code,
            r"-o .*/work: holds the repository .*/work/repo; write the project into a folder of its own",
            plain,
        ),
        Case(
            "output-in-cache",
            export("-o", "{cache}/project"),
            code,
            r"-o .*/cache/project: is inside netnsfix's cache .*/cache; write the project",
            plain,
        ),
        Case(
            "output-in-build-folder",
            export("-o", "{work}/out/project"),
            code,
            r"-o .*/work/out/project: is inside a stage's output folder .*/work/out; write the project",
            both(plain, lambda world: make_outdir(world / "work" / "out", [])),
        ),
        # URLs
        Case(
            "repo-url-newline",
            export("--repo-url", "http://h/r\n[evil]"),
            code,
            r"--repo-url 'http://h/r\\n\[evil\]': holds whitespace \('\\n'\)$",
            plain,
        ),
        Case(
            "repo-url-javascript",
            export("--repo-url", "javascript:alert(1)"),
            code,
            r"--repo-url 'javascript:alert\(1\)': is not an http:// or https:// or file:// URL$",
            plain,
        ),
        Case(
            "repo-url-space",
            export("--repo-url", "http://h/a b"),
            code,
            r"--repo-url 'http://h/a b': holds whitespace \(' '\)$",
            plain,
        ),
        Case("repo-url-empty", export("--repo-url", ""), code, r"--repo-url '': is empty$", plain),
        Case(
            "repo-url-file-no-path",
            export("--repo-url", "file://"),
            code,
            r"--repo-url 'file://': names no folder \(file:///PATH\)$",
            plain,
        ),
        Case(
            "baseurl-javascript",
            EXPORT,
            code,
            r"work/repo/netnsfix\.repo: baseurl 'javascript:alert\(1\)': is not an http:// or https:// or file://",
            both(plain, baseurl("javascript:alert(1)")),
        ),
        Case(
            "baseurl-evil-section",
            EXPORT,
            code,
            r"work/repo/netnsfix\.repo: has a section netnsfix does not write \(\[evil\]\)",
            both(plain, baseurl("http://h/r", "\n[evil]\nbaseurl=http://evil/\ngpgcheck=0\n")),
        ),
        # corrupt payloads, signatures
        Case(
            "payload-truncated",
            EXPORT,
            code,
            rf"work/repo/{RPM}: header and payload are \d+ bytes, but its signature header says \d+: cut short",
            both(plain, truncated),
        ),
        Case(
            "unsigned-in-signed-repository",
            EXPORT,
            code,
            rf"work/repo/{RPM}: not signed \(the repository \(.*/work/repo/RPM-GPG-KEY-netnsfix\) trusts key "
            r"[0-9A-F]{16}\); nothing was exported$",
            repo(repos["unsigned"], key_from=repos["signed"]),
        ),
        Case(
            "signed-by-another-key",
            EXPORT,
            code,
            rf"work/repo/{RPM}: signed with key [0-9A-F]{{8,16}}, which the repository "
            r"\(.*/work/repo/RPM-GPG-KEY-netnsfix\) does not trust \(it trusts [0-9A-F]{16}\); nothing was exported$",
            repo(repos["signed"], key_from=repos["other"]),
        ),
        # site values: a trailing newline or space is not a name
        Case(
            "nic-newline",
            EXPORT,
            code,
            r"public_nic 'eth1\\n' is not an interface name",
            both(plain, site('[defaults]\npublic_nic = "eth1\\n"\n')),
        ),
        Case(
            "bridge-newline",
            EXPORT,
            code,
            r"bridge_mappings: physnet1:br-eth1\n? is not PHYSNET:BRIDGE|bridge_mappings",
            both(plain, site('[defaults]\nbridge_mappings = ["physnet1:br-eth1\\n"]\n')),
        ),
        Case(
            "physnet-trailing-space",
            EXPORT,
            code,
            r"physnets: 'physnet1 ' is neither NAME",
            both(plain, site('[defaults]\nphysnets = ["physnet1 "]\n')),
        ),
        Case(
            "iscsi-scope-id-lookup",
            EXPORT,
            code,
            r"work/site\.toml \[nodes\.n1\]: iscsi_ip_address \"fe80::1%\{\{lookup\('pipe','id'\)\}\}\" is not an IP address",
            both(plain, site("[defaults]\niscsi_ip_address = \"fe80::1%{{lookup('pipe','id')}}\"\n")),
        ),
        Case(
            "ovs-db-trailing-newline",
            EXPORT,
            code,
            r"ovs_db 'unix:/run/db\.sock\\n' is not an OVSDB address",
            both(plain, site('[defaults]\novs_db = "unix:/run/db.sock\\n"\n')),
        ),
        Case(
            "ovs-db-space",
            EXPORT,
            code,
            r"ovs_db 'unix:/a b' is not an OVSDB address",
            both(plain, site('[defaults]\novs_db = "unix:/a b"\n')),
        ),
    ]


CASE_IDS = [c.id for c in cases({"unsigned": Path("/"), "signed": Path("/"), "other": Path("/")})]


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_hostile_fleet_export(case_id: str, repos: dict[str, Path], tmp_path: Path) -> None:
    case = next(c for c in cases(repos) if c.id == case_id)
    run_case(case, tmp_path)


def test_a_good_signed_repository_exports(repos: dict[str, Path], tmp_path: Path) -> None:
    """The signature check passes what it must pass (the refusals above are not a check that refuses all)."""
    case = Case("signed-good", EXPORT, Exit.OK, "", repo(repos["signed"]), touches=("work/project",), lines=0)
    done = run_case(case, tmp_path)
    assert "wrote " in done.stdout
    assert (tmp_path / "work/project/files/RPM-GPG-KEY-netnsfix").is_file()
    # the nodes' repository file names the key the role put on the node, never the one on the server: yum 3.4.3
    # imports what gpgkey= gives it (-y says yes), so a server's own key would let it sign its own packages
    exported = (tmp_path / "work/project/files/netnsfix.repo").read_text()
    assert [line for line in exported.splitlines() if line.startswith("gpgkey=")] == [f"gpgkey=file://{NODE_KEY}"] * 2
    module = (Path(__file__).parents[1] / "src/netnsfix/collection/plugins/module_utils/package.py").read_text()
    assert f'key_path=dict(type="path", default="{NODE_KEY}"' in module  # where the package module writes it
