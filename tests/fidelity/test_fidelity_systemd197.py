"""What systemd 197 (Fedora 18's) itself makes of the privatetmp step's files, and where 198 differs.

tests/fixtures/systemd197/ holds the real tool's output: systemd v197 and v198 built from their tags by
scripts/fidelity/systemd197 and run (its unit loader, and booted as PID 1) in throwaway containers by
scripts/fidelity/record-systemd197, on the four quantum units as Fedora's openstack-quantum 2012.2-1
shipped them (demo/nodefiles.py says where that shape was read). CI reads the recording, so it needs no
systemd 197; ``NETNSFIX_SYSTEMD197=1`` adds a test that reruns the recording against the built images
and compares (the images must exist then: that test is defined only when asked for, never skipped).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from testkit import ROOT
from unitdump import DumpError, UnitDump, answers, parse_dumps, read_dumps, sections

from netnsfix.collection.plugins.module_utils.privatetmp import DROPIN, DROPIN_NAME, override
from netnsfix.demo.nodefiles import UNIT_DIR, UNITS, unit_file

FIXTURES = ROOT / "tests" / "fixtures" / "systemd197"
CASES = FIXTURES / "cases"
MISSING = "netnsfix-absent.service"
SERVICES = sorted(f"{unit}.service" for unit in UNITS)
# What each systemd said PrivateTmp is, per case (a: the vendor unit alone; b: plus today's drop-in;
# c: an /etc unit that .includes the vendor unit and sets PrivateTmp=false; d: a full copy set to false).
EXPECTED = {
    "v197": {"a-vendor": "yes", "b-dropin": "yes", "c-include": "no", "d-copy": "no"},
    "v198": {"a-vendor": "yes", "b-dropin": "no", "c-include": "no", "d-copy": "no"},
}


def test_the_recorded_inputs_are_the_released_units_and_the_steps_own_files() -> None:
    for unit in UNITS:
        vendor = (CASES / "vendor" / f"{unit}.service").read_text()
        assert vendor == unit_file(unit, "2012.2") and "PrivateTmp=true\n" in vendor
        assert (CASES / "b-dropin" / "etc" / f"{unit}.service.d" / DROPIN_NAME).read_bytes() == DROPIN
        copy = (CASES / "d-copy" / "etc" / f"{unit}.service").read_text()
        assert copy == vendor.replace("PrivateTmp=true\n", "PrivateTmp=false\n")
        written = (CASES / "c-include" / "etc" / f"{unit}.service").read_bytes()
        assert written == override(unit), "case c-include is what the privatetmp step writes below systemd 198"
        lines = written.decode().splitlines()
        body = [line for line in lines if not line.startswith("#")]
        assert body == [f".include {UNIT_DIR}/{unit}.service", "[Service]", "PrivateTmp=false"]
        assert lines[: len(lines) - 3] and all(line.startswith("# ") for line in lines[:-3])
    # case a adds nothing to /etc (git keeps no empty folder, so a clone may lack cases/a-vendor)
    assert [p for p in (CASES / "a-vendor").rglob("*") if not p.is_dir()] == []


@pytest.mark.parametrize(("tag", "case"), [(tag, case) for tag in EXPECTED for case in EXPECTED[tag]])
def test_systemds_own_loader_says_what_privatetmp_is(tag: str, case: str) -> None:
    dumps = read_dumps(FIXTURES / tag / f"{case}.txt")
    assert sorted(dumps) == SERVICES
    for service, dump in dumps.items():
        assert dump.exit == 0, (service, dump.stderr)
        assert dump.one("Unit Load State") == "loaded"
        assert dump.privatetmp == EXPECTED[tag][case], (tag, case, service)
        where = "/etc/systemd/system" if case in ("c-include", "d-copy") else UNIT_DIR
        assert dump.one("Fragment Path") == f"{where}/{service}"


def test_systemd_197_ignores_the_dropin_that_198_reads() -> None:
    """The point of the recording: on Fedora 18's systemd the step's drop-in changes nothing."""
    before = read_dumps(FIXTURES / "v197" / "a-vendor.txt")
    dropin = read_dumps(FIXTURES / "v197" / "b-dropin.txt")
    assert {s: d.privatetmp for s, d in dropin.items()} == {s: d.privatetmp for s, d in before.items()}
    assert {d.privatetmp for d in read_dumps(FIXTURES / "v198" / "b-dropin.txt").values()} == {"no"}


@pytest.mark.parametrize("tag", sorted(EXPECTED))
def test_booted_systemd_shows_the_same_privatetmp(tag: str) -> None:
    """Booted as PID 1, after each case's files and daemon-reload, systemctl agrees with the loader."""
    text = (FIXTURES / tag / "booted.txt").read_text()
    assert "## did not boot" not in text
    parts = sections(text)
    cases = [name.removeprefix("case ") for name in parts if name.startswith("case ")]
    assert cases == list(EXPECTED[tag])
    for case in cases:
        said = answers(parts[f"case {case}"])
        for service in SERVICES:
            output, code = said[f"systemctl show -p PrivateTmp -p FragmentPath {service}"]
            assert code == 0 and f"PrivateTmp={EXPECTED[tag][case]}" in output, (tag, case, service)
    undone = answers(parts["undo: the case's files removed, daemon-reload"])
    for service in SERVICES:
        assert undone[f"systemctl show -p PrivateTmp -p FragmentPath {service}"] == (
            [f"FragmentPath={UNIT_DIR}/{service}", "PrivateTmp=yes"],
            0,
        )
    pid1 = answers(parts["PID 1"])
    assert pid1["readlink /proc/1/exe"] == (["/usr/lib/systemd/systemd"], 0)
    assert pid1["systemctl show -p Version"] == ([f"Version=systemd {tag[1:]}"], 0)  # PID 1's own answer
    assert answers(text)["systemctl --version"][0][0] == f"systemd {tag[1:]}"


