"""``netnsfix fleet plan|apply|verify|undo``: run the exported project, one result per node.

Either an exported project (``--project``) or one exported on the fly into a
temporary folder from the inventory, site file and published repository.
Everything is checked (Ansible's version, the inventory, the site file, the
repository) before any node is contacted, so bad input changes no node.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from netnsfix.errors import FleetError
from netnsfix.fleet import MARKER, ansible
from netnsfix.fleet.results import NodeResult, read_results

ACTIONS = {
    "plan": ("site.yml", True),
    "apply": ("site.yml", False),
    "verify": ("verify.yml", False),
    "undo": ("undo.yml", False),
}


@dataclass(frozen=True)
class FleetRun:
    action: str
    nodes: tuple[NodeResult, ...]
    seconds: float
    project: Path

    @property
    def any_changed(self) -> bool:
        return any(n.changed for n in self.nodes)

    @property
    def all_succeeded(self) -> bool:
        return all(n.success for n in self.nodes)


@dataclass(frozen=True)
class Inputs:
    inventory: Path
    project: Path | None = None
    site: Path | None = None
    repo: Path | None = None
    repo_url: str | None = None
    limit: str | None = None
    forks: int | None = None


def run_action(action: str, inputs: Inputs) -> FleetRun:
    """Run ``action`` on the fleet; a FleetError before any node is touched when an input is wrong."""
    if action not in ACTIONS:
        raise FleetError(f"unknown action {action!r} (one of {', '.join(ACTIONS)})")
    if inputs.forks is not None and inputs.forks < 1:
        raise FleetError(f"--forks {inputs.forks}: must be at least 1")
    ansible.check_version()
    if inputs.project is not None:
        if not (inputs.project / MARKER).is_file():
            raise FleetError(f"{inputs.project}: not a project netnsfix fleet export wrote")
        if not inputs.inventory.is_file():
            raise FleetError(f"{inputs.inventory}: inventory missing")
        # the nodes export wrote settings for; ansible-playbook parses the inventory before any node is
        # contacted (unparsed is failed), and a host without settings fails the role's argument specs
        nodes = tuple(sorted(path.stem for path in (inputs.project / "host_vars").glob("*.yml")))
        return _run(action, inputs, inputs.project, nodes)
    if inputs.repo is None:
        raise FleetError("give --project DIR (from netnsfix fleet export) or --repo DIR (a published repository)")
    # imported only here: a run of an exported project needs none of the export's reading (a third of a second)
    import tempfile

    from netnsfix.fleet.export import export_project
    from netnsfix.fleet.package import read_package
    from netnsfix.fleet.site import load_fleet

    fleet = load_fleet(inputs.inventory, inputs.site)
    package = read_package(inputs.repo, repo_url=inputs.repo_url)
    with tempfile.TemporaryDirectory(prefix="netnsfix-fleet-") as scratch:
        project = Path(scratch) / "project"
        export_project(fleet, package, project, inputs.repo)
        return _run(action, inputs, project, tuple(n.name for n in fleet.nodes))


def _run(action: str, inputs: Inputs, project: Path, nodes: tuple[str, ...]) -> FleetRun:
    playbook, check = ACTIONS[action]
    done = ansible.playbook(
        project,
        playbook,
        inputs.inventory.resolve(),
        check=check,
        diff=check,
        limit=inputs.limit,
        forks=inputs.forks,
    )
    wanted = nodes if not inputs.limit else ()
    results = read_results(done.document, wanted)
    if not results:
        raise FleetError(f"ansible-playbook {playbook}: no node ran (--limit {inputs.limit or 'none'})")
    return FleetRun(action, results, done.seconds, project)
