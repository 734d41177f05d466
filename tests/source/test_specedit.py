"""specedit: Patch/%patch, a newer Release and a changelog entry, proven by rpmbuild -bp."""

from __future__ import annotations

import datetime
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import rpm

from netnsfix.errors import SpecError
from netnsfix.source.specedit import SpecChange, add_patch

PATCH = "iproute-3.6.0-netns-keep-sys.patch"
TEXT = "Do not remount /sys in ip netns exec (#882047)"
DAY = datetime.date(2012, 12, 3)


def edit(spec: Path, **overrides) -> SpecChange:
    arguments = dict(
        release_suffix=".netnsfix1", bug=882047, author="netnsfix <netnsfix@localhost>", text=TEXT, day=DAY
    )
    arguments.update(overrides)
    patch_name = arguments.pop("patch_name", PATCH)
    return add_patch(spec, patch_name, **arguments)


@pytest.fixture
def demo_spec(project_root: Path, tmp_path: Path) -> Path:
    spec = tmp_path / "iproute.spec"
    shutil.copy(project_root / "src" / "netnsfix" / "demo" / "iproute.spec", spec)
    return spec


def test_fedora_18_shape(demo_spec: Path) -> None:
    change = edit(demo_spec)
    assert change == SpecChange(
        spec=demo_spec,
        patch_number=1,
        patch_line=f"Patch1:         {PATCH}",
        prep_line="%patch1 -p1",
        old_release="2%{?dist}",
        new_release="2.netnsfix1%{?dist}",
        old_evr="3.6.0-2",
        new_evr="3.6.0-2.netnsfix1",
    )
    text = demo_spec.read_text()
    assert f"Patch0:         iproute2-3.6.0-demo-version.patch\nPatch1:         {PATCH}\n" in text
    assert "%setup -q -n iproute2-%{version}\n%patch0 -p1\n%patch1 -p1\n" in text
    assert "Release:        2.netnsfix1%{?dist}\n" in text
    assert (
        "%changelog\n* Mon Dec 03 2012 netnsfix <netnsfix@localhost> - 3.6.0-2.netnsfix1\n"
        f"- {TEXT}\n\n* Wed Oct 03 2012 Demo Packager" in text
    )
    assert rpm.labelCompare((None, "3.6.0", "2.fc18"), (None, "3.6.0", "2.netnsfix1.fc18")) < 0


def test_changelog_names_the_bug_and_has_no_time_of_day(demo_spec: Path) -> None:
    edit(demo_spec, text="Keep /sys", day=datetime.datetime(2012, 12, 3, 11, 48, 33))
    assert (
        "* Mon Dec 03 2012 netnsfix <netnsfix@localhost> - 3.6.0-2.netnsfix1\n- Keep /sys (#882047)\n"
        in demo_spec.read_text()
    )


