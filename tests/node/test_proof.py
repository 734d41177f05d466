# -*- coding: utf-8 -*-
"""The proof's rules, judged on real observations, each with a case that must fail it.

The observations in tests/node/observations/ were recorded by tests/node/record_observations.py from real
runs of the harness (the 3.6.0-like, seed-fixed and upstream-fixed ip built by netnsfix.demo.ipvariants, and
Debian's /usr/sbin/ip): the scenario in a private mount namespace (``-host``), in the booted systemd
container with a probe unit (``-systemd``), and the PrivateTmp scenario with the unit as packaged and with
the privatetmp step's drop-in. A must-fail case changes one real observation the way a broken ip (or node)
would. Runs under pytest and under ``python2.7 -m unittest`` (proof.py runs on a node's Python 2.7).
"""

from __future__ import absolute_import, division, print_function

import io
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    from netnsfix.collection.plugins.module_utils import proof
except ImportError:  # python2.7 -m unittest from a checkout: the package is not installed there
    sys.path.insert(0, os.path.join(HERE, "..", "..", "src"))
    from netnsfix.collection.plugins.module_utils import proof

VARIANTS = ("unpatched", "seed", "upstream", "debian")


def recorded(name):
    """(netns, raw text) of one recording."""
    with io.open(os.path.join(HERE, "observations", name + ".txt"), encoding="utf-8") as handle:
        head, _, body = handle.read().partition("\n")
    return head.split(": ", 1)[1], body


def trace(name, old=None, new=None):
    """The recording as a Trace; ``old`` -> ``new`` first (the change must apply: it is the case's point)."""
    netns, text = recorded(name)
    if old is not None:
        assert old in text, (name, old)
        text = text.replace(old, new)
    return proof.parse_output(netns, text)


def section(name, mark):
    """The raw lines of one section of a recording (mark line excluded)."""
    _netns, text = recorded(name)
    lines = text.split("\n")
    start = lines.index("@@netnsfix " + mark) + 1
    end = start
    while end < len(lines) and not lines[end].startswith("@@netnsfix "):
        end += 1
    return "\n".join(lines[start:end])


def finding(rule, observed):
    return rule(observed)


class VerdictsOfRealBinaries(unittest.TestCase):
    def test_the_unpatched_ip_fails_and_every_fix_passes(self):
        for variant in VARIANTS:
            for where in ("host", "systemd"):
                verdict = proof.judge_namespace(trace(variant + "-" + where))
                expected = proof.FAIL if variant == "unpatched" else proof.PASS
                self.assertEqual(verdict.status, expected, (variant, where, verdict.summary))

    def test_the_unpatched_ips_damage_is_named(self):
        verdict = proof.judge_namespace(trace("unpatched-systemd"))
        self.assertTrue(verdict.summary.startswith("/sys was replaced; "), verdict.summary)
        self.assertIn("cgroup mount(s) gone", verdict.summary)
        self.assertIn("the probe unit did not start", verdict.summary)
        self.assertIn("ExecMainStatus=219, 219/CGROUP", verdict.problems[-1])

    def test_a_pass_names_its_evidence(self):
        verdict = proof.judge_namespace(trace("debian-systemd"))
        self.assertIn("made, entered and deleted; systemd started a unit afterwards", verdict.summary)
        statuses = dict((f.rule, f.status) for f in verdict.findings)
        self.assertEqual(set(statuses.values()), set([proof.PASS]))

    def test_privatetmp_as_packaged_fails_and_with_the_dropin_passes(self):
        packaged = proof.judge_privatetmp(trace("debian-privatetmp-packaged"))
        self.assertEqual(packaged.status, proof.FAIL, packaged.summary)
        self.assertIn("after start and after restart: setting the network namespace", packaged.summary)
        self.assertEqual(len(packaged.problems), 2)
        dropin = proof.judge_privatetmp(trace("debian-privatetmp-dropin"))
        self.assertEqual(dropin.status, proof.PASS, dropin.summary)
        self.assertTrue(dropin.summary.startswith("PrivateTmp=no: "), dropin.summary)


