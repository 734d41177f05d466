"""``netnsfix demo``: the main job, the whole pipeline against a local archive."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from netnsfix.cli.options import FORCE_HELP, gpgcheck_arguments, gpgcheck_of, recipe_argument
from netnsfix.fleet.run import FleetRun
from netnsfix.recipe import find_recipe


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the whole pipeline against a demo archive served on 127.0.0.1",
        description="Make a demo archive with the Fedora 18 archive's layout, serve it on 127.0.0.1, and run "
        "every stage against it: resolve, fetch, patch, SRPM, build root, rebuild (network off), publish, "
        "dnf install, and the harness on the installed ip and on an unpatched 3.6.0-like ip (plus Bug 881741's "
        "privatetmp check with the installed ip: the quantum-like unit as packaged, and with the step's drop-in).",
    )
    recipe_argument(parser)
    parser.add_argument(
        "--workdir",
        metavar="DIR",
        type=Path,
        default=Path("demo-out"),
        help="where everything goes (default: ./demo-out)",
    )
    parser.add_argument("--force", action="store_true", help=FORCE_HELP)
    parser.add_argument(
        "--show-build-log", action="store_true", help="print rpmbuild's log as it runs (it always goes to build.log)"
    )
    parser.add_argument(
        "--fleet",
        action="store_true",
        help="then roll the published repository out to two booted nodes (network, compute) with netnsfix fleet: "
        "plan, apply, plan, verify (minutes; needs netnsfix[fleet])",
    )
    gpgcheck_arguments(parser, keys=False)  # the demo trusts its own archive's key
    parser.set_defaults(handler=_demo)


def _say(text: str) -> None:
    print(text, flush=True)


def _demo(args: argparse.Namespace) -> int:
    from netnsfix.archive.fetch import Fetcher
    from netnsfix.cli import log_to_stderr
    from netnsfix.cli.fleet import table
    from netnsfix.cli.source import progress_for
    from netnsfix.cli.verify import privatetmp_step_files
    from netnsfix.demo.run import run_demo

    log_to_stderr(args.verbose)  # the fetcher and the build image log, imported just now
    recipe = find_recipe(args.recipe)
    # off says so loudly; else None: the demo archive's own key (made by the demo itself)
    gpgcheck = gpgcheck_of(args, recipe) if args.no_gpgcheck else None
    log_sink = (lambda line: print(f"   | {line}", flush=True)) if args.show_build_log else (lambda _: None)
    result = run_demo(
        recipe,
        args.workdir.resolve(),
        fetcher=Fetcher(progress=progress_for(sys.stderr)),
        force=args.force,
        privatetmp_dropin=privatetmp_step_files(),
        notify=_say,
        log_sink=log_sink,
        gpgcheck=gpgcheck,
        fleet=args.fleet,
        fleet_shown=lambda done: print(f"\n$ netnsfix fleet {done.action}\n{table(done)}\n", flush=True),
    )
    print()
    print(f"recipe      {recipe.name}: {recipe.description}")
    print(f"archive     {result.mirror} (served from {result.workdir / 'archive'} while the demo ran)")
    print(f"srpm        {result.srpm.srpm}")
    for rpm in result.build.rpms:
        print(f"rpm         {rpm}")
    print(f"build log   {result.build.log}")
    print(f"repository  {result.published.repo} (yum/dnf: {result.published.repo / 'netnsfix.repo'})")
    print(
        f"installed   {', '.join(n for n in result.installed.packages if n.startswith(recipe.package + '-'))} "
        f"into {result.installed.root}"
    )
    for label, verdict in (
        (f"fixed ip    {result.fixed.ip}", result.fixed),
        (f"3.6.0 ip    {result.unpatched.ip}", result.unpatched),
    ):
        checks = ", ".join(f"{c.name} {c.status}" for c in verdict.checks)
        print(f"{label}: {checks}")
    view = result.fixed.check("view") if any(c.name == "view" for c in result.fixed.checks) else None
    if view is not None:
        print(f"view        {view.summary}")
    if result.privatetmp_packaged is not None and result.privatetmp_dropin is not None:
        packaged, dropin = result.privatetmp_packaged.checks[0], result.privatetmp_dropin.checks[0]
        print(
            f"privatetmp  Bug 881741, quantum-like unit: as packaged {packaged.status}"
            f"{' (caught)' if result.privatetmp_packaged.bug_reproduced else ''}, "
            f"with the step's file {dropin.status} ({packaged.seconds + dropin.seconds:.1f} s)"
        )
    if result.fleet is not None:
        runs = " -> ".join(f"{run.action} {_outcome(run)}" for run in result.fleet.runs)
        print(f"fleet       {', '.join(result.fleet.nodes)}: {runs} ({result.fleet.seconds:.1f} s)")
        print(f"project     {result.fleet.project} (the Ansible project netnsfix fleet export wrote)")
    print("stages      " + ", ".join(f"{s.name} {s.seconds:.1f} s" for s in result.stages))
    print("proof       the built ip keeps /sys/fs/cgroup and systemd working; the unpatched 3.6.0 ip breaks them")
    return 0


def _outcome(run: FleetRun) -> str:
    """A fleet run in a word or two, as its exit code would say it."""
    if run.action == "plan":
        return "would change (exit 1)" if run.any_changed else "up to date (exit 0)"
    return "passed" if run.action == "verify" else "changed" if run.any_changed else "ok"