def test_rpmbuild_bp_applies_both_patches_at_fuzz_0(
    demo_spec: Path, demo_tree: Path, project_root: Path, tmp_path: Path, need_tool
) -> None:
    need_tool("rpmbuild", "patch")
    top = tmp_path / "rpmbuild"
    sources = top / "SOURCES"
    sources.mkdir(parents=True)
    with tarfile.open(sources / "iproute2-3.6.0.tar.gz", "w:gz") as archive:
        archive.add(demo_tree, arcname="iproute2-3.6.0")
    shutil.copy(demo_tree.parent / "iproute2-3.6.0-demo-version.patch", sources)
    shutil.copy(project_root / "patches" / PATCH, sources)
    edit(demo_spec)
    result = subprocess.run(
        [
            "rpmbuild",
            "-bp",
            "--nodeps",
            "--define",
            f"_topdir {top}",
            "--define",
            "_default_patch_fuzz 0",
            str(demo_spec),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert f"Patch #1 ({PATCH})" in result.stdout
    assert "--fuzz=0" in result.stdout + result.stderr
    prepared = top / "BUILD" / "iproute2-3.6.0"
    assert "netnsfix demo, Fedora build" in (prepared / "ip" / "ip.c").read_text()
    lines = (prepared / "ip" / "ipnetns.c").read_text().splitlines()
    assert lines[155] == "/*" and lines[156] == '\tif (umount2("/sys", MNT_DETACH) < 0) {'
    assert lines[164] == "*/"


AUTOSETUP = """\
Name:           hello
Version:        1.0
Release:        3%{?dist}
Summary:        A test package
License:        MIT
Source0:        hello-%{version}.tar.gz
Patch0:         first.patch

%description
Says hello.

%prep
%autosetup -p1

%build

%changelog
* Sat Dec 01 2012 Someone <someone@example.invalid> - 1.0-3
- Rebuilt
"""


def test_autosetup_shape_adds_only_the_tag(tmp_path: Path) -> None:
    spec = tmp_path / "hello.spec"
    spec.write_text(AUTOSETUP)
    change = edit(spec, release_suffix=".nf1")
    assert change.prep_line is None and change.patch_number == 1
    text = spec.read_text()
    assert f"Patch0:         first.patch\nPatch1:         {PATCH}\n" in text
    assert "%prep\n%autosetup -p1\n\n%build" in text
    assert change.new_release == "3.nf1%{?dist}" and change.new_evr == "1.0-3.nf1"
    assert "* Mon Dec 03 2012 netnsfix <netnsfix@localhost> - 1.0-3.nf1\n" in text


def test_autopatch_and_the_patch_P_style(tmp_path: Path) -> None:
    spec = tmp_path / "hello.spec"
    spec.write_text(AUTOSETUP.replace("%autosetup -p1", "%autosetup -N\n%autopatch -p1"))
    assert edit(spec).prep_line is None
    spec.write_text(AUTOSETUP.replace("%autosetup -p1", "%setup -q\n%patch -P 0 -p1"))
    change = edit(spec)
    assert change.prep_line == "%patch -P 1 -p1"
    assert "%patch -P 0 -p1\n%patch -P 1 -p1\n" in spec.read_text()


def test_no_patches_yet_goes_after_setup(tmp_path: Path) -> None:
    spec = tmp_path / "hello.spec"
    spec.write_text(AUTOSETUP.replace("Patch0:         first.patch\n", "").replace("%autosetup -p1", "%setup -q"))
    change = edit(spec)
    assert change.patch_number == 0 and change.prep_line == "%patch0 -p1"
    assert "%setup -q\n%patch0 -p1\n" in spec.read_text()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.replace("%prep\n%autosetup -p1\n", ""), "has no %prep section"),
        (lambda s: s.replace("Release:        3%{?dist}\n", ""), "has no Release tag"),
        (
            lambda s: s.replace("%autosetup -p1", "tar xf %{SOURCE0}"),
            "%prep has neither %setup/%autosetup nor %patch lines",
        ),
        (
            lambda s: s.replace("%autosetup -p1", "%autosetup"),
            "%autosetup applies patches with -p0; this patch needs -p1",
        ),
        (lambda s: s.replace("first.patch", PATCH), f"already has {PATCH} (Patch0)"),
        (lambda s: s.replace("3%{?dist}", "%autorelease"), "Release uses %autorelease"),
        (lambda s: "%if 1\n" + s, "rpm cannot parse the spec"),
    ],
    ids=["no-prep", "no-release", "unknown-prep", "autosetup-p0", "already-there", "autorelease", "unparsable"],
)
def test_shapes_it_does_not_understand_are_errors_and_nothing_is_written(tmp_path: Path, change, message: str) -> None:
    spec = tmp_path / "hello.spec"
    spec.write_text(change(AUTOSETUP))
    before = spec.read_bytes()
    with pytest.raises(SpecError) as caught:
        edit(spec)
    assert str(caught.value).startswith(f"{spec}: ") and message in str(caught.value)
    assert spec.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["hello.spec"]


def test_a_suffix_that_sorts_older_is_refused(demo_spec: Path) -> None:
    before = demo_spec.read_bytes()
    with pytest.raises(SpecError, match=r"gives 3\.6\.0-2~rc1, which rpm does not sort newer than 3\.6\.0-2"):
        edit(demo_spec, release_suffix="~rc1")
    assert demo_spec.read_bytes() == before


def test_a_missing_spec(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such spec file"):
        edit(tmp_path / "absent.spec")


def test_the_spec_keeps_its_mode(demo_spec: Path) -> None:
    demo_spec.chmod(0o640)
    edit(demo_spec)
    assert demo_spec.stat().st_mode & 0o777 == 0o640


def test_source0_is_the_tarball_beside_the_spec(demo_spec: Path, tmp_path: Path) -> None:
    from netnsfix.source.specedit import source0

    assert source0(demo_spec) == demo_spec.parent / "iproute2-3.6.0.tar.gz"
    spec = tmp_path / "none.spec"
    spec.write_text(
        AUTOSETUP.replace("Source0:        hello-%{version}.tar.gz\n", "").replace("%autosetup -p1", "true")
    )
    with pytest.raises(SpecError, match="has no Source tag"):
        source0(spec)


def test_recipe_text_is_escaped_for_rpm_and_one_line(demo_spec: Path) -> None:
    """%-macros in the changelog text and author become %% (rpm reads one literal %); a value that
    cannot stand on one spec line, a trailing newline or a patch name with a macro is refused."""
    before = demo_spec.read_bytes()
    for overrides, message in (
        ({"text": "x\n%post\ntouch /tmp/pwned"}, r"changelog text .* holds the control character '\\n'"),
        ({"author": "a <a@b>\n"}, r"changelog author .* holds the control character '\\n'"),
        ({"release_suffix": ".netnsfix1\n"}, r"release suffix '\.netnsfix1\\n' may only hold"),
        ({"patch_name": "x%{lua:os.exit()}.patch"}, r"patch name 'x%\{lua:os\.exit\(\)\}\.patch' must be a plain"),
    ):
        with pytest.raises(SpecError, match=message):
            edit(demo_spec, **overrides)
        assert demo_spec.read_bytes() == before
    edit(demo_spec, text="100% %{lua: os.exit()} %(id)", author="M %(id) <m@x>")
    text = demo_spec.read_text()
    assert "* Mon Dec 03 2012 M %%(id) <m@x> - 3.6.0-2.netnsfix1\n" in text
    assert "- 100%% %%{lua: os.exit()} %%(id) (#882047)\n" in text
