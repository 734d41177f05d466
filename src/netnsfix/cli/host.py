"""``netnsfix host``: the seed's other Quantum fixes on a node (list, plan, apply, undo, topology)."""

from __future__ import annotations

import argparse
from pathlib import Path

from netnsfix.cli import Exit
from netnsfix.collection.plugins.module_utils.apply import apply_steps, plan_steps, undo_steps
from netnsfix.collection.plugins.module_utils.journal import STORE
from netnsfix.collection.plugins.module_utils.plan import Node, StepPlan, changed, command_text, diff
from netnsfix.collection.plugins.module_utils.steps import STEPS, select_steps
from netnsfix.host.node import host_errors, make_node
from netnsfix.host.settings import KEYS, default_settings, load_settings
from netnsfix.host.settings import HostSettings as Settings
from netnsfix.host.topology import load_topology, quantum_commands, shell_line
from netnsfix.util.paths import project_root

EXAMPLE = project_root() / "examples" / "overlapping-subnets.toml"


def register(subparsers: argparse._SubParsersAction) -> None:
    host = subparsers.add_parser("host", help="the seed's other Quantum fixes on a Fedora 18 node")
    actions = host.add_subparsers(dest="host_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="list the steps")
    listing.set_defaults(handler=_list)
    for name, handler, text in (
        ("plan", _plan, "show what would change (diffs, commands); exit 1 if anything would"),
        ("apply", _apply, "change what differs, backing every file up first, then verify"),
        ("undo", _undo, "restore the backed-up files byte for byte, remove created ones"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("steps", nargs="*", metavar="STEP", help="steps to run (default: all)")
        action.add_argument(
            "--root", metavar="DIR", type=Path, default=Path("/"), help="the node's root folder (default: /)"
        )
        if name == "undo":
            action.add_argument("--force", action="store_true", help="restore even files edited since apply")
        else:
            _settings_options(action)
        action.set_defaults(handler=handler)
    topology = actions.add_parser("topology", help="print the quantum commands that build a topology file")
    topology.add_argument(
        "file",
        metavar="FILE",
        nargs="?",
        type=Path,
        default=EXAMPLE,
        help="TOML topology (default: the seed's example)",
    )
    _settings_options(topology)
    topology.set_defaults(handler=_topology)


def _settings_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", type=Path, help="TOML file with the node settings")
    parser.add_argument(
        "--role",
        choices=("network", "compute", "controller"),
        help="the node's role (default: --config's, else network)",
    )
    parser.add_argument("--public-nic", metavar="NIC", help="NIC on the public network (br-ex, network node)")
    parser.add_argument("--private-nic", metavar="NIC", help="NIC on the private network")
    parser.add_argument("--private-bridge", metavar="BRIDGE", help="the private bridge (default: br-<private NIC>)")
    parser.add_argument(
        "--physnet",
        action="append",
        dest="physnets",
        metavar="NAME[:FIRST:LAST]",
        help="a network_vlan_ranges entry (repeat; default: physnet1, physnet2:100:199)",
    )
    parser.add_argument(
        "--bridge-mapping",
        action="append",
        dest="bridge_mappings",
        metavar="PHYSNET:BRIDGE",
        help="a bridge_mappings entry (repeat)",
    )
    parser.add_argument("--iscsi-ip-address", metavar="ADDRESS", help="cinder's iscsi_ip_address (an IP address)")
    parser.add_argument("--ovs-db", metavar="ADDRESS", help="ovsdb address, e.g. unix:/path/db.sock")
    parser.add_argument(
        "--ovs-no-wait",
        dest="ovs_wait",
        action="store_const",
        const=False,
        help="do not wait for ovs-vswitchd (an ovsdb-server alone)",
    )
    parser.add_argument(
        "--systemd-version",
        metavar="N",
        type=int,
        help="the node's systemd version (default: asked from the node; a --root's usr/share/pkgconfig/systemd.pc, "
        "else 197, Fedora 18's): privatetmp writes an /etc/systemd/system unit below 198, a drop-in from 198",
    )


def _settings(args: argparse.Namespace) -> Settings:
    """Every setting the options can give (the library's KEYS: each has an option of the same name)."""
    return load_settings(args.config, {key: getattr(args, key) for key in KEYS})


def _node(args: argparse.Namespace) -> Node:
    return make_node(args.root, _settings(args))


def _list(args: argparse.Namespace) -> int:
    for step in STEPS:
        print(f"{step.name:16} {step.summary}")
    print(f"{'topology':16} print the quantum commands for a topology file (netnsfix host topology FILE)")
    return 0


def _findings(plan: StepPlan) -> None:
    for finding in plan.findings:
        print(f"{plan.step}: NOTE {finding}")


def _unchanged(plan: StepPlan) -> str:
    return "nothing to change (see NOTE)" if plan.findings else "ok"


def _show(plan: StepPlan) -> None:
    _findings(plan)
    if not changed(plan):
        print(f"{plan.step}: {_unchanged(plan)}")
        return
    print(f"{plan.step}: would change {len(plan.files)} file(s), run {sum(c.run for c in plan.commands)} command(s)")
    for change in plan.files:
        print(diff(change), end="")
    for command in plan.commands:
        print(f"$ {command_text(command)}" + (f"    # {command.note}" if command.note else ""))


def _plan(args: argparse.Namespace) -> int:
    with host_errors():
        plans = plan_steps(select_steps(args.steps), _node(args))
    for plan in plans:
        _show(plan)
    changing = [p.step for p in plans if changed(p)]
    if changing:
        print(f"plan: {len(changing)} of {len(plans)} step(s) would change: {', '.join(changing)}")
        return Exit.RESULT
    print(f"plan: nothing to change ({len(plans)} step(s) ok)")
    return 0


def _apply(args: argparse.Namespace) -> int:
    with host_errors():
        plans = apply_steps(select_steps(args.steps), _node(args))
    for plan in plans:
        _findings(plan)
        if not changed(plan):
            print(f"{plan.step}: {_unchanged(plan)}")
            continue
        print(f"{plan.step}: changed")
        for change in plan.files:
            print(f"  {'created' if change.before is None else 'edited'} {change.path}")
        for command in plan.commands:
            done = "ran" if command.run else "skipped"
            print(f"  {done} {command_text(command)}" + (f" ({command.note})" if command.note else ""))
    if any(changed(p) for p in plans):
        print(f"apply: verified; backups in {args.root / STORE.lstrip('/')} ('netnsfix host undo' restores them)")
    else:
        print("apply: nothing to change")
    return 0


def _undo(args: argparse.Namespace) -> int:
    with host_errors():
        node = make_node(args.root, default_settings())
        results = undo_steps(select_steps(args.steps), node, force=args.force)
    if not results:
        print("undo: nothing to undo")
    for result in results:
        for path in result.restored:
            print(f"{result.step}: restored {path}")
        for path in result.removed:
            print(f"{result.step}: removed {path}")
        for argv in result.commands:
            print(f"{result.step}: ran {' '.join(argv)}")
    return 0


def _topology(args: argparse.Namespace) -> int:
    topology = load_topology(args.file, _settings(args).physnets)
    for argv in quantum_commands(topology):
        print(shell_line(argv))
    return 0
