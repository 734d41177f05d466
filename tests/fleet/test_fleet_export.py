"""netnsfix fleet export, and the exported role applied to node root folders (netnsfix_root).

The role runs here through Ansible's local connection on folders made by
tests/hostroot.py (the Fedora 18 files as the released packages ship them),
so the two paths can be compared byte for byte without containers:
``netnsfix fleet apply`` with ``netnsfix_root=FOLDER`` against ``netnsfix host
apply --root`` on an identical folder. tests/fleet/test_fleet_nodes.py does
the same on booted nodes over SSH and the docker connection.
"""

from __future__ import annotations

import ast
import functools
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from hostroot import make_node_root, snapshot
from rpmkit import build_rpms, make_outdir

from netnsfix.cli import main
from netnsfix.collection.plugins.module_utils.iptables_path import FIXED, RELEASED
from netnsfix.collection.plugins.module_utils.privatetmp import DROPIN
from netnsfix.collection.plugins.module_utils.vif_driver import DRIVER
from netnsfix.fleet.ansible import base_environment
from netnsfix.fleet.results import read_results

SRC = Path(__file__).resolve().parents[2] / "src" / "netnsfix"
SITE = """\
[fleet]
pkg_backend = "none"

[defaults]
private_nic = "eth2"
iscsi_ip_address = "192.168.1.101"

[nodes.n1]
public_nic = "eth1"
"""
HOST_OPTIONS = {
    "n1": ["--role", "network", "--public-nic", "eth1"],
    "n2": ["--role", "compute"],
}
FILE_STEPS = ["privatetmp", "iptables-path", "vif-driver", "quantum-config"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A repository netnsfix publish made, holding an iproute RPM (built with rpmbuild)."""
    if shutil.which("rpmbuild") is None or shutil.which("createrepo_c") is None:
        pytest.skip("rpmbuild or createrepo_c is not installed")
    from netnsfix.publish.repository import publish

    base = tmp_path_factory.mktemp("fleet-repo")
    rpms = sorted(build_rpms("iproute", 0, version="3.6.0", release="2.netnsfix1.fc18").glob("*.rpm"))
    return publish(make_outdir(base / "out", rpms), base / "repo").repo


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    """Two node roots (a network node with plugin.ini, a compute node without) and an inventory naming them."""
    roots = {
        "n1": make_node_root(tmp_path / "n1", plugin_ini=True),
        "n2": make_node_root(tmp_path / "n2", plugin_ini=False),
    }
    # a folder has no ovsdb of its own: the file steps only, chosen as an operator would (netnsfix_steps)
    steps = 'netnsfix_steps=\'["privatetmp", "iptables_path", "vif_driver", "quantum_config"]\''
    local = f"ansible_connection=local ansible_python_interpreter={sys.executable} {steps}"
    (tmp_path / "inventory.ini").write_text(
        f"[network]\nn1 {local} netnsfix_root={roots['n1']}\n[compute]\nn2 {local} netnsfix_root={roots['n2']}\n"
    )
    (tmp_path / "site.toml").write_text(SITE)
    return roots


def fleet(capsys, tmp_path: Path, repo: Path, action: str, *extra: str) -> tuple[int, str, str]:
    capsys.readouterr()
    args = ["-i", str(tmp_path / "inventory.ini"), "--site", str(tmp_path / "site.toml"), "--repo", str(repo)]
    code = main(["fleet", action, *args, *extra])
    out, err = capsys.readouterr()
    return code, out, err


class Loader(yaml.SafeLoader):
    """PyYAML's safe loader that reads Ansible's ``!unsafe`` tag as the plain string it carries."""


Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def load(path: Path):
    return yaml.load(path.read_text(), Loader=Loader)  # a SafeLoader with one tag more


def collection_tree() -> dict[str, bytes]:
    """The collection as it is in the source tree (what netnsfix ships), without Python's caches."""
    root = SRC / "collection"
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def test_export_copies_the_collection_verbatim_and_writes_only_the_operators_data(
    folders, tmp_path, repo, capsys
) -> None:
    out = tmp_path / "project"
    code, text, _ = fleet(capsys, tmp_path, repo, "export", "-o", str(out))
    assert code == 0, text
    copied = out / "collections" / "ansible_collections" / "netnsfix" / "node"
    exported = {str(path.relative_to(copied)): path.read_bytes() for path in copied.rglob("*") if path.is_file()}
    assert exported == collection_tree()  # the role, the modules, the library: byte for byte, nothing more
    assert not (out / "roles").exists()  # no role generated beside it
    for name in ("ansible.cfg", "site.yml", "verify.yml", "undo.yml", "README.md", "group_vars/all.yml"):
        assert (out / name).is_file(), name
    for path in out.rglob("*.yml"):
        load(path)  # every YAML file parses
    assert (out / "files" / "netnsfix.repo").read_bytes() == (repo / "netnsfix.repo").read_bytes()
    host = load(out / "host_vars" / "n1.yml")
    assert host == {
        "netnsfix_settings": {
            "role": "network",
            "public_nic": "eth1",
            "private_nic": "eth2",
            "physnets": ["physnet1", "physnet2:100:199"],
            "iscsi_ip_address": "192.168.1.101",
            "ovs_wait": True,
        }
    }
    assert load(out / "host_vars" / "n2.yml")["netnsfix_settings"]["role"] == "compute"
    assert "public_nic: !unsafe 'eth1'" in (out / "host_vars" / "n1.yml").read_text()  # no input text is Jinja
    group = load(out / "group_vars" / "all.yml")
    assert group["ansible_python_interpreter"] == "/usr/bin/python2.7" and group["netnsfix_pkg_backend"] == "none"
    assert set(group["netnsfix_package"]) == {"name", "nevra", "url", "sha256"}
    site = yaml.safe_load((out / "site.yml").read_text())
    assert site == [
        {
            "name": "netnsfix: the fixed iproute and the companion steps",
            "hosts": "all",
            "gather_facts": False,
            "force_handlers": True,
            "roles": [{"role": "netnsfix.node.node"}],
        }
    ]
    verify = yaml.safe_load((out / "verify.yml").read_text())
    assert verify[0]["tasks"][0]["ansible.builtin.include_role"] == {
        "name": "netnsfix.node.node",
        "tasks_from": "verify",
    }
    config = (out / "ansible.cfg").read_text()
    assert "collections_path = ./collections" in config and "pipelining = True" in config
    # a second export replaces the first; a folder that is not an export is refused
    assert fleet(capsys, tmp_path, repo, "export", "-o", str(out))[0] == 0
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep").write_text("mine\n")
    code, _, err = fleet(capsys, tmp_path, repo, "export", "-o", str(other))
    assert code == 2 and "not empty and not a netnsfix fleet export" in err
    assert (other / "keep").read_text() == "mine\n"


@pytest.mark.slow
def test_role_and_host_apply_agree_byte_for_byte_and_undo_restores(folders, tmp_path, repo, capsys) -> None:
    fresh = {name: snapshot(root) for name, root in folders.items()}
    code, out, _ = fleet(capsys, tmp_path, repo, "plan")
    assert code == 1, out
    assert snapshot(folders["n1"]) == fresh["n1"]  # plan changed nothing
    code, out, _ = fleet(capsys, tmp_path, repo, "apply")
    assert code == 0, out
    code, out, _ = fleet(capsys, tmp_path, repo, "apply")
    assert code == 0 and all(re.match(r"^n\d +ok +\d+ +0 +0 +0 ", line) for line in out.splitlines()[1:3]), out
    code, out, _ = fleet(capsys, tmp_path, repo, "plan")
    assert code == 0, out
    for name, root in folders.items():
        copy = make_node_root(tmp_path / f"host-{name}", plugin_ini=(name == "n1"))
        options = ["--private-nic", "eth2", "--iscsi-ip-address", "192.168.1.101", *HOST_OPTIONS[name]]
        assert main(["host", "apply", *FILE_STEPS, "--root", str(copy), *options]) == 0
        theirs, ours = snapshot(copy), snapshot(root)
        compared = [k for k in theirs if k.startswith(("etc/quantum", "etc/nova", "etc/cinder", "etc/systemd", "usr/"))]
        assert compared
        for key in compared:
            assert ours.get(key) == theirs[key], (name, key)
    code, out, _ = fleet(capsys, tmp_path, repo, "undo")
    assert code == 0, out
    for name, root in folders.items():
        assert snapshot(root) == fresh[name], name


@pytest.mark.slow
def test_a_file_that_is_not_the_release_fails_that_node_and_the_other_finishes(folders, tmp_path, repo, capsys) -> None:
    module = folders["n2"] / "usr/lib/python2.7/site-packages/quantum/agent/linux/iptables_manager.py"
    lines = module.read_text().splitlines(True)
    lines[269] = "        # edited by hand\n"
    module.write_text("".join(lines))
    before = snapshot(folders["n2"])
    code, out, _ = fleet(capsys, tmp_path, repo, "apply")
    assert code == 1, out
    assert re.search(r"^n2 +FAIL ", out, re.M) and re.search(r"^n1 +changed ", out, re.M), out
    module = f"{folders['n2']}/usr/lib/python2.7/site-packages/quantum/agent/linux/iptables_manager.py"
    assert f"{module}: line 270: expected" in out and "found ' # edited by hand'" in out, out  # one line
    assert "nothing was changed" in out
    assert snapshot(folders["n2"]) == before


LOOKUP = "{{lookup('pipe','touch${IFS}%s')}}"  # no space: it must pass the URL and ovs_db checks
SHOW = """\
- name: what the role's variables hold on the node
  hosts: all
  gather_facts: false
  tasks:
    - name: write them where the test reads them
      ansible.builtin.copy:
        content: "{{ netnsfix_package.url }}|{{ netnsfix_settings.ovs_db }}|{{ netnsfix_package.nevra }}"
        dest: "{{ netnsfix_root }}/netnsfix-values"
        mode: "0644"
"""


@pytest.mark.slow
def test_a_lookup_in_every_value_stays_inert_and_reaches_the_node_literally(
    folders, tmp_path, repo, capsys, monkeypatch
) -> None:
    """--repo-url, the RPM's file name (so the URL), a site value: each holds a pipe lookup; Ansible runs none."""
    monkeypatch.chdir(tmp_path)
    hostile = tmp_path / "hostile-repo"
    shutil.copytree(repo, hostile)
    (rpm,) = hostile.glob("Packages/*/iproute-3*.rpm")
    named = rpm.with_name("iproute-" + LOOKUP % "MARKER_RPM" + ".rpm")
    rpm.rename(named)
    url = "http://repo.example.org/" + LOOKUP % "MARKER_URL"
    ovs_db = "unix:" + LOOKUP % "MARKER_SITE"
    (tmp_path / "site.toml").write_text(SITE.replace("[defaults]\n", f'[defaults]\novs_db = "{ovs_db}"\n'))
    code, out, err = fleet(capsys, tmp_path, hostile, "plan", "--repo-url", url)
    assert code in (0, 1), out + err  # the role ran in check mode on both nodes (argument specs template every value)
    assert "n1" in out and "FAIL" not in out, out
    project = tmp_path / "project"
    code, out, err = fleet(capsys, tmp_path, hostile, "export", "--repo-url", url, "-o", str(project))
    assert code == 0, err
    (project / "show.yml").write_text(SHOW)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventory.ini", "show.yml"],
        cwd=project,
        env=base_environment(project),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    relative = str(named.relative_to(hostile))
    for root in folders.values():
        assert (
            root / "netnsfix-values"
        ).read_text() == f"{url}/{relative}|{ovs_db}|iproute-3.6.0-2.netnsfix1.fc18.x86_64"
    markers = [p for folder in (tmp_path, Path.cwd(), project) for p in folder.rglob("MARKER_*")]
    assert not markers, markers


def test_bad_input_is_one_line(folders, tmp_path, repo, capsys) -> None:
    (tmp_path / "site.toml").write_text('[fleet]\npkg_backend = "apt"\n')
    code, out, err = fleet(capsys, tmp_path, repo, "plan")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert f"{tmp_path / 'site.toml'}: [fleet] pkg_backend = 'apt' is not one of yum, rpm, none" in err
    (tmp_path / "site.toml").write_text("[nodes.n9]\nrole = 'compute'\n")
    code, _, err = fleet(capsys, tmp_path, repo, "plan")
    assert code == 2 and "[nodes.n9] is not a host of" in err
    (tmp_path / "site.toml").write_text(SITE)
    code, _, err = fleet(capsys, tmp_path, tmp_path / "norepo", "plan")
    assert code == 2 and "no netnsfix.repo" in err


def test_ansible_missing_or_wrong_is_one_line(folders, tmp_path, repo, capsys, monkeypatch) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    monkeypatch.setattr(sys, "executable", str(fake / "python"))
    monkeypatch.setenv("PATH", str(fake))
    code, _, err = fleet(capsys, tmp_path, repo, "plan")
    assert (
        code == 2
        and err
        == "netnsfix: error: ansible-playbook: not installed; install it with: pip install "
        "'netnsfix[fleet]' (ansible>=9,<10, which bundles ansible-core 2.16)\n"
    )
    script = fake / "ansible-playbook"
    script.write_text("#!/bin/sh\necho 'ansible-playbook [core 2.17.1]'\n")
    script.chmod(0o755)
    code, _, err = fleet(capsys, tmp_path, repo, "plan")
    assert code == 2 and "ansible-core 2.17.1 is not 2.16.x" in err


# Assignments that are prose: a step's summary, an Ansible module's documentation.
PROSE = {"summary", "DOCUMENTATION", "EXAMPLES", "RETURN"}


@functools.cache  # read once: every value below is looked for in the same source
def _literals() -> tuple[tuple[str, str | bytes], ...]:
    """Every str/bytes constant in src/netnsfix that is not prose (docstrings, summaries, module docs, the CLI's help).

    demo/nodefiles.py is left out: it is the released node files (the fixture these tests' node roots are made
    from, moved into the library for the demo's fleet nodes), which hold the released and the set-up values as
    the packages and setup scripts wrote them, not netnsfix's fixes. The collection's own tests/ (the library's
    unit tests, which ship with it) check the values; they do not hold a second copy for any code to use.
    """
    found = []
    for path in SRC.rglob("*.py"):
        if path.parent.name == "cli" or path == SRC / "demo" / "nodefiles.py" or "tests" in path.relative_to(SRC).parts:
            continue
        tree = ast.parse(path.read_text())
        prose = set()
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
                prose.add(id(body[0].value))
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") in PROSE for t in node.targets):
                prose.update(id(n) for n in ast.walk(node.value))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)) and id(node) not in prose:
                found.append((str(path.relative_to(SRC)), node.value))
    return tuple(found)


