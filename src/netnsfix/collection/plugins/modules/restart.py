#!/usr/bin/python
# -*- coding: utf-8 -*-
# The role's one restart handler: every unit owed a restart, once, if systemd has loaded it.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: restart
short_description: Restart each unit a netnsfix step left owed a restart, once
description:
  - Reads the units owed a restart from the marker the step modules write on the node
    (C(ROOT/var/lib/netnsfix/restart-owed.json), written before any file changes, so a run that
    failed or whose controller was killed still leaves them owed), adds O(units), and restarts the
    ones that run, each once, with one C(systemctl try-restart U1.service U2.service ...) (systemd 197's
    systemctl queues a job per unit and waits for them all), after one C(systemctl daemon-reload) when
    the marker owes it (none when the apply's own reload ran after its last unit file changed, or when
    no owed unit runs).
  - Only units whose C(LoadState) is C(loaded) are restarted (one C(systemctl show -p Id -p Names -p LoadState
    -p ActiveState U1.service U2.service ...) gives one block per unit, in order, as systemd 197's systemctl.c
    prints them, each asked property shown even when empty), so a unit
    this node does not have never fails the run, whatever C(systemctl)'s exit code for a missing unit is
    (systemd 197 says C(LoadState=error) for it, later releases C(not-found)). A loaded unit that is not
    running is left stopped (try-restart).
  - The units are taken off the marker once done (restarted, not loaded, or not running); a unit whose
    restart failed (not running afterwards) stays owed for the next run, and the module fails naming it.
  - Runs only where systemd runs the node (O(root) is C(/) and C(/run/systemd/system) exists);
    elsewhere (a folder, an image) nothing is owed (its units start with the new files when it boots), so
    the marker is cleared (and C(ROOT/var/lib/netnsfix) removed when that leaves it empty).
version_added: 0.1.0
author: netnsfix
options:
  root:
    description: The node's root; only C(/) (the running system) has units to restart.
    type: path
    default: /
  units:
    description: Units (without C(.service)) to restart besides the ones the marker lists.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - Needs systemd's C(systemctl) on the node (Fedora 18 has systemd 197).
"""

EXAMPLES = r"""
- name: Restart the units owed a restart
  netnsfix.node.restart:
    root: /
"""

RETURN = r"""
restarted:
  description: The units restarted (would be, in check mode).
  returned: always
  type: list
  elements: str
not_loaded:
  description: Owed units systemd has not loaded on this node (no such unit); not restarted.
  returned: always
  type: list
  elements: str
not_running:
  description: Owed units that are loaded but not running; left as they are.
  returned: always
  type: list
  elements: str
msg:
  description: One line saying what was done.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.netnsfix.node.plugins.module_utils.errors import NodeError
from ansible_collections.netnsfix.node.plugins.module_utils.plan import show_units
from ansible_collections.netnsfix.node.plugins.module_utils.restart_marker import clear, owed, reload_owed
from ansible_collections.netnsfix.node.plugins.module_utils.rootfs import RootFS

RUNNING = ("active", "activating", "reloading")
MARKER_FOLDER = "/var/lib/netnsfix"


def unit_states(module, units):
    # type: (AnsibleModule, list[str]) -> dict[str, tuple[str, str]]
    """(LoadState, ActiveState) of each UNIT.service, from one ``systemctl show`` of the four properties this
    reads (plan.show_units; not all 150)."""
    try:
        answers = show_units(module.run_command, ("Id", "Names", "LoadState", "ActiveState"), units)
    except NodeError as error:
        module.fail_json(msg=str(error))
    states = {}
    for unit, found in zip(units, answers):
        names = found.get("Names", "").split()
        names.append(found.get("Id", ""))
        if unit + ".service" not in names:  # an alias answers with its unit's Id, and lists the alias in Names
            module.fail_json(msg="systemctl show: asked for %s.service, answered for %s" % (unit, names[-1]))
        states[unit] = (found.get("LoadState", ""), found.get("ActiveState", ""))
    return states


def restart_units(module, fs, running, result):
    # type: (AnsibleModule, RootFS, list[str], dict) -> list[str]
    """One daemon-reload when the marker owes it, then one ``systemctl try-restart`` of every running unit
    (systemd 197's systemctl.c queues a job per unit and waits for them all); the units whose restart failed."""
    try:
        reload = reload_owed(fs) or any(unit not in owed(fs) for unit in running)
    except NodeError as error:
        result["msg"] = str(error)
        module.fail_json(**result)
    if reload:
        rc, _, err = module.run_command(["systemctl", "daemon-reload"])
        if rc != 0:
            module.fail_json(msg="systemctl daemon-reload: exit %d: %s" % (rc, " ".join(err.split())), **result)
    rc, _, err = module.run_command(["systemctl", "try-restart"] + [unit + ".service" for unit in running])
    if rc == 0:
        return []
    # which ones: a unit whose restart job failed is not running now; the others restarted and are done
    states = unit_states(module, running)
    failed = [unit for unit in running if states[unit][1] not in RUNNING] or list(running)
    done = [unit for unit in running if unit not in failed]
    result["restarted"] = done
    result["changed"] = bool(done)
    try:
        clear(fs, [unit for unit in result["not_loaded"] + result["not_running"] + done])
    except NodeError as error:
        result["msg"] = str(error)
        return failed
    names = " ".join(unit + ".service" for unit in failed)
    result["msg"] = "systemctl try-restart %s: exit %d: %s" % (names, rc, " ".join(err.split()))
    return failed


def main():
    # type: () -> None
    module = AnsibleModule(
        argument_spec=dict(
            root=dict(type="path", default="/"),
            units=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    fs = RootFS(module.params["root"])
    try:
        marked = owed(fs)
    except NodeError as error:
        module.fail_json(msg=str(error))
    units = []  # type: list[str]
    for unit in list(marked) + list(module.params["units"]):
        if unit not in units:
            units.append(unit)
    result = dict(changed=False, restarted=[], not_loaded=[], not_running=[], owed=units)  # type: dict
    if not units:
        module.exit_json(msg="no unit is owed a restart", **result)
    if not fs.systemd_runs():
        # a root systemd does not run (a folder, an image) starts its units with the new files when it boots
        if not module.check_mode:
            try:
                clear(fs, units)
            except NodeError as error:
                module.fail_json(msg=str(error), **result)
            fs.rmdir(MARKER_FOLDER, links=False)  # only when empty: what apply made there is gone
        msg = "not run: systemd does not run %s (its units start afresh when it boots); nothing owed there"
        module.exit_json(msg=msg % fs.root, **result)
    states = unit_states(module, units)
    running = [unit for unit in units if states[unit][0] == "loaded" and states[unit][1] in RUNNING]
    for unit in units:
        if states[unit][0] != "loaded":
            result["not_loaded"].append(unit)
        elif unit not in running:
            result["not_running"].append(unit)
    if running and not module.check_mode:
        failed = restart_units(module, fs, running, result)
        if failed:
            module.fail_json(**result)
    result["restarted"] = running
    result["changed"] = bool(running)
    if not module.check_mode:
        try:
            clear(fs, units)
        except NodeError as error:
            result["msg"] = str(error)
            module.fail_json(**result)
    parts = []
    for key, words in (("restarted", "restarted"), ("not_loaded", "not loaded"), ("not_running", "not running")):
        if result[key]:
            parts.append("%s: %s" % (words, ", ".join(result[key])))
    if module.check_mode and result["restarted"]:
        parts[0] = "would be " + parts[0]
    module.exit_json(msg="; ".join(parts), **result)


if __name__ == "__main__":
    main()
