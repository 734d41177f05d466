"""The restart module on systemd 197's answers: a node missing some owed units still passes.

systemd 197 (Fedora 18's) says ``LoadState=error`` for a unit that does not exist, and ``systemctl
try-restart`` / ``restart`` of it exit 6, not 5 (tests/fixtures/systemd197/v197/booted.txt, recorded from
v197 booted as PID 1 by scripts/fidelity/record-systemd197). A handler that accepted 0 and 5 failed on every
node lacking a unit. The restart module asks ``systemctl show`` first and restarts only ``loaded`` units.

CI has no systemd 197, so ``systemctl`` here is simulated: :class:`Systemd197` answers every command the
module sends with the recorded 197 answers (LoadState, the try-restart exit code and message, one block per
unit in the order asked, blank lines between), the unit names put in. The module runs in-process (its
``AnsibleModule`` replaced by one whose ``run_command`` is that systemctl) on a Fedora 18 root folder
that holds the restart marker.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hostroot import make_fedora18_root
from unitdump import answers

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "src" / "netnsfix" / "collection"
BOOTED = ROOT / "tests" / "fixtures" / "systemd197" / "v197" / "booted.txt"
ABSENT = "netnsfix-absent.service"  # the missing unit the recording asked about
MARKER = "var/lib/netnsfix/restart-owed.json"


class Systemd197:
    """``systemctl`` as systemd 197 answers it, from the recording; ``units``: unit -> ActiveState (loaded)."""

    def __init__(self, units: dict[str, str]) -> None:
        said = answers(BOOTED.read_text())
        self.absent_show = said[f"systemctl show -p LoadState -p ActiveState {ABSENT}"]
        self.absent_restart = said[f"systemctl try-restart {ABSENT}"]
        self.loaded_show = said["systemctl show -p LoadState -p ActiveState quantum-server.service"]
        self.loaded_restart = said["systemctl try-restart quantum-server.service"]
        self.version = said["systemctl --version"]
        self.units = units
        self.calls: list[list[str]] = []

    def block(self, service: str) -> list[str]:
        lines, code = self.loaded_show if service in self.units else self.absent_show
        assert code == 0
        state = {key: value for key, _, value in (line.partition("=") for line in lines)}
        if service in self.units:
            state["ActiveState"] = self.units[service]
        return [f"Id={service}", f"LoadState={state['LoadState']}", f"ActiveState={state['ActiveState']}"]

    def __call__(self, argv: list[str]) -> tuple[int, str, str]:
        self.calls.append(list(argv))
        assert argv[0] == "systemctl", argv
        verb, names = argv[1], [a for a in argv[2:] if a.endswith(".service")]
        if verb == "--version":
            return self.version[1], "\n".join(self.version[0]) + "\n", ""
        if verb == "daemon-reload":
            return 0, "", ""
        if verb == "show":
            # 197's systemctl.c: one block per unit, in the order asked, an empty line between
            return 0, "\n\n".join("\n".join(self.block(name)) for name in names) + "\n", ""
        if verb in ("try-restart", "restart"):
            # several names: v197's systemctl.c start_unit() queues one job per name and waits for them all;
            # the recorded answer of a loaded unit is exit 0 and nothing printed, a missing one's exit 6
            missing = [name for name in names if name not in self.units]
            lines, code = self.absent_restart if missing else self.loaded_restart
            return code, "", "\n".join(lines).replace(ABSENT, missing[0] if missing else "") + ("\n" if lines else "")
        raise AssertionError(f"systemd 197 simulation: no recorded answer for {argv}")


class Done(Exception):
    def __init__(self, failed: bool, result: dict[str, Any]) -> None:
        super().__init__(result.get("msg", ""))
        self.failed, self.result = failed, result


def load_restart_module(tmp_path: Path) -> ModuleType:
    """plugins/modules/restart.py imported as Ansible would name it (ansible_collections.netnsfix.node...)."""
    tree = tmp_path / "collections" / "ansible_collections" / "netnsfix"
    tree.mkdir(parents=True)
    (tree / "node").symlink_to(COLLECTION)
    sys.path.insert(0, str(tmp_path / "collections"))
    for name in [n for n in sys.modules if n.startswith("ansible_collections.netnsfix")]:
        del sys.modules[name]
    spec = importlib.util.spec_from_file_location("netnsfix_restart_197", COLLECTION / "plugins/modules/restart.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def restart(tmp_path: Path, monkeypatch):
    if importlib.util.find_spec("ansible") is None:
        from testkit import unavailable

        unavailable("ansible is not installed (the fleet extra)")
    module = load_restart_module(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path])  # the insert above is undone with the test
    root = make_fedora18_root(tmp_path / "root")

    def run(systemctl: Systemd197, owed: list[str], check_mode: bool = False, reload: bool | None = None) -> Done:
        marker = root / MARKER
        marker.parent.mkdir(parents=True, exist_ok=True)
        written: dict[str, Any] = {"version": 1, "units": owed}
        if reload is not None:
            written["reload"] = reload
        marker.write_text(json.dumps(written))

        class Module:
            def __init__(self, argument_spec: dict, supports_check_mode: bool) -> None:
                self.params = {"root": str(root), "units": []}
                self.check_mode = check_mode

            def run_command(self, argv: list[str]) -> tuple[int, str, str]:
                return systemctl(argv)

            def fail_json(self, **result: Any) -> None:
                raise Done(True, result)

            def exit_json(self, **result: Any) -> None:
                raise Done(False, result)

        monkeypatch.setattr(module, "AnsibleModule", Module)
        rootfs = sys.modules["ansible_collections.netnsfix.node.plugins.module_utils.rootfs"]
        monkeypatch.setattr(rootfs.RootFS, "systemd_runs", lambda self: True)  # the node runs systemd 197
        with pytest.raises(Done) as done:
            module.main()
        return done.value

    run.root = root  # type: ignore[attr-defined]
    return run


def test_the_simulation_answers_as_197_did() -> None:
    """The simulated answers are the recording's: a missing unit is LoadState=error, try-restart exits 6."""
    systemctl = Systemd197({"quantum-l3-agent.service": "active"})
    code, out, _ = systemctl(["systemctl", "show", "quantum-l3-agent.service", "openstack-nova-compute.service"])
    assert (code, out) == (
        0,
        "Id=quantum-l3-agent.service\nLoadState=loaded\nActiveState=active\n\n"
        "Id=openstack-nova-compute.service\nLoadState=error\nActiveState=inactive\n",
    )
    code, _, err = systemctl(["systemctl", "try-restart", "openstack-nova-compute.service"])
    assert code == 6 and err.startswith(
        "Failed to issue method call: Unit openstack-nova-compute.service failed to load: No such file or directory."
    )
    assert code not in (0, 5), "a handler that accepts only 0 and 5 (rc 5: not found) fails on this node"


