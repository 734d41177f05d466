"""The build root's tag is a function of what goes in, and nothing else."""

from __future__ import annotations

from dataclasses import replace

from netnsfix.archive.repodata import Package
from netnsfix.build.image import container_files, image_key, image_tag


def pkg(name: str, checksum: str) -> Package:
    return Package(name, "x86_64", 0, "1.0", "1.fc18", "sha256", checksum, f"Packages/{name}.rpm", 10)


def test_same_inputs_same_tag_and_order_does_not_matter():
    files = container_files()
    a = image_key([pkg("bash", "aa"), pkg("gcc", "bb")], files)
    b = image_key([pkg("gcc", "bb"), pkg("bash", "aa")], files)
    assert a == b and image_tag(a).startswith("netnsfix/buildroot:") and len(image_tag(a).split(":")[1]) == 16


def test_a_changed_package_or_container_file_gives_a_new_tag():
    files = container_files()
    base = image_key([pkg("bash", "aa")], files)
    assert image_key([pkg("bash", "ab")], files) != base
    assert image_key([replace(pkg("bash", "aa"), release="2.fc18")], files) != base
    changed = dict(files, **{"bootstrap.sh": files["bootstrap.sh"] + b"\n# changed\n"})
    assert image_key([pkg("bash", "aa")], changed) != base
    assert image_key([pkg("bash", "aa")], files, dist=".fc19") != base
