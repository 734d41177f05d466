# -*- coding: utf-8 -*-
"""The proof on Fedora 18's kernel (3.6.10): simulated from real recordings, each must-fail case still failing.

CI has no 3.6 kernel, so the old kernel's answers are simulated on the real observations of
tests/node/observations/ (recorded on this machine's 6.x kernel), changed as kernel 3.6 answers:
``readlink /proc/self/ns/net`` prints nothing and fails (before 3.8 the namespace files are not
``net:[inode]`` symlinks: proc_ns_follow_link came in 3.8), namespace files bound at /run/netns/NAME are
``proc`` mounts (``- proc proc rw``; nsfs came in 3.19), ``uname -r`` says ``3.6.10-4.fc18.x86_64``, and the
scenario's marker veth pair (``ip link add nnf...a type veth peer name nnf...b``, iproute 3.6 has it) shows in
the namespace's /proc/net/dev, not the outside's. Runs under pytest and ``python2.7 -m unittest``.
"""

from __future__ import absolute_import, division, print_function

import io
import os
import re
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    from netnsfix.collection.plugins.module_utils import proof
except ImportError:  # python2.7 -m unittest from a checkout
    sys.path.insert(0, os.path.join(HERE, "..", "..", "src"))
    from netnsfix.collection.plugins.module_utils import proof

KERNEL = "3.6.10-4.fc18.x86_64"  # Fedora 18's release kernel


def recorded(name):
    with io.open(os.path.join(HERE, "observations", name + ".txt"), encoding="utf-8") as handle:
        head, _, body = handle.read().partition("\n")
    return head.split(": ", 1)[1], body


def marker(netns):
    stem = "nnf" + netns.rsplit("-", 1)[-1][:8]
    return stem + "a", stem + "b"


def as_36(text, netns, kernel=KERNEL, outside_dev="lo\neth0", probe_has_marker=True):
    """A real recording as kernel 3.6 would have answered it."""
    text = re.sub(r"^(\d+ \d+ \S+) net:\[\d+\] (\S+) (.*) - nsfs nsfs ", r"\1 / \2 \3 - proc proc ", text, flags=re.M)
    text = re.sub(r"^(@@netnsfix (?:self|after start\.outside-netns|after restart\.outside-netns))\nnet:\[\d+\]\n",
                  r"\1\n", text, flags=re.M)  # fmt: skip
    text = re.sub(r"^\| netns net:\[\d+\]$", "| netns ", text, flags=re.M)
    a, b = marker(netns)
    if "@@netnsfix probe\n" in text:  # the namespace scenario
        text = text.replace(
            "@@netnsfix probe\n",
            "@@netnsfix kernel\n%s\n@@netnsfix marker\n@@netnsfix-rc 0\n@@netnsfix outside-dev\n%s\n"
            "@@netnsfix probe\n" % (kernel, outside_dev),
        )
        if probe_has_marker:
            text = text.replace("| dev lo\n", "| dev lo\n| dev %s\n| dev %s\n" % (a, b), 1)
    else:  # the PrivateTmp scenario
        text = text.replace("@@netnsfix install\n", "@@netnsfix kernel\n%s\n@@netnsfix install\n" % kernel)
        for when in ("after start", "after restart"):
            text = re.sub(
                r"@@netnsfix %s\.exec\n\| net:\[\d+\]\n" % when,
                "@@netnsfix %s.outside-dev\n%s\n@@netnsfix %s.exec\n| dev lo\n%s"
                % (when, outside_dev, when, "| dev %s\n| dev %s\n" % (a, b) if probe_has_marker else ""),
                text,
            )
    return text


def trace36(name, **changes):
    netns, text = recorded(name)
    return proof.parse_output(netns, as_36(text, netns, **changes))


