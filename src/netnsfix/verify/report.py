"""What a verify run found, as frozen data the CLI prints, serialises or writes as JUnit."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from netnsfix.collection.plugins.module_utils.proof import Mount

# The checks whose failure is the bug itself (882047: mounts, systemd; 881741: privatetmp); "view" only informs.
BUG_CHECKS = ("mounts", "systemd", "privatetmp")
BUGS = {"mounts": "882047", "systemd": "882047", "privatetmp": "881741"}


class Status(StrEnum):
    PASS = "pass"  # the check ran and the fix held
    FAIL = "fail"  # the check ran and found the bug's damage
    INFO = "info"  # informational (the view), never a failure
    ERROR = "error"  # the check could not give an answer (a step failed for another reason)


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    summary: str
    problems: tuple[str, ...] = ()
    sys_before: tuple[Mount, ...] = ()
    sys_after: tuple[Mount, ...] = ()
    view: tuple[str, ...] = ()
    log: tuple[str, ...] = ()
    seconds: float = 0.0


@dataclass(frozen=True)
class VerifyResult:
    ip: str
    sha256: str
    version: str
    checks: tuple[CheckResult, ...]
    seconds: float
    image: str | None = None
    host_untouched: bool = True
    notes: tuple[str, ...] = field(default=())
    kind: str = ""  # what the file is: "an x86-64 ELF executable (...)", "a script for /bin/sh (...)"
    elf: bool = True

    @property
    def passed(self) -> bool:
        """Every check passed (the view never fails) and the host's /sys was not touched."""
        return self.host_untouched and all(c.status in (Status.PASS, Status.INFO) for c in self.checks)

    @property
    def bug_reproduced(self) -> bool:
        """Every bug check that ran found the damage (and at least one ran)."""
        bug = [c for c in self.checks if c.name in BUG_CHECKS]
        return self.host_untouched and bool(bug) and all(c.status is Status.FAIL for c in bug)

    @property
    def answered(self) -> bool:
        """Every check ran to the end (none is an ERROR)."""
        return not any(c.status is Status.ERROR for c in self.checks)

    def unanswered(self) -> tuple[CheckResult, ...]:
        """The checks that could not answer (what they lacked is in their summary)."""
        return tuple(c for c in self.checks if c.status is Status.ERROR)

    def as_expected(self, expect_bug: bool) -> bool:
        return self.bug_reproduced if expect_bug else self.passed

    def check(self, name: str) -> CheckResult:
        for result in self.checks:
            if result.name == name:
                return result
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for check in data["checks"]:
            check["status"] = Status(check["status"]).value
            for key in ("sys_before", "sys_after"):  # mounts are namedtuples: one object each, as before
                check[key] = [dict(mount._asdict()) for mount in check[key]]
        data["passed"] = self.passed
        data["bug_reproduced"] = self.bug_reproduced
        return data
