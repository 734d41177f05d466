"""The build pipeline: srpm -> build root -> rebuild, one output layout, one stage timer, the no-engine fast path.

``netnsfix build`` (tests/build/test_build_e2e.py) and ``netnsfix demo``
(tests/demo/test_demo_run.py) reach the rebuild through this function; here
it runs for real against the demo archive (both sides) on 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from netnsfix.archive.fetch import Cache, Fetcher
from netnsfix.build.image import PlannedImage
from netnsfix.errors import FetchError, ManifestError
from netnsfix.manifest import OutputLayout, read_manifest
from netnsfix.pipeline import Hooks, build_folder_hint, run_pipeline
from netnsfix.source.request import Request
from netnsfix.tools.engine import connect
from netnsfix.util.httpserve import serving
from netnsfix.util.timing import StageTimer


def test_the_layout_names_each_stages_folder() -> None:
    layout = OutputLayout(Path("/w/out"))
    assert layout.srpm("iproute-3.6.0-fc18") == Path("/w/out/iproute-3.6.0-fc18/srpm")
    assert layout.build("iproute-3.6.0-fc18") == Path("/w/out/iproute-3.6.0-fc18/build")
    assert OutputLayout().build("r") == Path("out/r/build")


def test_an_out_root_that_is_a_stages_or_recipes_folder_is_refused(tmp_path: Path) -> None:
    """Writing under it would nest a second tree (out/R/build/R/build): refused before anything is written."""
    root = tmp_path / "out"
    (root / "r" / "build").mkdir(parents=True)
    (root / "r" / "build" / "manifest.json").write_text("{}")
    OutputLayout(root).check()  # the root itself: fine
    for nested in (root / "r" / "build", root / "r"):
        with pytest.raises(ManifestError, match="--out takes the output root"):
            OutputLayout(nested).check()


def test_publish_is_told_which_build_folder_it_wants(tmp_path: Path) -> None:
    root = tmp_path / "out"
    for stage in ("srpm", "build"):
        (root / "r" / stage).mkdir(parents=True)
        (root / "r" / stage / "manifest.json").write_text("{}")
    wanted = str(root / "r" / "build")
    for given in (root, root / "r", root / "r" / "srpm"):
        hint = build_folder_hint(given)
        assert hint is not None and hint.startswith(f"{given}: ") and hint.endswith(wanted)
    assert build_folder_hint(root / "r" / "build") is None
    assert build_folder_hint(tmp_path / "elsewhere") is None  # nothing to say: publish's own error


def test_recipe_is_positional_or_an_option() -> None:
    from netnsfix.cli import build_parser

    for command in ("resolve", "fetch", "srpm", "image", "build", "demo"):
        parser = build_parser(command)
        assert parser.parse_args([command, "x"]).recipe == "x"
        assert parser.parse_args([command, "--recipe", "x"]).recipe == "x"
        assert parser.parse_args([command]).recipe is None
        with pytest.raises(SystemExit):
            parser.parse_args([command, "x", "--recipe", "y"])


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory, docker_client):
    """The demo archive, source and binary repositories, served on 127.0.0.1."""
    from netnsfix.demo.archive import build_demo_archive
    from netnsfix.demo.binaries import build_demo_binary_repo

    root = tmp_path_factory.mktemp("archive")
    build_demo_archive(root)
    build_demo_binary_repo(root)
    with serving(root) as served:
        yield served.url


@pytest.mark.slow
@pytest.mark.engine
def test_pipeline_builds_then_keeps_its_outputs_without_the_engine(mirror: str, recipe, tmp_path: Path) -> None:
    request = Request.of(recipe, mirrors=[mirror], lock=tmp_path / "lock.json", out=tmp_path / "out")
    layout = request.layout
    fetcher = Fetcher(Cache(tmp_path / "cache"), retries=0)
    connections: list[object] = []

    def engine() -> object:
        connections.append(connect())
        return connections[-1]

    said: list[str] = []
    first = run_pipeline(request, fetcher, Hooks(engine=engine, notify=said.append))
    assert [s.name for s in first.stages] == ["srpm", "build root", "build"]
    assert len(connections) == 1  # one client for the build root and the build
    assert first.srpm.made is not None and first.srpm.path.parent == layout.srpm(recipe.name)
    assert first.build.manifest.parent == layout.build(recipe.name) and not first.build.reused
    rpms = [p.name for p in first.build.rpms]
    assert rpms == [first.srpm.path.name.replace(".src.rpm", ".x86_64.rpm")]
    assert read_manifest(layout.build(recipe.name)).extra["image_tag"] == first.image.tag
    assert first.stages[2].detail == rpms[0]

    # Nothing changed: the srpm stage keeps its SRPM and the build its RPMs; the engine is not asked.
    def no_engine() -> object:
        raise AssertionError("the engine was asked although the outputs are current")

    timer = StageTimer()
    again = run_pipeline(request, fetcher, Hooks(engine=no_engine, timer=timer, notify=said.append))
    assert again.srpm.made is not None and again.srpm.made.reused and again.build.reused
    assert again.build.rpms == first.build.rpms and again.image.tag == first.image.tag
    assert isinstance(again.image, PlannedImage)  # known by its key: the engine was not asked for its id
    assert timer.spans == again.stages and again.stages[2].detail == f"{rpms[0]} (up to date)"

    # --force builds again (same tag: the build root is found, not made).
    forced_request = dataclasses.replace(request, force=True)
    forced = run_pipeline(forced_request, fetcher, Hooks(engine=engine, notify=said.append))
    assert not forced.build.reused and forced.image.reused and len(connections) == 2
    assert any(line.endswith("exists (" + f"{len(forced.image.packages)} packages)") for line in said)


def test_run_pipeline_takes_one_request() -> None:
    """What to build is one Request (made once by the CLI or the demo); the signature fits on one line."""
    import inspect

    first = inspect.getsource(run_pipeline).splitlines()[0]
    assert (
        first == "def run_pipeline(request: Request, fetcher: Fetcher, hooks: Hooks | None = None) -> PipelineResult:"
    )


def test_a_request_names_its_archive_plainly(recipe, tmp_path: Path) -> None:
    """No sentinel for "the recipe's own archive": the bases are URLs, the recipe's when no mirror is given."""
    own = Request.of(recipe)
    assert own.bases == (recipe.base_url.rstrip("/"),) and own.lock == recipe.lock_path
    assert own.gpgcheck.keys == recipe.gpg_keys and own.layout == OutputLayout(Path("out"))
    mirrored = Request.of(recipe, mirrors=["http://127.0.0.1:8/a/", "http://127.0.0.1:9"], out=tmp_path)
    assert mirrored.bases == ("http://127.0.0.1:8/a", "http://127.0.0.1:9") and mirrored.base == mirrored.bases[0]
    with pytest.raises(FetchError, match=r"^--mirror 'ftp://x': is not an http:// or https:// URL$"):
        Request.of(recipe, mirrors=["ftp://x"])
