"""The node library's unit tests, for Python 2.7 (a Fedora 18 node's) and 3.11 alike, stdlib only.

Run from the collection folder: ``python2.7 -m unittest discover -s tests/unit -t .``
(tests/node/test_library_unit.py runs them under both interpreters).
"""

from __future__ import absolute_import, division, print_function

import hashlib
import io
import json
import os
import shutil
import stat
import tempfile
import unittest

from plugins.module_utils import restart_marker
from plugins.module_utils.apply import apply_steps, plan_steps, undo_steps
from plugins.module_utils.errors import NodeError, SettingsError
from plugins.module_utils.inifile import set_options
from plugins.module_utils.iptables_path import FIRST, FIXED, LINE, RELEASED, SHAPES, fixed_lines
from plugins.module_utils.journal import JOURNAL
from plugins.module_utils.module_steps import run
from plugins.module_utils.nevra import wanted_evr
from plugins.module_utils.plan import Node, show_units
from plugins.module_utils.privatetmp import systemd_version
from plugins.module_utils.rootfs import RootFS
from plugins.module_utils.settings import validate
from plugins.module_utils.steps import select_steps

__metaclass__ = type

NOVA = b"[DEFAULT]\nverbose = True\n# a comment\n\n[keystone_authtoken]\nadmin_user = nova\n"
PLUGIN = (
    b"[OVS]\n# (StrOpt) Type of network.\n#\n# Default: tenant_network_type = local\n"
    b"# Example: tenant_network_type = gre\n\n# other\nenable_tunneling = False\n"
)


def edit(data, values):
    return set_options(data, "test.ini", values)


def no_commands(argv):
    raise AssertionError("no command expected: %r" % (argv,))


class IniPlacement(unittest.TestCase):
    def test_an_existing_key_is_set_in_place_keeping_its_spelling(self):
        data = b"[DEFAULT]\nVerbose: False\nother = 1\n"
        self.assertEqual(edit(data, [("DEFAULT", [("verbose", "True")])]), b"[DEFAULT]\nVerbose : True\nother = 1\n")

    def test_a_new_key_goes_after_its_commented_default(self):
        got = edit(PLUGIN, [("OVS", [("tenant_network_type", "vlan")])])
        self.assertIn(b"# Example: tenant_network_type = gre\ntenant_network_type = vlan\n\n# other\n", got)

    def test_a_new_key_without_a_comment_goes_after_the_last_option(self):
        got = edit(NOVA, [("DEFAULT", [("libvirt_vif_driver", "x")])])
        self.assertEqual(got, NOVA.replace(b"verbose = True\n", b"verbose = True\nlibvirt_vif_driver = x\n"))

    def test_a_missing_section_is_appended(self):
        got = edit(b"[DEFAULT]\na = 1", [("OVS", [("b", "2"), ("c", "3")])])
        self.assertEqual(got, b"[DEFAULT]\na = 1\n\n[OVS]\nb = 2\nc = 3\n")

    def test_nothing_to_change_gives_the_same_bytes(self):
        self.assertIs(edit(NOVA, [("DEFAULT", [("verbose", "True")])]), NOVA)

    def test_a_repeated_section_is_refused(self):
        with self.assertRaises(NodeError) as caught:
            edit(b"[A]\nx = 1\n[A]\ny = 2\n", [("A", [("x", "2")])])
        self.assertIn("section 'A' already exists", str(caught.exception))


class Settings(unittest.TestCase):
    def test_a_wrong_value_names_its_key(self):
        with self.assertRaises(SettingsError) as caught:
            validate({"iscsi_ip_address": "controller"}, "node.toml")
        self.assertEqual(caught.exception.key, "iscsi_ip_address")
        self.assertTrue(str(caught.exception).startswith("node.toml: iscsi_ip_address 'controller' is not an IP"))

    def test_unicode_settings_from_ansible_are_taken(self):
        settings = validate({"private_nic": "em2", "physnets": ["physnet2:100:199"]})
        self.assertEqual(settings.mappings, (("physnet2", "br-em2"),))
        self.assertEqual(str(settings.physnets[0]), "physnet2:100:199")


