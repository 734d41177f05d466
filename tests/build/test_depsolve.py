"""The resolver against small repositories built here with rpmbuild and createrepo_c, served on 127.0.0.1."""

from __future__ import annotations

import pytest
from rpmrepo import Spec, make_repo
from srpmfixture import F18_IPROUTE_BUILDREQUIRES

from netnsfix.archive.fetch import Cache, Fetcher
from netnsfix.archive.repodata import Dependency, load_repo
from netnsfix.build.depsolve import Reason, solve
from netnsfix.errors import ResolveError
from netnsfix.util.httpserve import serving

RELEASE = [
    Spec(
        "bash",
        "4.2.39",
        arch="x86_64",
        provides=["/bin/sh", "/bin/bash"],
        requires=["libc.so.6()(64bit)"],
        files={"/usr/bin/bash": "bash"},
    ),
    Spec("glibc", "2.16", arch="x86_64", provides=["libc.so.6()(64bit)"], requires_pre=["basesystem"]),
    Spec("glibc", "2.17", arch="i686", provides=["libc.so.6"]),
    Spec("basesystem", "10.0"),
    Spec(
        "gcc",
        "4.7.2",
        "8.fc18",
        arch="x86_64",
        requires=["cpp = 4.7.2-8.fc18", "/bin/sh", "binutils >= 2.23", "make >= 1:3.80", "/usr/bin/perl"],
    ),
    Spec("cpp", "4.7.2", "8.fc18", arch="x86_64"),
    Spec("binutils", "2.22.52", arch="x86_64"),
    Spec("make", "3.82", arch="x86_64", epoch=1),
    Spec("perl", "5.16.2", arch="x86_64", files={"/usr/bin/perl": "perl"}),
    Spec("oldtool", "1.0"),
    Spec("tar", "1.26", arch="x86_64", requires=["oldtool", "MTA"]),
    Spec("sendmail", "8.14", arch="x86_64", provides=["MTA"]),
    Spec("postfix", "2.9", arch="x86_64", provides=["MTA"]),
    Spec("exim", "4.80", arch="x86_64", provides=["MTA"]),
    Spec("broken", "1.0", requires=["libmissing.so.1()(64bit)"]),
    Spec("needsnewcpp", "1.0", requires=["cpp >= 5"]),
]
UPDATES = [
    Spec("binutils", "2.23.51", arch="x86_64"),
    Spec("newtool", "2.0", obsoletes=["oldtool < 2"], provides=["oldtool = 2.0"]),
    Spec("exim", "4.76", arch="x86_64", provides=["MTA"]),  # older than the release's: not chosen
]


@pytest.fixture(scope="module")
def repos(tmp_path_factory, need_tool_module):
    need_tool_module("rpmbuild", "createrepo_c")
    base = tmp_path_factory.mktemp("repos")
    make_repo(RELEASE, base / "releases", base / "work1")
    make_repo(UPDATES, base / "updates", base / "work2")
    with serving(base) as served:
        fetcher = Fetcher(Cache(base / "cache"))
        yield [load_repo(fetcher, f"{served.url}/releases"), load_repo(fetcher, f"{served.url}/updates")]


@pytest.fixture(scope="module")
def need_tool_module():
    import shutil

    from testkit import unavailable

    def check(*names: str) -> None:
        for name in names:
            if shutil.which(name) is None:
                unavailable(f"{name} is not installed")

    return check


def names(closure) -> dict[str, str]:
    return {p.name: f"{p.evr}.{p.arch}" for p in closure.packages}