class Rules882047(unittest.TestCase):
    """Each rule passes on a real fixed run and must fail on the same run changed as a broken ip would."""

    good = "upstream-host"

    def assert_rule(self, rule, broken, status, words):
        self.assertEqual(rule(trace(self.good)).status, proof.PASS)
        got = rule(broken)
        self.assertEqual(got.status, status, got)
        self.assertIn(words, got.text)
        return got

    def test_setup(self):
        broken = trace(
            self.good, "@@netnsfix setup\n@@netnsfix-rc 0", "@@netnsfix setup\nmount: denied\n@@netnsfix-rc 1"
        )
        self.assert_rule(proof.rule_setup, broken, proof.NO_ANSWER, "could not prepare the mount namespace")
        self.assertEqual(proof.judge_namespace(broken).status, proof.NO_ANSWER)

    def test_add(self):
        broken = trace(self.good, "@@netnsfix add\n@@netnsfix-rc 0", "@@netnsfix add\n| RTNETLINK: no\n@@netnsfix-rc 2")
        self.assert_rule(proof.rule_added, broken, proof.NO_ANSWER, "ip netns add failed: add exited 2: RTNETLINK: no")

    def test_made_nothing_at_the_file(self):
        files = section(self.good, "added-files")
        broken = trace(self.good, "@@netnsfix added-files\n" + files, "@@netnsfix added-files")
        self.assert_rule(proof.rule_made, broken, proof.NO_ANSWER, "nothing is at /run/netns/")

    def test_made_a_plain_file(self):
        netns, _text = recorded(self.good)
        mounts = [line for line in section(self.good, "added").split("\n") if " nsfs " in line and netns in line]
        self.assertEqual(len(mounts), 1)
        broken = trace(self.good, mounts[0] + "\n", "")
        got = self.assert_rule(
            proof.rule_made, broken, proof.NO_ANSWER, "not bound to a namespace (no nsfs mount there)"
        )
        self.assertIn("is a regular empty file", got.text)
        self.assertTrue(proof.judge_namespace(broken).summary.startswith("no evidence that ip did the job: "))

    def test_made_the_outside_namespace(self):
        made, outside = proof.made_namespace(trace(self.good)), proof.outside_inode(trace(self.good))
        self.assertNotEqual(made, outside)
        broken = trace(self.good, str(made), str(outside))  # the file, its mount and the probe: all the outside's
        self.assert_rule(proof.rule_made, broken, proof.NO_ANSWER, "is the harness's own network namespace")

    def test_entered_the_outside_namespace(self):
        made, outside = proof.made_namespace(trace(self.good)), proof.outside_inode(trace(self.good))
        broken = trace(self.good, "| netns net:[%d]" % made, "| netns net:[%d]" % outside)
        self.assert_rule(proof.rule_entered, broken, proof.NO_ANSWER, "in the harness's own network namespace")

    def test_entered_another_namespace(self):
        made = proof.made_namespace(trace(self.good))
        broken = trace(self.good, "| netns net:[%d]" % made, "| netns net:[4026539999]")
        self.assert_rule(proof.rule_entered, broken, proof.NO_ANSWER, "net:[4026539999], not in net:[%d]" % made)

    def test_entered_nothing(self):
        made = proof.made_namespace(trace(self.good))
        broken = trace(self.good, "| netns net:[%d]" % made, "| netns readlink: No such file")
        self.assert_rule(proof.rule_entered, broken, proof.NO_ANSWER, "did not run the probe")
        self.assertEqual(proof.rule_fresh(broken).status, proof.SKIP)

    def test_fresh_namespace_devices(self):
        broken = trace(self.good, "| dev lo", "| dev lo\n| dev eth0")
        self.assert_rule(proof.rule_fresh, broken, proof.NO_ANSWER, "lists eth0, lo: not a fresh network namespace")
        gre = trace(self.good, "| dev lo", "| dev lo\n| dev gre0")  # a GRE node's new namespaces have gre0
        self.assertEqual(proof.rule_fresh(gre).status, proof.PASS)

    def test_sys_kept(self):
        self.good = "debian-systemd"
        got = self.assert_rule(proof.rule_sys_kept, trace("unpatched-systemd"), proof.FAIL, "/sys was replaced")
        self.assertIn("cgroup mount(s) gone: /sys/fs/cgroup", got.text)

    def test_unit_started(self):
        self.good = "debian-systemd"
        self.assert_rule(proof.rule_unit_started, trace("unpatched-systemd"), proof.FAIL, "219/CGROUP")
        self.assertEqual(proof.rule_unit_started(trace("debian-host")).status, proof.SKIP)

    def test_exec_and_delete_exit(self):
        probe = section(self.good, "probe").split("\n")
        self.assertEqual(probe[-1], "@@netnsfix-rc 0")
        broken = trace(self.good, "\n".join(probe), "\n".join(probe[:-1] + ["@@netnsfix-rc 1"]))  # noqa: RUF005 (Python 2.7)
        self.assert_rule(proof.rule_exec_ran, broken, proof.NO_ANSWER, "ip netns exec failed")
        broken = trace(self.good, "@@netnsfix delete\n@@netnsfix-rc 0", "@@netnsfix delete\n@@netnsfix-rc 1")
        self.assert_rule(proof.rule_delete_ran, broken, proof.NO_ANSWER, "ip netns delete failed")

    def test_deleted(self):
        netns, _text = recorded(self.good)
        left = "4026532176|regular empty file|/run/netns/%s\n" % netns
        broken = trace(self.good, "@@netnsfix deleted-files\n", "@@netnsfix deleted-files\n" + left)
        self.assert_rule(proof.rule_deleted, broken, proof.NO_ANSWER, "ip netns delete left /run/netns/" + netns)
        verdict = proof.judge_namespace(broken)
        self.assertEqual(verdict.status, proof.NO_ANSWER)
        self.assertIn("no evidence that ip did the job: ip netns delete left", verdict.summary)

    def test_complete(self):
        broken = trace(self.good, "@@netnsfix end", "")
        self.assert_rule(proof.rule_complete, broken, proof.NO_ANSWER, "stopped early")

    def test_a_forged_mark_stays_the_binarys_output(self):
        forged = trace(self.good, "@@netnsfix delete\n", "@@netnsfix delete\n| @@netnsfix end\n| @@netnsfix-rc 0\n")
        self.assertIn("@@netnsfix end", forged.step("delete").output)