class IptablesShape(unittest.TestCase):
    def lines(self, shape):
        head = ["# line %d\n" % n for n in range(1, FIRST)]
        return head + [line + "\n" for line in dict(SHAPES)[shape]] + ["# tail\n"]

    def test_the_released_file_gets_line_272_fixed(self):
        got = fixed_lines(self.lines("released"), "f")
        self.assertEqual(got[LINE - 1], FIXED + "\n")
        self.assertEqual(sum(1 for a, b in zip(got, self.lines("released")) if a != b), 1)

    def test_an_unknown_file_is_refused_naming_the_line(self):
        lines = self.lines("released")
        lines[LINE - 1] = RELEASED.replace("iptables", "iptables-legacy") + "\n"
        with self.assertRaises(NodeError) as caught:
            fixed_lines(lines, "f")
        self.assertIn("line 272: expected", str(caught.exception))


class RootBoundary(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.root = os.path.join(self.tmp, "root")
        self.outside = os.path.join(self.tmp, "outside")
        for folder in ("etc/nova", "usr", "var/lib", self.outside):
            path = folder if folder.startswith("/") else os.path.join(self.root, folder)
            os.makedirs(path)
        with open(os.path.join(self.root, "etc/nova/nova.conf"), "wb") as stream:
            stream.write(NOVA)
        self.fs = RootFS(self.root)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_an_absolute_link_is_followed_inside_the_root(self):
        os.symlink("/etc/nova/nova.conf", os.path.join(self.root, "etc/link.conf"))
        os.symlink("../../../../../../../..", os.path.join(self.root, "etc/up"))
        self.assertEqual(self.fs.resolve("/etc/link.conf"), "/etc/nova/nova.conf")
        self.assertEqual(self.fs.read("/etc/up/etc/nova/nova.conf"), NOVA)

    def test_a_fifo_is_refused_without_blocking(self):
        os.mkfifo(os.path.join(self.root, "etc/fifo"))
        with self.assertRaises(NodeError) as caught:
            self.fs.read("/etc/fifo")
        self.assertIn("(a FIFO)", str(caught.exception))

    def test_the_store_refuses_a_link(self):
        os.symlink(self.outside, os.path.join(self.root, "var/lib/netnsfix"))
        with self.assertRaises(NodeError) as caught:
            restart_marker.owe(self.fs, ["quantum-l3-agent"])
        self.assertIn("var/lib/netnsfix: a symbolic link", str(caught.exception))
        self.assertEqual(os.listdir(self.outside), [])

    def test_apply_then_undo_puts_the_file_back_and_owes_the_restart(self):
        node = Node(self.fs, validate({}), no_commands)
        steps = select_steps(["vif_driver"])
        apply_steps(steps, node, owe_restarts=True)
        self.assertIn(b"libvirt_vif_driver = ", self.fs.read("/etc/nova/nova.conf"))
        self.assertEqual(restart_marker.owed(self.fs), ["openstack-nova-compute"])
        self.assertFalse(any(plan.files for plan in plan_steps(steps, node)))
        undo_steps(steps, node)
        self.assertEqual(self.fs.read("/etc/nova/nova.conf"), NOVA)

    def test_a_journal_entry_with_a_setuid_mode_changes_nothing(self):
        node = Node(self.fs, validate({}), no_commands)
        steps = select_steps(["vif-driver"])
        apply_steps(steps, node)
        journal_path = os.path.join(self.root, JOURNAL.lstrip("/"))
        with open(journal_path) as stream:
            journal = json.load(stream)
        journal["files"][0]["mode"] = 0o4755
        with open(journal_path, "w") as stream:
            json.dump(journal, stream)
        before = hashlib.sha256(self.fs.read("/etc/nova/nova.conf")).hexdigest()
        with self.assertRaises(NodeError) as caught:
            undo_steps(steps, node)
        self.assertIn("mode 4755 is wider than the file's", str(caught.exception))
        self.assertEqual(hashlib.sha256(self.fs.read("/etc/nova/nova.conf")).hexdigest(), before)
        mode = stat.S_IMODE(os.stat(os.path.join(self.root, "etc/nova/nova.conf")).st_mode)
        self.assertFalse(mode & 0o4000)


class ModuleResult(unittest.TestCase):
    def test_check_mode_reports_without_changing(self):
        tmp = tempfile.mkdtemp()
        try:
            for folder in ("etc/nova", "usr"):
                os.makedirs(os.path.join(tmp, folder))
            with open(os.path.join(tmp, "etc/nova/nova.conf"), "wb") as stream:
                stream.write(NOVA)
            params = {"root": tmp, "settings": {}, "state": "present", "force": False}
            result = run(params, no_commands, check_mode=True, diff_mode=True, step_names=["vif_driver"])
            self.assertTrue(result["changed"])
            self.assertEqual(result["files"], [{"path": "/etc/nova/nova.conf", "action": "edited"}])
            self.assertEqual(result["restart"], ["openstack-nova-compute"])
            self.assertEqual(len(result["diff"]), 1)
            with open(os.path.join(tmp, "etc/nova/nova.conf"), "rb") as stream:
                self.assertEqual(stream.read(), NOVA)
            self.assertFalse(os.path.exists(os.path.join(tmp, "var")))
        finally:
            shutil.rmtree(tmp)


class PrivateTmpBySystemd(unittest.TestCase):
    """systemd < 198 (Fedora 18's 197) reads no drop-ins: the step's form follows the node's version."""

    def setUp(self):
        self.root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.root)
        os.makedirs(os.path.join(self.root, "usr/lib/systemd/system"))
        os.makedirs(os.path.join(self.root, "etc/systemd/system"))
        for unit in ("quantum-dhcp-agent", "quantum-l3-agent", "quantum-openvswitch-agent", "quantum-server"):
            with open(os.path.join(self.root, "usr/lib/systemd/system", unit + ".service"), "w") as stream:
                stream.write("[Service]\nPrivateTmp=true\n")

    def node(self, runner=no_commands, **settings):
        return Node(RootFS(self.root), validate(settings), runner)

    def pc(self, text):
        folder = os.path.join(self.root, "usr/share/pkgconfig")
        os.makedirs(folder)
        with open(os.path.join(folder, "systemd.pc"), "w") as stream:
            stream.write(text)

    def test_a_root_that_says_nothing_is_197_and_gets_the_include_unit(self):
        [plan] = plan_steps(select_steps(["privatetmp"]), self.node())
        self.assertEqual(plan.files[0].path, "/etc/systemd/system/quantum-dhcp-agent.service")
        self.assertIn(b".include /usr/lib/systemd/system/quantum-dhcp-agent.service\n", plan.files[0].after)

    def test_the_roots_systemd_pc_and_the_setting_decide(self):
        self.pc("Name: systemd\nVersion: 201\n")
        self.assertEqual(systemd_version(self.node()), 201)
        self.assertEqual(systemd_version(self.node(systemd_version=197)), 197)
        [plan] = plan_steps(select_steps(["privatetmp"]), self.node())
        self.assertTrue(plan.files[0].path.endswith("quantum-dhcp-agent.service.d/netnsfix-privatetmp.conf"))

    def test_a_systemd_pc_without_a_version_is_refused(self):
        self.pc("Name: systemd\n")
        self.assertRaises(NodeError, systemd_version, self.node())