def test_a_node_missing_owed_units_restarts_only_what_it_has(restart) -> None:
    units = {"quantum-l3-agent.service": "active", "quantum-server.service": "inactive"}
    systemctl = Systemd197(units)
    owed = ["quantum-l3-agent", "openstack-nova-compute", "quantum-server", "openstack-cinder-volume"]
    done = restart(systemctl, owed)
    assert not done.failed, done.result
    assert done.result["restarted"] == ["quantum-l3-agent"]
    assert done.result["not_loaded"] == ["openstack-nova-compute", "openstack-cinder-volume"]
    assert done.result["not_running"] == ["quantum-server"]
    restarts = [call for call in systemctl.calls if call[1] in ("try-restart", "restart")]
    assert restarts == [["systemctl", "try-restart", "quantum-l3-agent.service"]], "only the loaded, running unit"
    assert not (restart.root / MARKER).exists() or json.loads((restart.root / MARKER).read_text())["units"] == []


def test_asking_197_to_restart_a_missing_unit_would_have_failed_the_run() -> None:
    """Must-fail: restarting every owed unit (the old handler) meets 197's exit 6 on the first missing one."""
    systemctl = Systemd197({"quantum-l3-agent.service": "active"})
    codes = [
        systemctl(["systemctl", "try-restart", f"{unit}.service"])[0]
        for unit in ("quantum-l3-agent", "openstack-nova-compute")
    ]
    assert codes == [0, 6]
    assert [code for code in codes if code not in (0, 5)] == [6]


def test_check_mode_asks_but_restarts_nothing(restart) -> None:
    systemctl = Systemd197({"quantum-l3-agent.service": "active"})
    done = restart(systemctl, ["quantum-l3-agent", "openstack-nova-compute"], check_mode=True)
    assert not done.failed and done.result["restarted"] == ["quantum-l3-agent"]
    assert not [call for call in systemctl.calls if call[1] in ("try-restart", "daemon-reload")]


def test_the_running_units_restart_in_one_call_after_the_reload_the_marker_owes(restart) -> None:
    """A marker without "reload" (an older netnsfix's, or an apply killed before its own reload) owes one."""
    systemctl = Systemd197({"quantum-l3-agent.service": "active", "quantum-dhcp-agent.service": "active"})
    done = restart(systemctl, ["quantum-l3-agent", "openstack-nova-compute", "quantum-dhcp-agent"])
    assert not done.failed and done.result["restarted"] == ["quantum-l3-agent", "quantum-dhcp-agent"], done.result
    acting = [call for call in systemctl.calls if call[1] in ("try-restart", "restart", "daemon-reload")]
    assert acting == [
        ["systemctl", "daemon-reload"],
        ["systemctl", "try-restart", "quantum-l3-agent.service", "quantum-dhcp-agent.service"],
    ]
    assert not (restart.root / MARKER).exists()


def test_no_second_reload_when_the_apply_reloaded_after_its_last_unit_file(restart) -> None:
    systemctl = Systemd197({"quantum-l3-agent.service": "active"})
    done = restart(systemctl, ["quantum-l3-agent"], reload=False)
    assert not done.failed and done.result["restarted"] == ["quantum-l3-agent"], done.result
    assert ["systemctl", "daemon-reload"] not in systemctl.calls
    # must-fail: the same marker owing the reload gets one
    systemctl = Systemd197({"quantum-l3-agent.service": "active"})
    restart(systemctl, ["quantum-l3-agent"], reload=True)
    assert ["systemctl", "daemon-reload"] in systemctl.calls