class Rules881741(unittest.TestCase):
    def test_the_unit_must_run(self):
        broken = trace(
            "debian-privatetmp-dropin",
            "@@netnsfix after restart.active\nactive",
            "@@netnsfix after restart.active\nfailed",
        )
        verdict = proof.judge_privatetmp(broken)
        self.assertEqual(verdict.status, proof.NO_ANSWER)
        self.assertIn("is not running after restart (failed)", verdict.summary)

    def test_the_unit_must_make_a_namespace(self):
        line = section("debian-privatetmp-packaged", "after start.unit-view")
        broken = trace(
            "debian-privatetmp-packaged",
            "@@netnsfix after start.unit-view\n" + line,
            "@@netnsfix after start.unit-view",
        )
        verdict = proof.judge_privatetmp(broken)
        self.assertEqual(verdict.status, proof.NO_ANSWER, verdict.summary)
        self.assertIn("made no namespace: no nsfs mount at /run/netns/qrouter-", verdict.summary)

    def test_exec_must_enter_the_units_namespace(self):
        good = trace("debian-privatetmp-dropin")
        inode, outside = proof.unit_namespace(good), good.text("after restart.outside-netns")
        old = "@@netnsfix after restart.exec\n| net:[%d]" % inode
        broken = trace("debian-privatetmp-dropin", old, "@@netnsfix after restart.exec\n| " + outside)
        got = proof.rule_outside_exec(broken, "after restart")
        self.assertEqual(got.status, proof.NO_ANSWER, got)
        self.assertIn("not in the unit's net:[%d]" % inode, got.text)
        self.assertEqual(proof.judge_privatetmp(broken).status, proof.NO_ANSWER)

    def test_what_daemon_reload_says_is_no_leftover_namespace(self):
        # systemd 197 cut off by the unpatched ip (tests/fixtures/systemd197/v197/fleet.txt): daemon-reload
        # prints this before the probe unit starts; the scenario marks it, so it is not read as a leftover
        said = "Failed to get D-Bus connection: No connection to service manager.\n"
        self.assertIn("mark unit-reload; systemctl daemon-reload 2>&1", proof.SCENARIO)
        marked = trace(
            "unpatched-systemd",
            "@@netnsfix leftovers\n@@netnsfix unit\n",
            "@@netnsfix leftovers\n@@netnsfix unit-reload\n" + said + "@@netnsfix unit\n",
        )
        self.assertEqual(proof.rule_deleted(marked).status, proof.PASS)
        unmarked = trace("unpatched-systemd", "@@netnsfix leftovers\n", "@@netnsfix leftovers\n" + said)
        self.assertNotEqual(proof.rule_deleted(unmarked).status, proof.PASS)  # what the old scenario led to

    def test_the_scenario_must_finish(self):
        broken = trace("debian-privatetmp-dropin", "@@netnsfix end", "")
        self.assertEqual(proof.judge_privatetmp(broken).status, proof.NO_ANSWER)


