"""Manifest reuse: a stage keeps its outputs only when the manifest matches its inputs and every output is intact.

Each reason to refuse reuse has a test where reuse is refused, for the decision
itself (``reusable``) and for the two stages that ask it (srpm, build).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from srpmfixture import make_patched_srpm

from netnsfix.build.image import BuildImage, PlannedImage
from netnsfix.build.rebuild import up_to_date
from netnsfix.errors import ManifestError, NetnsfixError
from netnsfix.manifest import MANIFEST_NAME, FileRecord, Manifest, read_manifest, reusable

SHA_A = hashlib.sha256(b"input a").hexdigest()
SHA_B = hashlib.sha256(b"input b").hexdigest()
INPUTS = (
    FileRecord(path="http://127.0.0.1:1234/a.src.rpm", sha256=SHA_A, size=7, kind="srpm"),
    FileRecord(path="/somewhere/fix.patch", sha256=SHA_B, size=7, kind="patch"),
)


def _stage_folder(folder: Path, stage: str = "srpm", recipe: str = "r", extra: dict | None = None) -> Path:
    """An output folder as a stage leaves it: two outputs and the manifest that records them."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "out.src.rpm").write_bytes(b"the made SRPM")
    (folder / "build.log").write_text("a log\n")
    Manifest(
        stage=stage,
        recipe=recipe,
        inputs=INPUTS,
        outputs=(
            FileRecord.of(folder / "out.src.rpm", "out.src.rpm", "srpm"),
            FileRecord.of(folder / "build.log", "build.log", "log"),
        ),
        extra=extra or {},
    ).write(folder)
    return folder


def test_matching_inputs_and_intact_outputs_are_reused(tmp_path: Path) -> None:
    folder = _stage_folder(tmp_path / "out", extra={"image_tag": "t"})
    # Only kind and sha256 identify an input: another mirror (URL) or folder is the same input.
    moved = tuple(FileRecord(path=f"elsewhere/{i.path}", sha256=i.sha256, size=i.size, kind=i.kind) for i in INPUTS)
    reuse = reusable(folder, "srpm", moved, recipe="r", extra={"image_tag": "t"}, needs=("srpm",))
    assert reuse and reuse.manifest is not None and reuse.reason == ""
    assert [r.path for r in reuse.manifest.outputs] == ["out.src.rpm", "build.log"]


def test_a_changed_input_sha256_is_not_reused(tmp_path: Path) -> None:
    folder = _stage_folder(tmp_path / "out")
    changed = (INPUTS[0], FileRecord(path=INPUTS[1].path, sha256=SHA_A, size=7, kind="patch"))
    reuse = reusable(folder, "srpm", changed)
    assert not reuse and reuse.manifest is None
    assert "input patch /somewhere/fix.patch changed" in reuse.reason


def test_another_number_of_inputs_is_not_reused(tmp_path: Path) -> None:
    folder = _stage_folder(tmp_path / "out")
    reuse = reusable(folder, "srpm", INPUTS[:1])
    assert not reuse and "1 inputs now, 2 then" in reuse.reason


def test_a_missing_output_is_not_reused(tmp_path: Path) -> None:
    folder = _stage_folder(tmp_path / "out")
    (folder / "build.log").unlink()
    reuse = reusable(folder, "srpm", INPUTS)
    assert not reuse and reuse.reason == f"output {folder / 'build.log'} is missing"


def test_altered_output_bytes_are_not_reused(tmp_path: Path) -> None:
    folder = _stage_folder(tmp_path / "out")
    data = (folder / "out.src.rpm").read_bytes()
    (folder / "out.src.rpm").write_bytes(data.upper())  # same size, other bytes: only the sha256 tells
    reuse = reusable(folder, "srpm", INPUTS)
    assert not reuse and "out.src.rpm is not the file the manifest records" in reuse.reason


def test_an_output_of_another_size_is_not_reused(tmp_path: Path) -> None:
    folder = _stage_folder(tmp_path / "out")
    with open(folder / "build.log", "a") as log:
        log.write("appended\n")
    assert not reusable(folder, "srpm", INPUTS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "not a netnsfix manifest"),
        ('{"stage": "srpm"}', "not a netnsfix manifest"),
        ('{"stage": "srpm", "recipe": "r", "inputs": [{"path": 1}], "outputs": []}', "not a netnsfix manifest"),
        ("[1, 2]", "not a netnsfix manifest"),
    ],
)
def test_an_unreadable_manifest_is_not_reused_and_reads_as_a_manifest_error(
    tmp_path: Path, text: str, expected: str
) -> None:
    folder = _stage_folder(tmp_path / "out")
    (folder / MANIFEST_NAME).write_text(text)
    reuse = reusable(folder, "srpm", INPUTS)
    assert not reuse and reuse.reason.startswith(f"{folder / MANIFEST_NAME}: {expected}")
    with pytest.raises(ManifestError, match=expected) as raised:
        read_manifest(folder)
    assert isinstance(raised.value, NetnsfixError) and "\n" not in str(raised.value)