@pytest.mark.parametrize(
    "value",
    [
        DRIVER,
        DROPIN,
        RELEASED.strip(),
        FIXED.strip(),
        "tenant_network_type",
        "network_vlan_ranges",
        "allow_overlapping_ips",
        "libvirt_vif_driver",
        "netnsfix-privatetmp.conf",
    ],
)
def test_each_fix_value_is_written_once_in_the_source(value: str | bytes) -> None:
    """No fix value twice: the node library holds them; netnsfix host and the role's modules run it."""
    holders = [
        (path, text)
        for path, text in _literals()
        if type(text) is type(value) and value in text  # type: ignore[operator]
    ]
    assert len(holders) == 1, holders


def test_results_name_a_node_that_no_task_reached() -> None:
    document = {"plays": [], "stats": {"a": {"ok": 3, "changed": 1}}}
    results = read_results(document, ("a", "b"))
    assert [(r.node, r.verdict, r.changed) for r in results] == [("a", "ok", 1), ("b", "UNREACHABLE", 0)]


def test_the_yum_modules_run_is_counted_and_named_and_a_loop_counts_each_item() -> None:
    """ansible.builtin.yum returns its own ``results``, a list of strings (yum's lines), not a loop's items: it
    is one module run, and its task shows in what changed (before, both were lost: "2 module runs" for an
    apply with steps, yum and restart in the yum-role recording)."""
    yum = {"action": "ansible.builtin.yum", "changed": True, "results": ["Installed: iproute-3.6.0-2"], "rc": 0}
    loop = {
        "action": "ansible.builtin.command",
        "changed": True,
        "results": [{"changed": True, "item": "a"}, {"changed": False, "item": "b"}, {"skipped": True, "item": "c"}],
    }
    tasks = [
        {"task": {"name": "Package | yum"}, "hosts": {"n1": yum}},
        {"task": {"name": "Loop"}, "hosts": {"n1": loop}},
    ]
    (node,) = read_results({"plays": [{"tasks": tasks}], "stats": {"n1": {"ok": 2, "changed": 2}}}, ("n1",))
    assert node.modules == 3, node
    assert node.changes == ("Package | yum", "Loop: a"), node


