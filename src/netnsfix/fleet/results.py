"""ansible-playbook's json callback document, read into one result per node.

Counts come from the document's ``stats``; what changed, the diffs, the first
failure and verify's check lines come from the task results. A node that
appears in no stats (it could not be reached before any task) still gets a
row, so no node goes unnamed.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

CHECK_MARKS = ("PASS", "FAIL", "NO-ANSWER", "INFO")
# Actions that Ansible runs on the controller alone: no module reaches the node for them.
CONTROLLER_ACTIONS = frozenset(
    {
        "add_host", "assert", "debug", "fail", "group_by", "import_role", "import_tasks", "include_role",
        "include_tasks", "include_vars", "meta", "pause", "set_fact", "set_stats", "validate_argument_spec",
    }
)  # fmt: skip


@dataclass(frozen=True)
class NodeResult:
    node: str
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    changes: tuple[str, ...] = ()
    diffs: tuple[str, ...] = ()
    message: str = ""
    checks: tuple[str, ...] = ()  # verify's PASS/FAIL lines
    modules: int = 0  # module runs on the node (see module_runs)

    @property
    def success(self) -> bool:
        return not self.failed and not self.unreachable

    @property
    def verdict(self) -> str:
        if self.unreachable:
            return "UNREACHABLE"
        if self.failed:
            return "FAIL"
        return "ok"


@dataclass
class _Collect:
    changes: list[str]
    diffs: list[str]
    messages: list[str]
    checks: list[str]


def read_results(document: Mapping[str, Any], nodes: Iterable[str] = ()) -> tuple[NodeResult, ...]:
    """One NodeResult per node in ``nodes`` and in the document, sorted by name."""
    collected: dict[str, _Collect] = {}
    for play in document.get("plays", []) or []:
        for task in play.get("tasks", []) or []:
            name = str((task.get("task") or {}).get("name", "?")).split(" : ", 1)[-1]
            for host, result in (task.get("hosts") or {}).items():
                _task_result(collected.setdefault(host, _Collect([], [], [], [])), name, result)
    stats = document.get("stats", {}) or {}
    runs = module_runs(document)
    names = sorted(set(nodes) | set(stats) | set(collected))
    results = []
    for node in names:
        entry = stats.get(node, {}) or {}
        seen = collected.get(node, _Collect([], [], [], []))
        unreachable = int(entry.get("unreachable", 0) or 0)
        failed = int(entry.get("failures", 0) or 0)
        if node not in stats and not seen.changes and not seen.checks:
            unreachable = 1  # never reached: no task ran there
        results.append(
            NodeResult(
                node=node,
                ok=int(entry.get("ok", 0) or 0),
                changed=int(entry.get("changed", 0) or 0),
                failed=failed,
                unreachable=unreachable,
                changes=tuple(seen.changes),
                diffs=tuple(seen.diffs),
                message=seen.messages[0] if seen.messages else ("not reached" if node not in stats else ""),
                checks=tuple(seen.checks),
                modules=runs.get(node, 0),
            )
        )
    return tuple(results)


def _loop_items(result: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    """A loop's per-item results; None for one run (the yum module's own ``results`` is a list of strings)."""
    items = result.get("results")
    if isinstance(items, list) and items and all(isinstance(item, Mapping) for item in items):
        return items
    return None


def _task_result(into: _Collect, task: str, result: Mapping[str, Any]) -> None:
    into.checks.extend(verify_lines(result))  # whatever the task's name: an operator may rename it
    items = _loop_items(result)
    if items is not None:
        labels = []
        for item in items:
            if item.get("changed"):
                labels.append(_label(item))
                into.diffs.extend(_diffs(item, _label(item)))
            if item.get("failed") or item.get("unreachable"):
                into.messages.append(f"{task} ({_label(item)}): {_message(item)}")
        if labels:
            into.changes.append(f"{task}: {', '.join(labels)}")
    elif result.get("changed"):
        into.changes.append(_what_changed(task, result))
        into.diffs.extend(_diffs(result, task))
    if result.get("unreachable"):
        into.messages.append(f"unreachable: {_message(result)}")
    elif result.get("failed") and not (items and into.messages):
        into.messages.append(f"{task}: {_message(result)}")


def verify_lines(result: Mapping[str, Any]) -> list[str]:
    """netnsfix.node.verify's ``lines``: one per proof rule, ``PASS rule: evidence`` (FAIL, NO-ANSWER, INFO)."""
    lines = result.get("lines")
    if not isinstance(lines, list):
        return []
    return [line.strip() for line in lines if isinstance(line, str) and line.startswith(CHECK_MARKS)]


