"""Prove a published repository installs: the real dnf, in a private installroot.

Everything dnf reads or writes (config, reposdir, cache, logs, rpmdb) lives
under one work folder, so the host's own dnf state is never touched. Used by
the tests and by ``netnsfix demo`` after it publishes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from netnsfix.errors import CommandError
from netnsfix.publish.repofile import REPO_FILE
from netnsfix.util.command import CommandResult, run


@dataclass(frozen=True)
class Installed:
    """What an install from the repository left in the private root."""

    root: Path
    packages: tuple[str, ...]  # NEVRAs in the root's rpmdb


def run_dnf(
    base: Path, *args: str, repo_text: str | None = None, releasever: str = "18", timeout: float = 300
) -> CommandResult:
    """Run dnf with config, reposdir, cachedir and installroot under BASE; ``repo_text`` is the .repo file."""
    reposdir, cachedir, root = base / "repos", base / "cache", base / "root"
    for folder in (reposdir, cachedir, root):
        folder.mkdir(parents=True, exist_ok=True)
    config = base / "dnf.conf"
    config.write_text(
        f"[main]\ncachedir={cachedir}\nreposdir={reposdir}\nkeepcache=0\ninstall_weak_deps=0\n"
        f"logdir={base / 'log'}\npersistdir={base / 'persist'}\n"
    )
    if repo_text is not None:
        (reposdir / REPO_FILE).write_text(repo_text)
    argv = (
        "dnf",
        "-c",
        str(config),
        "--installroot",
        str(root),
        f"--setopt=reposdir={reposdir}",
        f"--setopt=cachedir={cachedir}",
        f"--releasever={releasever}",
        "--disableplugin=*",
        "-y",
        *args,
    )
    try:
        return run(argv, timeout=timeout, check=False)
    finally:
        stop_keyring_agents(cachedir)


def stop_keyring_agents(cachedir: Path) -> None:
    """dnf checks a repository's gpgkey with gpgme in a keyring of its own (CACHEDIR/REPO-HASH/pubring),
    which starts a gpg-agent there that outlives dnf: stop it, as gpg offers (``gpgconf --kill all``)."""
    for home in sorted(cachedir.glob("*/pubring")):
        run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)


def install_from(repo: Path, packages: Sequence[str], base: Path, dependencies: Sequence[str] = ()) -> Installed:
    """Install PACKAGES from REPO (through its netnsfix.repo, gpgcheck as published) into BASE/root.

    ``dependencies``: base URLs of repositories that hold what the packages require (for
    the demo, its Fedora-18-like archive), since the private root starts empty.
    """
    repo_text = (repo / REPO_FILE).read_text(encoding="utf-8")
    for index, url in enumerate(dependencies):
        repo_text += f"\n[deps{index}]\nname=dependencies {index}\nbaseurl={url}\nenabled=1\ngpgcheck=0\n"
    done = run_dnf(base, "install", *packages, repo_text=repo_text)
    if done.returncode != 0:
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        raise CommandError(
            f"dnf install {' '.join(packages)} from {repo} failed: {lines[-1] if lines else done.returncode}"
        )
    query = run(["rpm", "--root", str(base / "root"), "-qa", "--qf", "%{NEVRA}\\n"], check=False)
    return Installed(root=base / "root", packages=tuple(sorted(query.stdout.split())))