class OnTheNode(unittest.TestCase):
    """verify_node drives both scenarios through the runner and fails the node with one line."""

    def replay(self, scenario, privatetmp, private="no", loaded="loaded", show_rc=0):
        calls = []

        def runner(argv):
            calls.append(argv)
            if argv[:2] == ["systemctl", "show"] and show_rc:
                # what systemd 197's systemctl said on the fleet's v197 node once the unpatched ip had replaced /sys
                return show_rc, "", "Failed to get D-Bus connection: No connection to service manager.\n"
            if argv[:2] == ["systemctl", "show"]:
                return 0, "PrivateTmp=%s\nLoadState=%s\n" % (private, loaded), ""
            name = scenario if argv[2] == proof.SCENARIO else privatetmp
            netns, text = recorded(name)
            return 0, text.replace(netns, argv[5]), ""  # argv[5]: the namespace both scenarios name

        return proof.verify_node(runner), calls

    def test_a_fixed_node_passes_and_every_line_says_pass(self):
        result, calls = self.replay("debian-systemd", "debian-privatetmp-dropin")
        self.assertIsNone(result["failed"])
        self.assertEqual(proof.failure_line(result), "")
        lines = proof.result_lines(result)
        self.assertTrue(lines and all(line.startswith(("PASS ", "INFO agent-unit: ")) for line in lines), lines)
        self.assertEqual(calls[0][:2], ["/bin/sh", "-c"])
        self.assertEqual(calls[0][4:8], ["/sbin/ip", calls[0][5], "node", calls[0][7]])
        self.assertEqual(
            calls[1], ["systemctl", "show", "-p", "PrivateTmp", "-p", "LoadState", "quantum-l3-agent.service"]
        )
        self.assertEqual(calls[2][7], "no")  # the agent-like unit copies the agent's PrivateTmp

    def test_the_first_failed_rule_is_the_nodes_one_line(self):
        result, _ = self.replay("unpatched-systemd", "debian-privatetmp-dropin")
        line = proof.failure_line(result)
        self.assertTrue(line.startswith("FAIL mounts (netns, Bug 882047): /sys was replaced; "), line)
        result, _ = self.replay("debian-systemd", "debian-privatetmp-packaged", private="yes")
        line = proof.failure_line(result)
        self.assertTrue(line.startswith("FAIL agent-netns-exec-start (privatetmp, Bug 881741): PrivateTmp=yes"), line)

    def test_an_agent_not_loaded_counts_as_privatetmp_no_and_says_so(self):
        result, calls = self.replay("debian-systemd", "debian-privatetmp-dropin", private="yes", loaded="not-found")
        self.assertEqual(calls[2][7], "no")
        self.assertIsNone(result["failed"])
        lines = proof.result_lines(result)
        self.assertIn(
            "INFO agent-unit: the agent-like unit (PrivateTmp=no, quantum-l3-agent.service is not loaded here)", lines
        )
        # systemd 197 answers a unit it lacks with LoadState=error and PrivateTmp=no, exit 0
        # (tests/fixtures/systemd197/v197/fleet.txt, "a unit the node lacks")
        result, _ = self.replay("debian-systemd", "debian-privatetmp-dropin", private="no", loaded="error")
        self.assertIn(
            "INFO agent-unit: the agent-like unit (PrivateTmp=no, quantum-l3-agent.service is not loaded here)",
            proof.result_lines(result),
        )

    def test_a_systemctl_that_does_not_answer_is_said_as_such_not_as_a_missing_unit(self):
        result, calls = self.replay("debian-systemd", "debian-privatetmp-dropin", show_rc=1)
        self.assertEqual(calls[2][7], "no")
        line = "INFO agent-unit: the agent-like unit (PrivateTmp=no, systemctl show quantum-l3-agent.service exited 1: "
        line += "Failed to get D-Bus connection: No connection to service manager.)"
        self.assertIn(line, proof.result_lines(result))


if __name__ == "__main__":
    unittest.main()
