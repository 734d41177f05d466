"""The collection netnsfix.node as an operator gets it without netnsfix: a built tarball, installed, used.

``ansible-galaxy collection build`` on src/netnsfix/collection, ``ansible-galaxy collection install`` of
the tarball into a folder of the test's own, then a playbook of the test's own that uses the role
``netnsfix.node.node`` on a node root folder (tests/hostroot.py's Fedora 18 files) through Ansible's
local connection: no export, no netnsfix command. The role's argument specs are checked there too: a
value outside its choices stops the node before any module runs. And the checks scripts/test runs on the
collection (ansible-lint, the Python 2.7 compile) fail on content that breaks their rule.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hostroot import make_node_root, snapshot

from netnsfix.fleet.ansible import base_environment, program

HERE = Path(__file__).resolve().parents[2]
COLLECTION = HERE / "src" / "netnsfix" / "collection"
PLAYBOOK = """\
- name: An operator's own play with the role from the installed collection
  hosts: all
  gather_facts: false
  roles:
    - role: netnsfix.node.node
      vars:
        netnsfix_root: "{root}"
        netnsfix_steps: [privatetmp, iptables_path, vif_driver, quantum_config]
        netnsfix_pkg_backend: {backend}
        netnsfix_repo_file: "{repo_file}"
        netnsfix_package:
          name: iproute
          nevra: iproute-3.6.0-2.netnsfix1.fc18.x86_64
          url: file:///nowhere/iproute-3.6.0-2.netnsfix1.fc18.x86_64.rpm
          sha256: "{sha}"
        netnsfix_settings:
          role: compute
          private_nic: eth2
          iscsi_ip_address: 192.168.1.101
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The collection built into a tarball and installed from it; the collections folder."""
    base = tmp_path_factory.mktemp("galaxy")
    env = base_environment()
    galaxy = program("ansible-galaxy")
    built = subprocess.run(
        [galaxy, "collection", "build", str(COLLECTION), "--output-path", str(base)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    (tarball,) = base.glob("netnsfix-node-*.tar.gz")
    done = subprocess.run(
        [galaxy, "collection", "install", str(tarball), "-p", str(base / "collections")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return base / "collections"


def play(installed: Path, folder: Path, backend: str = "none", *extra: str) -> subprocess.CompletedProcess[str]:
    root = make_node_root(folder / "root", plugin_ini=False)
    (folder / "netnsfix.repo").write_text("[netnsfix]\nname=netnsfix\nbaseurl=file:///nowhere\nenabled=1\n")
    (folder / "inventory.ini").write_text(
        f"node ansible_connection=local ansible_python_interpreter={sys.executable}\n"
    )
    text = PLAYBOOK.format(root=root, backend=backend, repo_file=folder / "netnsfix.repo", sha="0" * 64)
    (folder / "mine.yml").write_text(text)
    env = base_environment() | {"ANSIBLE_COLLECTIONS_PATH": str(installed), "ANSIBLE_NOCOLOR": "1"}
    return subprocess.run(
        [program("ansible-playbook"), "-i", str(folder / "inventory.ini"), str(folder / "mine.yml"), *extra],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
    )


@pytest.mark.slow
def test_the_installed_collection_is_the_source_tree_and_its_role_runs_from_an_own_playbook(
    installed, tmp_path
) -> None:
    copy = installed / "ansible_collections" / "netnsfix" / "node"
    assert (copy / "MANIFEST.json").is_file()  # a build replaces galaxy.yml with MANIFEST.json and FILES.json
    for path in COLLECTION.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc" and path.name != "galaxy.yml":
            assert (copy / path.relative_to(COLLECTION)).read_bytes() == path.read_bytes(), path
    done = play(installed, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    nova = (tmp_path / "root" / "etc/nova/nova.conf").read_text()
    assert "libvirt_vif_driver = nova.virt.libvirt.vif.LibvirtHybridOVSBridgeDriver" in nova
    assert (tmp_path / "root" / "etc/yum.repos.d/netnsfix.repo").is_file()
    assert "node                       : ok=" in done.stdout and "failed=0" in done.stdout, done.stdout


@pytest.mark.slow
def test_argument_specs_refuse_a_backend_that_is_not_one_of_the_choices(installed, tmp_path) -> None:
    fresh = make_node_root(tmp_path / "fresh", plugin_ini=False)
    done = play(installed, tmp_path, backend="dnf")
    assert done.returncode == 2, done.stdout
    assert "netnsfix_pkg_backend" in done.stdout and "dnf" in done.stdout, done.stdout
    assert "yum, rpm, none" in done.stdout, done.stdout
    # nothing ran on the node: its files are as released (the fresh copy's)
    ours, theirs = snapshot(tmp_path / "root"), snapshot(fresh)
    assert ours == theirs


@pytest.mark.slow
@pytest.mark.parametrize(
    ("tags", "changed", "unchanged"),
    [
        (("--tags", "vif_driver"), ["etc/nova/nova.conf"], ["etc/quantum/quantum.conf", "etc/yum.repos.d"]),
        (("--skip-tags", "vif_driver"), ["etc/quantum/quantum.conf", "etc/yum.repos.d"], ["etc/nova/nova.conf"]),
        (("--tags", "package"), ["etc/yum.repos.d"], ["etc/nova/nova.conf", "etc/quantum/quantum.conf"]),
    ],
)
def test_tags_select_steps_inside_the_one_module_run(installed, tmp_path, tags, changed, unchanged) -> None:
    fresh = snapshot(make_node_root(tmp_path / "fresh", plugin_ini=False))
    done = play(installed, tmp_path, "none", *tags)
    assert done.returncode == 0, done.stdout + done.stderr
    after = snapshot(tmp_path / "root")
    for path in changed:
        assert after.get(path) != fresh.get(path), (tags, path)
    for path in unchanged:
        assert after.get(path) == fresh.get(path), (tags, path)


@pytest.mark.slow
def test_ansible_lint_finds_nothing_in_the_collection_and_something_in_a_broken_copy(tmp_path) -> None:
    lint = HERE / "scripts" / "lint-collection"
    done = subprocess.run([str(lint)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 failure(s), 0 warning(s)" in done.stdout + done.stderr
    broken = tmp_path / "collection"
    shutil.copytree(COLLECTION, broken, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    tasks = broken / "roles" / "node" / "tasks" / "main.yml"
    steps = yaml.safe_load(tasks.read_text())
    steps.append({"ansible.builtin.shell": "echo unnamed"})  # no name, shell without need, no changed_when
    tasks.write_text(yaml.safe_dump(steps, sort_keys=False))
    done = subprocess.run([str(lint), str(broken)], capture_output=True, text=True)
    assert done.returncode != 0
    found = done.stdout + done.stderr
    assert "name[missing]" in found and "no-changed-when" in found, found


@pytest.mark.engine
def test_python27_compile_check_fails_on_a_file_python27_cannot_read(tmp_path, docker_client) -> None:
    """scripts/python27.py's container check: a module with an f-string is named, and the check fails."""
    from netnsfix.demo.fleetnodes import run_python27
    from netnsfix.tools.engine import connect

    script = "import py_compile, sys\npy_compile.compile(sys.argv[1], doraise=True)\n"
    files = {"check.py": script.encode(), "bad.py": b'x = 1\ny = f"{x}"\n', "good.py": b"x = {1: 2}\n"}
    assert run_python27(connect(), files, ("check.py", "good.py")).code == 0
    bad = run_python27(connect(), files, ("check.py", "bad.py"))
    assert bad.code != 0 and "SyntaxError" in bad.output and "bad.py" in bad.output, bad.output
    assert os.path.exists(HERE / "scripts" / "python27.py")


