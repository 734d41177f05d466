"""A patched iproute SRPM made from the project's demo tree, as the source pipeline's srpm stage would.

The demo spec gets the shipped patch as Patch1/%patch1 -p1 and a release
suffix; ``broken=True`` makes a spec whose %build fails.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "src" / "netnsfix" / "demo"
PATCH = ROOT / "patches" / "iproute-3.6.0-netns-keep-sys.patch"


def make_patched_srpm(work: Path, *, broken: bool = False, dist: str = ".fc18") -> Path:
    top = work / "rpmbuild"
    sources = top / "SOURCES"
    sources.mkdir(parents=True, exist_ok=True)
    with tarfile.open(sources / "iproute2-3.6.0.tar.gz", "w:gz") as tar:
        tar.add(DEMO / "iproute2-3.6.0", arcname="iproute2-3.6.0")
    shutil.copy2(DEMO / "iproute2-3.6.0-demo-version.patch", sources)
    shutil.copy2(PATCH, sources / PATCH.name)
    spec = (DEMO / "iproute.spec").read_text()
    spec = re.sub(r"^(Patch0:.*)$", rf"\1\nPatch1:         {PATCH.name}", spec, flags=re.M)
    spec = re.sub(r"^(%patch0 -p1)$", r"\1\n%patch1 -p1", spec, flags=re.M)
    spec = re.sub(r"^Release:\s*2%\{\?dist\}", "Release:        2.netnsfix1%{?dist}", spec, flags=re.M)
    if broken:
        spec = spec.replace("%build\n", "%build\necho 'netnsfix test: this build fails on purpose' >&2\nexit 3\n")
    spec_path = top / "SPECS" / "iproute.spec"
    spec_path.parent.mkdir(parents=True, exist_ok=True)
    spec_path.write_text(spec)
    subprocess.run(
        ["rpmbuild", "-bs", "--define", f"_topdir {top}", "--define", f"dist {dist}", str(spec_path)],
        check=True,
        capture_output=True,
    )
    (found,) = (top / "SRPMS").glob("iproute-3.6.0-*.src.rpm")
    return found