class WantedBuild(unittest.TestCase):
    """The package module compares installed builds with (EPOCH, VERSION, RELEASE) of the wanted NEVRA."""

    def test_no_epoch_is_epoch_0_and_an_epoch_is_not_part_of_the_version(self):
        self.assertEqual(
            wanted_evr("iproute", "iproute-3.6.0-2.netnsfix1.fc18.x86_64"), ("0", "3.6.0", "2.netnsfix1.fc18")
        )
        self.assertEqual(wanted_evr("iproute", "iproute-1:3.6.0-2.fc18.x86_64"), ("1", "3.6.0", "2.fc18"))
        self.assertEqual(wanted_evr("nfxfix-data", "nfxfix-data-1.0-2.fc18.noarch"), ("0", "1.0", "2.fc18"))

    def test_not_a_nevra_of_that_name_is_one_error(self):
        for nevra in (
            "iproute-3.6.0.x86_64",
            "iproute-x:3.6.0-2.x86_64",
            "iproute-3.6.0-2-3.x86_64",
            "iproutes-3.6.0-2.x86_64",
            "iproute",
            "iproute-:-.x",
        ):
            with self.assertRaises(NodeError) as caught:
                wanted_evr("iproute", nevra)
            self.assertIn("is not iproute-[EPOCH:]VERSION-RELEASE.ARCH", str(caught.exception))