class Kernel36(unittest.TestCase):
    def test_the_simulation_has_no_inode_evidence_left(self):
        observed = trace36("upstream-host")
        self.assertIsNone(proof.outside_inode(observed))
        self.assertIsNone(proof.entered_inode(observed))
        self.assertIsNone(proof.made_namespace(observed))
        self.assertEqual(observed.kernel, (3, 6))
        # without the old-kernel rules this is no answer: the simulation takes away what 6.x gave
        netns, text = recorded("upstream-host")
        modern = proof.parse_output(netns, as_36(text, netns, kernel="6.1.0-13-amd64"))
        self.assertEqual(proof.judge_namespace(modern).status, proof.NO_ANSWER)

    def test_a_fixed_ip_passes_with_the_proc_mount_and_the_marker(self):
        for variant in ("upstream", "seed", "debian"):
            for where in ("host", "systemd"):
                verdict = proof.judge_namespace(trace36(variant + "-" + where))
                self.assertEqual(verdict.status, proof.PASS, (variant, where, verdict.summary))
        verdict = proof.judge_namespace(trace36("upstream-host"))
        by = dict((f.rule, f) for f in verdict.findings)
        self.assertIn("is a proc bind mount of a namespace file", by["netns-made"].text)
        self.assertIn("kernel 3.6.10-4.fc18.x86_64", by["netns-made"].text)
        self.assertIn("its /proc/net/dev lists nnf", by["netns-exec"].text)
        self.assertIn("(proc mount, veth marker inside) made, entered and deleted", verdict.summary)

    def test_the_unpatched_ip_still_fails(self):
        for where in ("host", "systemd"):
            verdict = proof.judge_namespace(trace36("unpatched-" + where))
            self.assertEqual(verdict.status, proof.FAIL, verdict.summary)
            self.assertTrue(verdict.summary.startswith("/sys was replaced"), verdict.summary)

    def test_a_probe_that_ran_elsewhere_is_no_answer(self):
        """An exec that lands in some fresh namespace (not the one made) lacks the marker made inside."""
        verdict = proof.judge_namespace(trace36("upstream-host", probe_has_marker=False))
        self.assertEqual(verdict.status, proof.NO_ANSWER, verdict.summary)
        self.assertIn("ip netns exec ran it elsewhere", verdict.summary)

    def test_a_marker_the_outside_sees_is_no_answer(self):
        netns, _ = recorded("upstream-host")
        verdict = proof.judge_namespace(trace36("upstream-host", outside_dev="lo\neth0\n%s" % marker(netns)[0]))
        self.assertEqual(verdict.status, proof.NO_ANSWER, verdict.summary)
        self.assertIn("the outside's /proc/net/dev lists", verdict.summary)

    def test_no_marker_made_is_no_answer(self):
        netns, text = recorded("upstream-host")
        text = as_36(text, netns).replace(
            "@@netnsfix marker\n@@netnsfix-rc 0", "@@netnsfix marker\n| Error: Unknown device type.\n@@netnsfix-rc 2"
        )
        verdict = proof.judge_namespace(proof.parse_output(netns, text))
        self.assertEqual(verdict.status, proof.NO_ANSWER, verdict.summary)
        self.assertIn("could not make the marker veth pair inside", verdict.summary)

    def test_a_plain_file_is_not_a_proc_mount(self):
        netns, text = recorded("upstream-host")
        text = as_36(text, netns)
        lines = [line for line in text.splitlines() if "/run/netns/" + netns in line and " - proc proc " in line]
        self.assertTrue(lines)
        for line in lines:
            text = text.replace(line + "\n", "")
        verdict = proof.judge_namespace(proof.parse_output(netns, text))
        self.assertEqual(verdict.status, proof.NO_ANSWER, verdict.summary)

    def test_proc_mounts_count_only_before_3_19(self):
        """On 3.8-3.18 a proc mount carries net:[inode]; from 3.19 only nsfs counts."""
        netns, text = recorded("upstream-host")
        proc_with_inode = re.sub(r" - nsfs nsfs ", " - proc proc ", text)
        made = proof.made_namespace(proof.parse_output(netns, proc_with_inode))
        self.assertIsNone(made, "an unknown kernel: proc is not accepted")
        for kernel, accepted in (("3.10.0-1160.el7.x86_64", True), ("3.19.0", False), ("4.4.0", False)):
            observed = proof.parse_output(
                netns,
                proc_with_inode.replace("@@netnsfix probe\n", "@@netnsfix kernel\n%s\n@@netnsfix probe\n" % kernel),
            )
            self.assertEqual(proof.made_namespace(observed) is not None, accepted, kernel)


class PrivateTmpKernel36(unittest.TestCase):
    def test_the_dropin_passes_on_the_marker(self):
        verdict = proof.judge_privatetmp(trace36("debian-privatetmp-dropin"))
        self.assertEqual(verdict.status, proof.PASS, verdict.summary)
        self.assertIn("entered the unit's namespace (marker nnf", verdict.summary)
        by = dict((f.rule, f) for f in verdict.findings)
        self.assertIn("a proc mount", by["agent-netns-made"].text)

    def test_privatetmp_true_still_fails(self):
        verdict = proof.judge_privatetmp(trace36("debian-privatetmp-packaged"))
        self.assertEqual(verdict.status, proof.FAIL, verdict.summary)
        self.assertIn("Invalid argument", verdict.summary)

    def test_an_exec_without_the_marker_is_no_answer(self):
        verdict = proof.judge_privatetmp(trace36("debian-privatetmp-dropin", probe_has_marker=False))
        self.assertEqual(verdict.status, proof.NO_ANSWER, verdict.summary)
        self.assertIn("not the marker", verdict.summary)


def test_the_kernel_version_reader():
    assert proof.kernel_version("3.6.10-4.fc18.x86_64") == (3, 6)
    assert proof.kernel_version("6.18.44-fc-v1272") == (6, 18)
    assert proof.kernel_version("") is None and proof.kernel_version("x.y") is None


if __name__ == "__main__":
    unittest.main()