def _what_changed(task: str, result: Mapping[str, Any]) -> str:
    """The task, then what the collection's modules say they did: files and actions, commands, restarts."""
    parts = []
    for entry in result.get("files") or []:
        if isinstance(entry, Mapping):
            parts.append(f"{entry.get('path', '?')} {entry.get('action', 'changed')}")
    parts += [str(command) for command in result.get("commands") or []]
    restarted = result.get("restarted")
    if isinstance(restarted, list) and restarted:
        parts.append(f"restarted {', '.join(map(str, restarted))}")
        for key, words in (("not_loaded", "not loaded here"), ("not_running", "not running")):
            if isinstance(result.get(key), list) and result[key]:
                parts.append(f"{words}: {', '.join(map(str, result[key]))}")
    elif isinstance(result.get("restart"), list) and result["restart"]:
        parts.append(f"restart owed: {', '.join(map(str, result['restart']))}")
    return f"{task}: {'; '.join(parts)}" if parts else task


def _label(item: Mapping[str, Any]) -> str:
    label = item.get("_ansible_item_label", item.get("item", "?"))
    return label if isinstance(label, str) else str(label)


def _message(result: Mapping[str, Any]) -> str:
    text = result.get("msg") or ""
    if not text or text == "non-zero return code":
        text = result.get("stderr") or result.get("module_stderr") or text or "failed"
    if not isinstance(text, str):
        text = str(text)
    return " ".join(text.split())


# An INI line whose value is a secret (a password, a token, a database URL with its password): plan's diffs show
# three lines of context around each change, and nova/quantum/cinder keep such lines beside the keys netnsfix sets.
SECRET_LINE = re.compile(
    r"^([-+ ][ \t]*[#;]?[ \t]*\w*(?:password|passwd|secret|token|connection)\w*[ \t]*[=:]).*$", re.I
)


def _masked(line: str) -> str:
    return SECRET_LINE.sub(r"\1 ***", line.rstrip("\n")) + "\n"


def _diffs(result: Mapping[str, Any], task: str) -> list[str]:
    """Unified diffs of a result, the value of any secret-looking INI line in them shown as ``***``."""
    raw = result.get("diff")
    entries = raw if isinstance(raw, list) else [raw] if isinstance(raw, Mapping) else []
    out = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        if "prepared" in entry:
            out.append(str(entry["prepared"]))
            continue
        before, after = entry.get("before"), entry.get("after")
        if not isinstance(before, str) or not isinstance(after, str) or before == after:
            continue
        headers = [str(entry.get(key, task)) for key in ("before_header", "after_header")]
        lines = difflib.unified_diff(before.splitlines(True), after.splitlines(True), headers[0], headers[1])
        out.append("".join(_masked(line) for line in lines))
    return out


def module_runs(document: Mapping[str, Any]) -> dict[str, int]:
    """How many modules each node ran (loop items count one each; skipped tasks and controller actions none)."""
    runs: dict[str, int] = {}
    for play in document.get("plays", []) or []:
        for task in play.get("tasks", []) or []:
            for host, result in (task.get("hosts") or {}).items():
                runs.setdefault(host, 0)
                if not isinstance(result, Mapping):
                    continue
                action = str(result.get("action", "")).rsplit(".", 1)[-1]
                if action in CONTROLLER_ACTIONS:
                    continue
                items = _loop_items(result)
                if items is not None:
                    runs[host] += sum(1 for item in items if not item.get("skipped"))
                elif not result.get("skipped"):
                    runs[host] += 1
    return runs
