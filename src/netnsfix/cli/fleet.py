"""``netnsfix fleet``: the fixed iproute and the companion steps on every node, with Ansible."""

from __future__ import annotations

import argparse
from pathlib import Path

from netnsfix.cli import Exit
from netnsfix.fleet.results import NodeResult
from netnsfix.fleet.run import FleetRun, Inputs, run_action

HELP = {
    "plan": "what would change on each node (--check --diff); exit 1 if any node would change",
    "apply": "install the fixed iproute and apply the steps on each node",
    "verify": "prove the fix on each node with Fedora 18's own tools",
    "undo": "put every file back byte for byte, remove the bridges and ports apply added",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    fleet = subparsers.add_parser("fleet", help="roll the fix out to every node with Ansible, and prove it")
    actions = fleet.add_subparsers(dest="fleet_command", metavar="ACTION", required=True)
    export = actions.add_parser("export", help="write a self-contained Ansible project for the fleet")
    export.add_argument("--inventory", "-i", metavar="FILE", type=Path, required=True, help="Ansible inventory")
    export.add_argument("-o", "--output", metavar="DIR", type=Path, required=True, help="the project folder")
    _sources(export, required=True)
    export.set_defaults(handler=_export)
    for name, text in HELP.items():
        action = actions.add_parser(name, help=text)
        action.add_argument("-i", "--inventory", metavar="FILE", type=Path, required=True, help="Ansible inventory")
        action.add_argument("--project", metavar="DIR", type=Path, help="an exported project (else export on the fly)")
        _sources(action, required=False)
        action.add_argument("--limit", metavar="HOSTS", help="only these hosts (Ansible's --limit)")
        action.add_argument(
            "--forks", metavar="N", type=int, help="nodes worked on at once (default: the node count, at least 10)"
        )
        action.set_defaults(handler=_action, action=name)


def _sources(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument(
        "--site", metavar="SITE.toml", type=Path, help="node settings: [fleet], [defaults], [nodes.NAME]"
    )
    parser.add_argument(
        "--repo", metavar="DIR", type=Path, required=required, help="the repository netnsfix publish made"
    )
    parser.add_argument("--repo-url", metavar="URL", help="the repository's URL as the nodes reach it")


def _export(args: argparse.Namespace) -> int:
    # imported here: reading a site file and a repository (YAML, rpm headers, signatures) costs a run of an
    # exported project (--project) a third of a second it does not need
    from netnsfix.fleet.export import export_project
    from netnsfix.fleet.package import read_package
    from netnsfix.fleet.site import load_fleet

    fleet = load_fleet(args.inventory, args.site)
    package = read_package(args.repo, repo_url=args.repo_url)
    done = export_project(fleet, package, args.output, args.repo)
    print(f"wrote {done.path}: site.yml, verify.yml, undo.yml, collection netnsfix.node for {len(done.nodes)} nodes")
    print(f"  package {package.nevra} from {package.url}")
    print(f"  run: cd {done.path} && ansible-playbook -i {done.inventory.name} site.yml --check --diff")
    return 0


def _action(args: argparse.Namespace) -> int:
    inputs = Inputs(
        inventory=args.inventory,
        project=args.project,
        site=args.site,
        repo=args.repo,
        repo_url=args.repo_url,
        limit=args.limit,
        forks=args.forks,
    )
    done = run_action(args.action, inputs)
    print(table(done))
    if args.action == "plan":
        return Exit.ERROR if not done.all_succeeded else Exit.RESULT if done.any_changed else Exit.OK
    return Exit.OK if done.all_succeeded else Exit.RESULT


def table(done: FleetRun) -> str:
    """One row per node, then the details: what changed (diffs for plan), verify's checks, failures."""
    rows = [("node", "result", "ok", "changed", "failed", "unreachable", "what changed")]
    for node in done.nodes:
        what = "; ".join(node.changes) if node.changes else "-"
        rows.append(
            (
                node.node,
                _verdict(done.action, node),
                str(node.ok),
                str(node.changed),
                str(node.failed),
                str(node.unreachable),
                what,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1] for row in rows
    ]
    lines = [line.rstrip() for line in lines]
    for node in done.nodes:
        if node.message:
            lines.append(f"{node.node}: {node.message}")
        if done.action == "verify":
            lines += [f"{node.node}: {check}" for check in node.checks]
        if done.action == "plan":
            lines += [f"--- {node.node}\n{diff.rstrip()}" for diff in node.diffs]
    runs = sorted({node.modules for node in done.nodes})
    spread = f"{runs[0]}" if len(runs) == 1 else f"{runs[0]}-{runs[-1]}"
    lines.append(f"{done.action}: {len(done.nodes)} nodes in {done.seconds:.1f} s, {spread} module runs per node")
    return "\n".join(lines)


def _verdict(action: str, node: NodeResult) -> str:
    if not node.success:
        return node.verdict
    if action == "verify":
        return "PASS"
    if action == "plan":
        return "would change" if node.changed else "up to date"
    return "changed" if node.changed else "ok"