def test_the_yum_task_installs_the_exact_build_from_the_netnsfix_repository_alone() -> None:
    """The role's yum task as Fedora 18's yum 3.4.3 must get it: only the netnsfix repository in the
    transaction (a mirror's newer iproute cannot win), the exact NEVRA, its signature checked, no
    yum-utils installed on the side (ansible-core 2.16's yum module does that for repoquery by default).
    The task before issue 19 (enablerepo only, install_repoquery left on) fails this."""
    tasks = yaml.safe_load((COLLECTION / "roles" / "node" / "tasks" / "main.yml").read_text())
    (task,) = [task for task in tasks if "ansible.builtin.yum" in task]
    yum = task["ansible.builtin.yum"]
    assert yum["name"] == "{{ netnsfix_package.nevra }}", yum
    assert yum["disablerepo"] == "*" and yum["enablerepo"] == "netnsfix", yum
    assert yum["install_repoquery"] is False, yum
    assert yum["use_backend"] == "yum", yum  # yum 3; unset, the action plugin runs setup to guess
    assert yum.get("disable_gpg_check", False) is False, yum
    assert "netnsfix_pkg_backend == 'yum'" in task["when"], task
    # yum 3.4.3 keeps a repository's metadata for metadata_expire (yumRepo.withinCacheAge; netnsfix.repo says
    # 1 h), so a build published since is not seen; and in check mode it cannot read a repository file check
    # mode did not write ("Repository netnsfix not found" in the first recording of yum-role.txt)
    assert yum["update_cache"] is True, yum
    assert "not ansible_check_mode or not netnsfix_steps_result.package.files" in task["when"], task