def test_the_installed_ansible_core_is_known_without_starting_ansible_playbook(tmp_path, monkeypatch) -> None:
    """The venv's own ansible-playbook: its version from the installation's dist-info, no command run; a copy of
    the script elsewhere is not that installation's (its RECORD does not list it), so it would be asked."""
    from netnsfix.fleet import ansible

    def no_command(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"ran {args}")

    monkeypatch.setattr(ansible, "run", no_command)
    version = ansible.core_version()
    assert version.startswith("2.16.") and version == metadata.version("ansible-core")
    copy = tmp_path / "ansible-playbook"
    copy.write_bytes(Path(ansible.program("ansible-playbook")).read_bytes())
    assert ansible._installed_version(str(copy)) is None


def test_doctor_reports_ansible_present_missing_and_wrong(tmp_path, monkeypatch) -> None:
    from netnsfix.fleet.ansible import doctor_check

    found = doctor_check()
    assert found.ok and found.detail.startswith("ansible-core 2.16."), found
    fake = tmp_path / "bin"
    fake.mkdir()
    monkeypatch.setattr(sys, "executable", str(fake / "python"))
    monkeypatch.setenv("PATH", str(fake))
    missing = doctor_check()
    assert not missing.ok and not missing.required and "ansible-playbook: not installed" in missing.detail
    assert missing.fix == "pip install 'netnsfix[fleet]' (ansible>=9,<10, which bundles ansible-core 2.16)"
    (fake / "ansible-playbook").write_text("#!/bin/sh\necho 'ansible-playbook [core 2.18.3]'\n")
    (fake / "ansible-playbook").chmod(0o755)
    wrong = doctor_check()
    assert not wrong.ok and "ansible-core 2.18.3 is not 2.16.x" in wrong.detail


def test_plan_diffs_show_no_secret_from_the_context_lines() -> None:
    """cinder.conf's sql_connection (its database password) sits right above where iscsi_ip_address goes."""
    from netnsfix.collection.plugins.module_utils.quantum_config import CINDER_CONF
    from netnsfix.demo.nodefiles import CINDER_CONF as RELEASED_CINDER

    last = "rootwrap_config = /etc/cinder/rootwrap.conf\n"  # [DEFAULT]'s last option: the new key goes after it
    after = RELEASED_CINDER.replace(last, last + "iscsi_ip_address = 192.168.1.101\n")
    result = {"changed": True, "diff": [{"before": RELEASED_CINDER, "after": after, "before_header": CINDER_CONF}]}
    (node,) = read_results({"plays": [{"tasks": [{"task": {"name": "Steps"}, "hosts": {"n1": result}}]}]}, ("n1",))
    (diff,) = node.diffs
    assert "+iscsi_ip_address = 192.168.1.101" in diff
    assert "mysql://cinder:cinder@" in RELEASED_CINDER and "cinder:cinder" not in diff, diff
    assert " sql_connection = ***" in diff
