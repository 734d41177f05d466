"""Every failure the library reports, as one typed hierarchy.

The CLI catches :class:`NetnsfixError` and prints ``str(error)`` as a single
line, so each message names the file (or URL, or package) and what is wrong;
every error exits 2 there (the exit table is the CLI's). Nothing below the CLI
prints or exits. An error keeps its facts as fields (``subject``, ``problem``,
and a class's own: a URL's HTTP status, ...) and renders its line from them:
code that needs a fact reads the field, never the message.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence


class NetnsfixError(Exception):
    """Base class: a failure the user can act on, rendered as one line.

    ``NetnsfixError(subject, problem)``: what it is about (a file, URL, package...)
    and what is wrong with it, shown as ``subject: problem``;
    ``NetnsfixError(message)``: a message with no one subject.
    """

    def __init__(self, subject: object, problem: str | None = None) -> None:
        self.subject: object = None if problem is None else subject
        self.problem: str = str(subject) if problem is None else problem
        super().__init__(self.subject, self.problem)

    def __str__(self) -> str:
        text = self.problem if self.subject is None else f"{self.subject}: {self.problem}"
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
        super().__init__("\n".join(lines))
        self.lines = tuple(" ".join(line.split("\n")) for line in lines)

    def __str__(self) -> str:
        count = f"{len(self.lines)} requirements" if len(self.lines) > 1 else "a requirement"
        return f"{count} cannot be met:" + "".join(f"\n  {line}" for line in self.lines)


class FetchError(NetnsfixError):
    """A download failed: HTTP error, truncated body, or every mirror failed.

    ``status``: the HTTP status the server answered, when it answered one;
    ``failures``: each mirror's own error, when every mirror failed.
    """

    def __init__(
        self,
        subject: object,
        problem: str | None = None,
        *,
        status: int | None = None,
        failures: Sequence[FetchError] = (),
    ) -> None:
        super().__init__(subject, problem)
        self.status = status
        self.failures = tuple(failures)

    @classmethod
    def http(cls, url: str, status: int, reason: str) -> FetchError:
        """The server answered ``status`` (not retried: 4xx; or 5xx after the last try)."""
        return cls(url, f"HTTP {status} {reason}", status=status)

    def each(self) -> Iterator[FetchError]:
        """This error and every mirror's under it."""
        yield self
        for failure in self.failures:
            yield from failure.each()

    def with_note(self, note: str) -> FetchError:
        """The same failure (same class and facts), with ``note`` added to its line."""
        return type(self)(self.subject, f"{self.problem}{note}", status=self.status, failures=self.failures)


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


class EngineDenied(EngineError):
    """The Docker engine's socket refused this user (not root, not in the 'docker' group)."""


class BuildError(NetnsfixError):
    """rpmbuild failed inside the build root."""


class PublishError(NetnsfixError):
    """A repository cannot be written, or an input RPM does not match its manifest."""


class VerifyError(NetnsfixError):
    """The harness cannot run (not root, no engine, not an executable, no ip in an RPM): "no answer"."""


class HostError(NetnsfixError):
    """A companion step cannot be planned, applied or undone."""


class SigningError(PublishError):
    """gpg or rpmsign cannot sign: no such secret key, a locked key, or the tool failed."""


class ServeError(NetnsfixError):
    """A folder cannot be served: the port is taken, or the address is not this machine's."""


class DemoError(NetnsfixError):
    """The demo's proof did not come out as it must (the fix failed, or the bug was not caught)."""


class FleetError(NetnsfixError):
    """``netnsfix fleet`` cannot run: a bad inventory or site file, Ansible missing or wrong, no project."""