def test_chain_of_requires_files_sonames_versions_and_epochs(repos):
    closure = solve(repos, ["gcc"])
    got = names(closure)
    # gcc -> cpp (= EVR), /bin/sh (explicit provide of bash), binutils >= 2.23 (only the update's),
    # make >= 1:3.80 (epoch), /usr/bin/perl (primary's file list) ; bash -> libc.so.6()(64bit) -> glibc
    # -> Requires(pre) basesystem ; never the i686 glibc, and rpmlib(...) needs nothing.
    assert set(got) == {"gcc", "cpp", "bash", "binutils", "make", "perl", "glibc", "basesystem"}
    assert got["binutils"] == "2.23.51-1.fc18.x86_64"
    assert got["glibc"] == "2.16-1.fc18.x86_64"
    assert got["make"] == "1:3.82-1.fc18.x86_64"
    assert [p.name for p in closure.packages] == sorted(got)
    assert closure.reason_for("basesystem-10.0-1.fc18.noarch") == Reason(
        "basesystem-10.0-1.fc18.noarch", "basesystem", "glibc-2.16-1.fc18.x86_64"
    )
    assert closure.reason_for("bash-4.2.39-1.fc18.x86_64").requirement == "/bin/sh"


def test_obsoleted_package_is_not_chosen_and_providers_choice_is_documented(repos):
    got = names(solve(repos, ["tar"]))
    assert "oldtool" not in got and got["newtool"] == "2.0-1.fc18.noarch"
    # three MTAs, none already chosen, none named MTA: the shortest name wins ("exim", newest EVR of it).
    assert "exim" in got and "sendmail" not in got and "postfix" not in got
    assert got["exim"] == "4.80-1.fc18.x86_64"


def test_an_already_chosen_provider_wins(repos):
    got = names(solve(repos, ["tar", "sendmail"]))
    assert "sendmail" in got and "exim" not in got and "postfix" not in got


def test_result_does_not_depend_on_repository_or_base_set_order(repos):
    a = solve(repos, ["gcc", "tar", "bash"])
    b = solve(list(reversed(repos)), ["bash", "tar", "gcc"])
    assert a == b


def test_build_requires_are_resolved_like_requires(repos):
    closure = solve(
        repos,
        ["bash"],
        [Dependency("gcc", "GE", "0", "4.7"), Dependency("rpmlib(CompressedFileNames)", "LE", "0", "3.0.4", "1")],
        "BuildRequires of x.src.rpm",
    )
    assert "gcc" in names(closure)
    assert (
        closure.reason_for(next(p.nevra for p in closure.packages if p.name == "gcc")).needed_by
        == "BuildRequires of x.src.rpm"
    )


def test_unresolvable_requirement_names_both_ends(repos):
    with pytest.raises(ResolveError) as error:
        solve(repos, ["broken"])
    text = str(error.value)
    assert "libmissing.so.1()(64bit)" in text and "broken-1.0-1.fc18.noarch" in text and "base set" in text


def test_version_mismatch_says_what_is_there(repos):
    with pytest.raises(ResolveError, match=r"cpp >= 5.*needsnewcpp.*only cpp-4.7.2-8.fc18.x86_64"):
        solve(repos, ["needsnewcpp"])


def test_unknown_base_package(repos):
    with pytest.raises(ResolveError, match="nothing provides 'no-such-thing' needed by base set"):
        solve(repos, ["no-such-thing"])


def test_every_missing_build_requirement_is_named_at_once(repos):
    extra = [Dependency(name) for name in F18_IPROUTE_BUILDREQUIRES]
    with pytest.raises(ResolveError) as caught:
        solve(repos, ["bash", "broken"], extra, "BuildRequires of iproute-3.6.0-2.fc18.src.rpm")
    lines = str(caught.value).splitlines()
    assert lines[0] == "10 requirements cannot be met:"
    for name in F18_IPROUTE_BUILDREQUIRES:
        # direct: no chain, the SRPM needs it itself
        assert f"  nothing provides '{name}' needed by BuildRequires of iproute-3.6.0-2.fc18.src.rpm" in lines
    # indirect, from the base set: the chain says how it came to be needed
    assert any(
        "libmissing.so.1()(64bit)" in line and "chain: base set -> broken-1.0-1.fc18.noarch" in line for line in lines
    )
    assert len(lines) == 11


def test_every_missing_base_package_is_named_at_once(repos):
    with pytest.raises(ResolveError) as caught:
        solve(repos, ["no-such-thing", "nor-this", "bash"])
    text = str(caught.value)
    assert "2 requirements cannot be met" in text
    assert "'no-such-thing' needed by base set" in text and "'nor-this' needed by base set" in text
