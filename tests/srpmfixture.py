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

# Fedora 18's iproute.spec BuildRequires, as issue 11 quotes them from the real
# iproute-3.6.0 Fedora 18 SRPM's spec: none of them is in the demo archive.
F18_IPROUTE_BUILDREQUIRES = (
    "tex(latex)",
    "linuxdoc-tools",
    "flex",
    "bison",
    "psutils",
    "db4-devel",
    "libnl-devel",
    "iptables-devel",
    "libatm-devel",
)


def make_patched_srpm(
    work: Path,
    *,
    broken: bool = False,
    dist: str = ".fc18",
    build_requires: tuple[str, ...] = (),
    dated: bool = False,
    slow_build: int = 0,
) -> Path:
    """``build_requires``: more BuildRequires lines; ``dated``: %install writes the build's clock
    (``date``) into a packaged file, so no two builds agree; ``slow_build``: %build also compiles
    that many generated C files (real work: about 4 s for 160 on this machine's cores)."""
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
    for name in build_requires:
        spec = spec.replace("BuildRequires:  make\n", f"BuildRequires:  make\nBuildRequires:  {name}\n", 1)
    if dated:
        spec = spec.replace(
            "%install\n",
            "%install\nmkdir -p %{buildroot}%{_datadir}/iproute-demo\n"
            "date +%s.%N > %{buildroot}%{_datadir}/iproute-demo/built-at\n",
        )
        spec = spec.replace("%{_sbindir}/ip\n", "%{_sbindir}/ip\n%{_datadir}/iproute-demo\n")
    if slow_build:
        spec = spec.replace("%build\n", "%build\n" + _SLOW_BUILD.replace("COUNT", str(slow_build)), 1)
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


# %build steps that generate COUNT C files of arithmetic and compile each at -O2: real compiler work.
_SLOW_BUILD = """mkdir -p slow && cd slow
for i in $(seq 1 COUNT); do
  { echo "int f$i(int x) {"; for j in $(seq 1 120); do echo "  x = (x * $j + $i) ^ (x >> 3);"; done
    echo "  return x; }"; } > f$i.c
done
for f in f*.c; do gcc -O2 -c "$f"; done
cd ..
"""