def test_no_manifest_and_a_folder_in_its_place_are_not_reused(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    reuse = reusable(empty, "srpm", INPUTS)
    assert not reuse and "no manifest" in reuse.reason
    (empty / MANIFEST_NAME).mkdir()
    reuse = reusable(empty, "srpm", INPUTS)
    assert not reuse and "cannot read the manifest" in reuse.reason


def test_another_stage_recipe_or_extra_is_not_reused(tmp_path: Path) -> None:
    folder = _stage_folder(tmp_path / "out", stage="build", recipe="r", extra={"image_id": "sha256:1"})
    assert "'build' stage's, not 'srpm'" in reusable(folder, "srpm", INPUTS).reason
    assert "recipe 'r'" in reusable(folder, "build", INPUTS, recipe="other").reason
    assert "image_id is 'sha256:2' now" in reusable(folder, "build", INPUTS, extra={"image_id": "sha256:2"}).reason
    assert "no rpm output" in reusable(folder, "build", INPUTS, needs=("rpm",)).reason
    assert reusable(folder, "build", INPUTS, recipe="r", extra={"image_id": "sha256:1"})


def test_an_output_outside_the_folder_is_not_reused(tmp_path: Path) -> None:
    """A manifest naming ../something is refused without reading that file."""
    folder = _stage_folder(tmp_path / "out")
    data = json.loads((folder / MANIFEST_NAME).read_text())
    outside = tmp_path / "outside"
    outside.write_bytes(b"the made SRPM")
    data["outputs"][0]["path"] = "../outside"
    (folder / MANIFEST_NAME).write_text(json.dumps(data))
    reuse = reusable(folder, "srpm", INPUTS)
    assert not reuse and "'../outside' is not a file name" in reuse.reason


# -- the build stage asks the same question (reads files only: no engine) --


@pytest.fixture(scope="module")
def srpm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_patched_srpm(tmp_path_factory.mktemp("srpm"))


def _built(out: Path, srpm: Path, image: PlannedImage) -> Path:
    """A build folder as rebuild() leaves it (the RPM's bytes stand in: only their sha256 matters here)."""
    out.mkdir()
    (out / srpm.name).write_bytes(srpm.read_bytes())
    (out / "iproute-3.6.0-2.netnsfix1.fc18.x86_64.rpm").write_bytes(b"binary rpm")
    (out / "build.log").write_text("log\n")
    Manifest(
        stage="build",
        recipe="iproute-3.6.0-fc18",
        inputs=(
            FileRecord.of(srpm, str(srpm), "srpm"),
            FileRecord(path=image.tag, sha256=image.key, size=0, kind="image"),
        ),
        outputs=(
            FileRecord.of(out / srpm.name, srpm.name, "srpm"),
            FileRecord.of(
                out / "iproute-3.6.0-2.netnsfix1.fc18.x86_64.rpm", "iproute-3.6.0-2.netnsfix1.fc18.x86_64.rpm", "rpm"
            ),
            FileRecord.of(out / "build.log", "build.log", "log"),
        ),
        extra={"image_id": "sha256:abc", "image_tag": image.tag, "build_root": []},
    ).write(out)
    return out


def test_build_stage_reuses_only_an_intact_build_from_the_same_srpm_and_build_root(tmp_path: Path, srpm: Path) -> None:
    planned = PlannedImage(tag="netnsfix/buildroot:1234", packages=(), key="1234" * 16)
    out = _built(tmp_path / "build", srpm, planned)
    current = up_to_date(srpm, planned, out)
    assert current is not None and current.reused
    assert [p.name for p in current.rpms] == ["iproute-3.6.0-2.netnsfix1.fc18.x86_64.rpm"]
    # Another build root (key), or the same tag made again (another image id): build again.
    assert up_to_date(srpm, PlannedImage(planned.tag, (), "5678" * 16), out) is None
    assert up_to_date(srpm, BuildImage(planned.tag, "sha256:def", (), planned.key), out) is None
    assert up_to_date(srpm, BuildImage(planned.tag, "sha256:abc", (), planned.key), out) is not None
    # Another SRPM (changed input sha256).
    other = tmp_path / srpm.name
    other.write_bytes(srpm.read_bytes() + b"\0")
    assert up_to_date(other, planned, out) is None
    # An altered RPM, then a missing one.
    rpm = out / "iproute-3.6.0-2.netnsfix1.fc18.x86_64.rpm"
    rpm.write_bytes(b"BINARY RPM")
    assert up_to_date(srpm, planned, out) is None
    rpm.unlink()
    assert up_to_date(srpm, planned, out) is None


def test_build_stage_rebuilds_over_an_unreadable_manifest(tmp_path: Path, srpm: Path) -> None:
    planned = PlannedImage(tag="netnsfix/buildroot:1234", packages=(), key="1234" * 16)
    out = _built(tmp_path / "build", srpm, planned)
    (out / MANIFEST_NAME).write_bytes(b"\xff\xfe not json")
    assert up_to_date(srpm, planned, out) is None
