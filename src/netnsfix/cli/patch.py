"""Commands for patches: import a diff pasted from notes, check a patch at fuzz 0."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from netnsfix.cli import Exit
from netnsfix.errors import PatchError
from netnsfix.source.diffimport import import_pasted
from netnsfix.source.patching import PatchReport, check_patch, source_tree
from netnsfix.util.fsutil import atomic_write_text


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("patch", help="import a pasted diff, or check a patch against the sources")
    commands = group.add_subparsers(dest="patch_command", metavar="SUBCOMMAND")
    group.set_defaults(handler=lambda args: _usage(group))

    imported = commands.add_parser(
        "import",
        help="turn a diff pasted from notes into a patch that patch -p1 and rpmbuild apply",
        description="Normalize a pasted diff (prose, '# diff' lines, .orig/.new names, timestamps, "
        "blank context lines, CRLF) and check it against the sources at fuzz 0.",
    )
    imported.add_argument("file", type=Path, metavar="FILE", help="text holding the pasted diff")
    imported.add_argument(
        "--source",
        type=Path,
        required=True,
        metavar="TREE_OR_TARBALL",
        help="the source folder or tarball the patch is for",
    )
    imported.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write the patch here (atomically); default: standard output"
    )
    imported.set_defaults(handler=_import)

    checked = commands.add_parser(
        "check",
        help="check every hunk of a patch against the sources at fuzz 0 and report where it lands",
    )
    checked.add_argument("patch", type=Path, metavar="PATCH", help="the patch file to check")
    checked.add_argument(
        "--source",
        type=Path,
        required=True,
        metavar="TREE_OR_TARBALL",
        help="the source folder or tarball the patch is for",
    )
    checked.add_argument(
        "-p",
        "--strip",
        type=int,
        default=1,
        metavar="N",
        help="leading path components to strip, as patch -pN (default: 1)",
    )
    checked.set_defaults(handler=_check)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return Exit.ERROR


def _import(args: argparse.Namespace) -> int:
    if args.output is not None and args.output.is_dir():
        raise PatchError(f"-o {args.output}: is a folder; name the patch file to write")
    result = import_pasted(args.file, args.source)
    # The patch goes to standard output unless -o is given; the report then goes to stderr.
    out: TextIO = sys.stdout if args.output else sys.stderr
    if result.changes:
        print(f"{args.file}: normalized the pasted diff for {result.path_in_tree}:", file=out)
        for change in result.changes:
            print(f"  - {change}", file=out)
    else:
        print(f"{args.file}: already a clean patch for {result.path_in_tree}", file=out)
    _print_report(result.report, out)
    if args.output:
        try:
            atomic_write_text(args.output, result.text)
        except OSError as error:
            raise PatchError(f"-o {args.output}: cannot write: {error.strerror or error}") from error
        print(f"wrote {args.output}", file=out)
    else:
        sys.stdout.write(result.text)
    return 0


def _check(args: argparse.Namespace) -> int:
    with source_tree(args.source) as tree:
        report = check_patch(args.patch, tree, args.strip)
    _print_report(report, sys.stdout)
    return 0


def _print_report(report: PatchReport, out: TextIO) -> None:
    hunks = len(report.hunks)
    moved = sum(1 for hunk in report.hunks if hunk.offset)
    print(
        f"{report.patch}: {hunks} hunk{'s match' if hunks != 1 else ' matches'} at fuzz 0 (-p{report.strip})"
        + (f", {moved} at an offset" if moved else ""),
        file=out,
    )
    for hunk in report.hunks:
        offset = f"{hunk.offset:+d}" if hunk.offset else "0"
        print(f"  {hunk.file}  hunk {hunk.hunk}  {hunk.header}  line {hunk.found_line}  offset {offset}", file=out)