class SystemctlShow(unittest.TestCase):
    """One systemctl show for several units, read as systemd 197's systemctl.c prints it."""

    def test_one_block_per_unit_in_order_only_the_asked_properties(self):
        asked = []

        def runner(argv):
            asked.append(argv)
            return 0, "PrivateTmp=no\nId=a.service\n\nPrivateTmp=\nId=b.service\n", ""

        answers = show_units(runner, ("PrivateTmp",), ["a", "b"])
        self.assertEqual(answers, [{"PrivateTmp": "no"}, {"PrivateTmp": ""}])
        self.assertEqual(asked, [["systemctl", "show", "-p", "PrivateTmp", "a.service", "b.service"]])

    def test_a_block_missing_is_one_error_not_a_shifted_answer(self):
        def runner(argv):
            return 0, "PrivateTmp=no\n", ""

        with self.assertRaises(NodeError) as caught:
            show_units(runner, ("PrivateTmp",), ["a", "b"])
        self.assertEqual(str(caught.exception), "systemctl show: 2 units asked, 1 answered")

    def test_a_failing_systemctl_is_its_own_line(self):
        def runner(argv):
            return 1, "", "Failed to get D-Bus connection\n"

        with self.assertRaises(NodeError) as caught:
            show_units(runner, ("LoadState",), ["a"])
        self.assertIn("Failed to get D-Bus connection", str(caught.exception))


REPO = "[netnsfix]\nname=netnsfix\nbaseurl=file:///srv/repo\ngpgcheck=1\n"
RPM = b"not really an rpm, but bytes with a sha256"
NEVRA = "iproute-3.6.0-2.netnsfix1.fc18.x86_64"