@pytest.mark.parametrize("tag", sorted(EXPECTED))
def test_a_missing_unit_is_load_state_error_and_restarting_it_exits_6(tag: str) -> None:
    """Why restarts must be gated on LoadState=loaded: 197 (and 198) exit 6 for a unit that is not there."""
    said = answers((FIXTURES / tag / "booted.txt").read_text())
    assert said["systemctl show -p LoadState -p ActiveState netnsfix-absent.service"] == (
        ["LoadState=error", "ActiveState=inactive"],
        0,
    )
    for verb in ("try-restart", "restart"):
        output, code = said[f"systemctl {verb} netnsfix-absent.service"]
        assert code == 6 and "failed to load: No such file or directory" in output[0]
    assert said["systemctl show -p LoadState -p ActiveState quantum-server.service"][0][0] == "LoadState=loaded"
    assert said["systemctl try-restart quantum-server.service"] == ([], 0)
    several = said[f"systemctl show -p Id -p LoadState quantum-server.service {MISSING} quantum-l3-agent.service"]
    blocks = f"Id=quantum-server.service\nLoadState=loaded\n\nId={MISSING}\nLoadState=error\n\n"
    blocks += "Id=quantum-l3-agent.service\nLoadState=loaded"
    assert several == (blocks.splitlines(), 0)
    assert said["systemctl is-system-running"] == (["Unknown operation 'is-system-running'."], 1)
    assert said["test -e /usr/bin/systemd-run"] == ([], 1)


def step_parts(tag: str) -> dict[str, str]:
    return sections((FIXTURES / tag / "step.txt").read_text())


def shown(part: str) -> dict[str, str]:
    """PrivateTmp per unit in a part of step.txt (each ``systemctl show`` answered with exit 0)."""
    said = answers(part)
    result = {}
    for service in SERVICES:
        output, code = said[f"systemctl show -p PrivateTmp -p FragmentPath {service}"]
        assert code == 0, (service, output)
        result[service] = next(line.removeprefix("PrivateTmp=") for line in output if line.startswith("PrivateTmp="))
    return result


@pytest.mark.parametrize("tag", ["v197", "v198"])
def test_booted_systemd_takes_what_host_apply_wrote_and_undo_gives_it_back(tag: str) -> None:
    """scripts/fidelity/record-privatetmp-step: 'netnsfix host apply privatetmp --root' on a Fedora 18 root
    (v197: a root that says nothing, so 197; v198: its systemd.pc says 198), the files in the booted system."""
    parts = step_parts(tag)
    text = (FIXTURES / tag / "step.txt").read_text()
    assert answers(text)["systemctl --version"][0][0] == f"systemd {tag[1:]}"
    assert shown(parts["as packaged"]) == dict.fromkeys(SERVICES, "yes")
    assert answers(parts["as packaged"])["library verify (PrivateTmp step)"][1] == 1
    applied = answers(parts["apply on the host"])
    form = ".service" if tag == "v197" else ".service.d/netnsfix-privatetmp.conf"
    assert [line for line in applied["netnsfix host apply privatetmp --root ROOT"][0] if "created" in line] == [
        f"  created /etc/systemd/system/{service.removesuffix('.service')}{form}" for service in SERVICES
    ]
    booted = parts["the step's files in the booted system"]
    assert shown(booted) == dict.fromkeys(SERVICES, "no")
    where = "/etc/systemd/system" if tag == "v197" else UNIT_DIR  # the override takes the packaged unit's place
    for service in SERVICES:
        assert (
            f"FragmentPath={where}/{service}"
            in answers(booted)[f"systemctl show -p PrivateTmp -p FragmentPath {service}"][0]
        )
    assert answers(booted)["library verify (PrivateTmp step)"] == (["passed"], 0)
    assert answers(booted)["netnsfix host plan privatetmp --root ROOT"] == (
        ["privatetmp: ok", "plan: nothing to change (1 step(s) ok)"],
        0,
    )
    assert shown(parts["undo"]) == dict.fromkeys(SERVICES, "yes")


