"""Commands `publish` (a build folder into a yum repository) and `serve` (a folder over HTTP)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from netnsfix.cli.options import port_argument
from netnsfix.errors import NetnsfixError
from netnsfix.publish import repofile
from netnsfix.publish.repository import publish
from netnsfix.util.httpserve import make_server, serve_until_stopped


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "publish",
        help="publish a build folder's RPMs and SRPM into a yum repository",
        description="Check OUTDIR's RPMs against its manifest.json, copy them into the yum repository "
        "DIR (created when missing) and write its repodata (gzip + sqlite: yum 3.4 and dnf).",
    )
    parser.add_argument(
        "outdir", type=Path, metavar="OUTDIR", help="a build folder, DIR/RECIPE/build, with manifest.json"
    )
    parser.add_argument("--repo", type=Path, required=True, metavar="DIR", help="the repository folder")
    signing = parser.add_mutually_exclusive_group()
    signing.add_argument(
        "--sign",
        metavar="KEYID",
        help="sign packages and repomd.xml with this GnuPG key (GNUPGHOME is honoured); by default "
        "netnsfix signs with a key of its own, made on first use and kept in the cache (publish-key/)",
    )
    signing.add_argument(
        "--no-sign",
        action="store_true",
        help="publish unsigned packages (netnsfix.repo then says gpgcheck=0: hosts check nothing but MD5)",
    )
    parser.add_argument(
        "--replace",
        action="store_true",
        help="replace a package already published under the same NEVRA with a different file",
    )
    parser.add_argument(
        "--baseurl",
        metavar="URL",
        help="the URL hosts reach DIR at, for netnsfix.repo (default: the one it has, else file://DIR)",
    )
    parser.set_defaults(handler=_publish)

    serve = subparsers.add_parser("serve", help="serve a repository folder over HTTP (Ctrl-C or SIGTERM stops)")
    serve.add_argument("dir", type=Path, metavar="DIR", help="the folder to serve (a repository made by publish)")
    serve.add_argument(
        "--bind", metavar="ADDRESS", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    port_argument(serve)
    serve.set_defaults(handler=_serve)


def _publish(args: argparse.Namespace) -> int:
    from netnsfix.pipeline import build_folder_hint

    hint = build_folder_hint(args.outdir)
    if hint is not None:
        raise NetnsfixError(hint)
    result = publish(
        args.outdir,
        args.repo,
        sign_key=args.sign,
        own_key=not args.no_sign,
        replace=args.replace,
        baseurl=args.baseurl,
    )
    for label, items in (("added", result.added), ("replaced", result.replaced), ("unchanged", result.unchanged)):
        for item in items:
            print(f"{label:9} {item}")
    if not result.repodata_written:
        print(f"{result.repo}: nothing changed")
    print(f"repository: {result.repo.resolve()}  ({result.repo_file})")
    if result.key_file:
        print(f"signed; public key: {result.key_file} (netnsfix.repo: gpgcheck=1, gpgkey= names it)")
    else:
        print("unsigned (--no-sign): netnsfix.repo says gpgcheck=0", file=sys.stderr)
    print(repofile.usage(result.repo, result.baseurl))
    return 0


def _serve(args: argparse.Namespace) -> int:
    if not args.dir.is_dir():
        raise NetnsfixError(f"{args.dir}: no such folder")
    server = make_server(args.dir, args.bind, args.port, quiet=False)
    host, port = str(server.server_address[0]), server.server_address[1]
    shown = f"[{host}]" if ":" in host else host
    print(f"serving {args.dir.resolve()} at http://{shown}:{port}/  (Ctrl-C stops)", flush=True)
    if (args.dir / repofile.REPO_FILE).is_file():
        print(
            f"  hosts: curl -o /etc/yum.repos.d/{repofile.REPO_FILE} http://{shown}:{port}/{repofile.REPO_FILE}"
            f"  (publish with --baseurl http://{shown}:{port} so its baseurl points here)",
            flush=True,
        )
    stopped_by = serve_until_stopped(server)
    print(f"stopped ({stopped_by})", flush=True)
    return 0