class PackageInTheStepsRun(unittest.TestCase):
    """The steps module's package option: the package module's work in the steps' own module run."""

    def setUp(self):
        self.root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.root)
        for folder in ("etc/nova", "usr"):
            os.makedirs(os.path.join(self.root, folder))
        with open(os.path.join(self.root, "etc/nova/nova.conf"), "wb") as stream:
            stream.write(NOVA)
        self.commands = []

    def runner(self, argv):
        """rpm -q: not installed; rpm -U: the downloaded file must hold RPM."""
        self.commands.append(list(argv))
        if argv[:4] == ["rpm", "--root", self.root, "-q"]:
            return 1, "", "package iproute is not installed\n"
        if argv[:4] == ["rpm", "--root", self.root, "-U"]:
            with open(argv[4], "rb") as stream:
                self.assertEqual(stream.read(), RPM)
            return 0, "", ""
        raise AssertionError("unexpected %r" % (argv,))

    def params(self, steps, state="present", **package):
        given = dict(backend="none", name="iproute", nevra=NEVRA, url=None, sha256=None, repo_file=REPO)
        given.update(package)
        given.update(repo_path="/etc/yum.repos.d/netnsfix.repo", gpg_key="", key_path="/etc/pki/k")
        return {"root": self.root, "settings": {}, "state": state, "force": False, "steps": steps, "package": given}

    def read(self, path):
        with open(os.path.join(self.root, path), "rb") as stream:
            return stream.read()

    def test_apply_writes_the_steps_then_the_repository_file_and_undo_takes_both_back(self):
        result = run(self.params(["vif_driver"]), self.runner)
        self.assertEqual(
            [entry["path"] for entry in result["files"]], ["/etc/nova/nova.conf", "/etc/yum.repos.d/netnsfix.repo"]
        )
        self.assertEqual(result["package"]["files"], [{"path": "/etc/yum.repos.d/netnsfix.repo", "action": "created"}])
        self.assertEqual(self.read("etc/yum.repos.d/netnsfix.repo"), REPO.encode("ascii"))
        self.assertIn(b"libvirt_vif_driver = ", self.read("etc/nova/nova.conf"))
        self.assertFalse(run(self.params(["vif_driver"]), self.runner)["changed"])
        undone = run(self.params(["vif_driver"], state="absent"), self.runner)
        self.assertTrue(undone["changed"])
        self.assertEqual(self.read("etc/nova/nova.conf"), NOVA)
        self.assertFalse(os.path.exists(os.path.join(self.root, "etc/yum.repos.d")))

    def test_no_steps_means_the_package_alone(self):
        result = run(self.params([]), self.runner)
        self.assertEqual(result["files"], [{"path": "/etc/yum.repos.d/netnsfix.repo", "action": "created"}])
        self.assertEqual(self.read("etc/nova/nova.conf"), NOVA)

    def test_the_rpm_backend_installs_only_what_has_the_right_sha256(self):
        sha = hashlib.sha256(RPM).hexdigest()
        fetched = []

        def fetch(url):
            fetched.append(url)
            return io.BytesIO(RPM)

        params = self.params([], backend="rpm", url="http://repo/x.rpm", sha256="0" * 64)
        with self.assertRaises(NodeError) as caught:
            run(params, self.runner, fetch=fetch)
        self.assertIn("expected %s; nothing was installed" % ("0" * 64), str(caught.exception))
        self.assertFalse([argv for argv in self.commands if "-U" in argv])
        result = run(self.params([], backend="rpm", url="http://repo/x.rpm", sha256=sha), self.runner, fetch=fetch)
        self.assertEqual(result["package"]["commands"], ["rpm -U %s" % NEVRA])
        self.assertEqual(fetched, ["http://repo/x.rpm", "http://repo/x.rpm"])
        self.assertEqual([argv[3] for argv in self.commands if argv[3] == "-U"], ["-U"])

    def test_a_package_failure_after_the_steps_fails_the_run_and_leaves_the_restart_owed(self):
        params = self.params(["vif_driver"], backend="rpm")  # no url: the rpm backend cannot install
        with self.assertRaises(NodeError) as caught:
            run(params, self.runner)
        said = str(caught.exception)
        self.assertIn("backend rpm needs url and sha256", said)
        self.assertIn("restart owed: openstack-nova-compute, made by the next apply", said)
        self.assertIn(b"libvirt_vif_driver = ", self.read("etc/nova/nova.conf"))
        self.assertEqual(restart_marker.owed(RootFS(self.root)), ["openstack-nova-compute"])

    def test_check_mode_changes_nothing_and_says_what_it_would(self):
        result = run(self.params(["vif_driver"], backend="yum"), self.runner, check_mode=True, diff_mode=True)
        self.assertTrue(result["changed"])
        self.assertEqual(result["package"]["commands"], ["yum install %s" % NEVRA])
        self.assertEqual(len(result["diff"]), 2)
        self.assertEqual(self.read("etc/nova/nova.conf"), NOVA)
        self.assertFalse(os.path.exists(os.path.join(self.root, "etc/yum.repos.d")))


if __name__ == "__main__":
    unittest.main()