def test_under_197_the_libraries_verify_catches_the_dropin_that_197_ignores() -> None:
    """The verify can fail for real: the >= 198 form forced onto the booted 197, systemd still says yes."""
    part = step_parts("v197")["the wrong mechanism: the drop-ins (the step's form for >= 198) under 197"]
    assert shown(part) == dict.fromkeys(SERVICES, "yes")
    lines, code = answers(part)["library verify (PrivateTmp step, systemd_version=198)"]
    assert code == 1 and lines[0].startswith(
        "quantum-dhcp-agent.service: systemd shows 'PrivateTmp=yes', not PrivateTmp=no, after daemon-reload"
    )


def test_the_step_writes_what_the_recording_ran() -> None:
    """step.txt's diffs are the library's bytes today (a changed override would need a new recording)."""
    for tag, wanted in (("v197", override), ("v198", lambda unit: DROPIN)):
        part = step_parts(tag)["apply on the host"]  # the plan's output up to the apply (it has a "$ " line)
        plan = part.split("$ netnsfix host apply", 1)[0].splitlines()
        added = "".join(line[1:] + "\n" for line in plan if line.startswith("+") and not line.startswith("+++"))
        assert added == "".join(wanted(unit).decode() for unit in UNITS), tag


DUMP = (
    "## quantum-server.service exit 0\n"
    "## stderr: Loaded units and determined initial transaction in TIME.\n"
    "\t-> Unit quantum-server.service:\n"
    "\t\tUnit Load State: loaded\n"
    "\t\tPrivateTmp: no\n"
)


def test_the_reader_takes_the_recorders_shape() -> None:
    dump = parse_dumps(DUMP)["quantum-server.service"]
    assert (dump.exit, dump.privatetmp, dump.stderr) == (
        0,
        "no",
        ("Loaded units and determined initial transaction in TIME.",),
    )


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (DUMP.replace("\t\tPrivateTmp: no\n", ""), "0 'PrivateTmp:' lines"),
        (DUMP + "\t\tPrivateTmp: yes\n", "2 'PrivateTmp:' lines"),
        (DUMP.split("\t-> Unit")[0], "has no '-> Unit quantum-server.service:' block"),
        (DUMP.replace("\t-> Unit quantum-server.service:\n", ""), "dump:3: unexpected line"),
        (DUMP.replace("\t-> Unit quantum-server.service:", "\t-> Unit quantum-l3-agent.service:"), "unexpected line"),
    ],
)
def test_a_fixture_that_does_not_say_it_fails(text: str, error: str) -> None:
    with pytest.raises(DumpError, match=error):
        UnitDump.one(parse_dumps(text)["quantum-server.service"], "PrivateTmp")


def test_a_dump_saying_yes_fails_the_claim_for_the_include_case() -> None:
    """The assertion above must be able to fail: the vendor case's dump does not pass for c-include's."""
    vendor = read_dumps(FIXTURES / "v197" / "a-vendor.txt")
    assert {d.privatetmp for d in vendor.values()} == {"yes"} != {EXPECTED["v197"]["c-include"]}


def test_the_booted_answers_reader() -> None:
    text = "$ systemctl try-restart x.service\nFailed to issue method call: boom\nexit 6\n"
    assert answers(text) == {"systemctl try-restart x.service": (["Failed to issue method call: boom"], 6)}


if os.environ.get("NETNSFIX_SYSTEMD197") == "1":

    @pytest.mark.slow
    @pytest.mark.engine
    def test_rerunning_the_recording_gives_the_committed_fixtures(tmp_path: Path) -> None:
        """Asked for with NETNSFIX_SYSTEMD197=1 after scripts/fidelity/systemd197 built v197 and v198 (both
        recorders: record-systemd197, record-privatetmp-step, the booted run of the step's own files)."""
        out = tmp_path / "systemd197"
        subprocess.run([str(ROOT / "scripts" / "fidelity" / "record-systemd197"), str(out)], check=True)
        subprocess.run([str(ROOT / "scripts" / "fidelity" / "record-privatetmp-step"), str(out)], check=True)
        recorded = sorted(p.relative_to(FIXTURES) for p in FIXTURES.rglob("*") if p.is_file())
        assert recorded == sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
        for name in recorded:
            assert (out / name).read_text() == (FIXTURES / name).read_text(), name
