"""Every failure the library reports, as one typed hierarchy.

The CLI catches :class:`NetnsfixError` and prints ``str(error)`` as a single
line, so each message names the file (or URL, or package) and what is wrong.
Nothing below the CLI prints or exits.
"""

from __future__ import annotations


class NetnsfixError(Exception):
    """Base class: a failure the user can act on, with a one-line message."""

    exit_code = 1

    def __str__(self) -> str:
        text = super().__str__()
        return " ".join(text.split("\n")) if text else type(self).__name__


class RecipeError(NetnsfixError):
    """A recipe (specs/*.toml) or its lock is missing, malformed or incomplete."""


class RepodataError(NetnsfixError):
    """repomd.xml / primary.xml cannot be read, or a checksum in them does not match."""


class ResolveError(NetnsfixError):
    """The package asked for (or one of its requirements) is not in the repositories."""


class UnmetRequirements(ResolveError):
    """Several requirements nothing provides: a heading, then one line each (as ``dnf builddep`` lists them)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__(*lines)
        self.lines = tuple(" ".join(line.split("\n")) for line in lines)

    def __str__(self) -> str:
        count = f"{len(self.lines)} requirements" if len(self.lines) > 1 else "a requirement"
        return f"{count} cannot be met:" + "".join(f"\n  {line}" for line in self.lines)


class FetchError(NetnsfixError):
    """A download failed: HTTP error, truncated body, or every mirror failed."""


class ChecksumError(FetchError):
    """A downloaded file's sha256 differs from the one the repodata promised."""


class SignatureError(NetnsfixError):
    """A package is unsigned, signed by a key the recipe does not trust, or altered after signing;
    or a trusted key named by the recipe is missing or is not the key its fingerprint says."""


class ManifestError(NetnsfixError):
    """A stage's manifest.json is missing, unreadable, or not a netnsfix manifest."""


class UnpackError(NetnsfixError):
    """An RPM cannot be read, or a member would land outside the target folder."""


class PatchError(NetnsfixError):
    """A patch cannot be parsed, names a missing file, or does not match at fuzz 0."""


class SpecError(NetnsfixError):
    """A spec file has a shape the editor does not understand."""


class CommandError(NetnsfixError):
    """An external command (rpmbuild, createrepo_c, ...) failed."""


class NotInstalled(CommandError):
    """A program netnsfix runs is not on PATH (the message names the package to install)."""


class CommandTimeout(CommandError):
    """A program did not finish within the time it was given (it has been killed)."""


class EngineError(NetnsfixError):
    """The Docker engine is unreachable or refused an operation."""


class BuildError(NetnsfixError):
    """rpmbuild failed inside the build root."""


class PublishError(NetnsfixError):
    """A repository cannot be written, or an input RPM does not match its manifest."""


class VerifyError(NetnsfixError):
    """The harness cannot run (not root, no engine, not an executable, no ip in an RPM)."""

    exit_code = 2  # "no answer", apart from 1: "the checks did not come out as expected"


class HostError(NetnsfixError):
    """A companion step cannot be planned, applied or undone.

    Exit status 2, as diff(1) does for trouble: ``netnsfix host plan`` exits 1
    for "something would change", so a check can tell drift from failure.
    """

    exit_code = 2


class SigningError(PublishError):
    """gpg or rpmsign cannot sign: no such secret key, a locked key, or the tool failed."""


class ServeError(NetnsfixError):
    """A folder cannot be served: the port is taken, or the address is not this machine's."""


class DemoError(NetnsfixError):
    """The demo's proof did not come out as it must (the fix failed, or the bug was not caught)."""


class FleetError(NetnsfixError):
    """``netnsfix fleet`` cannot run: a bad inventory or site file, Ansible missing or wrong, no project.

    Exit status 2, as ``fleet plan`` exits 1 for "some node would change".
    """

    exit_code = 2
