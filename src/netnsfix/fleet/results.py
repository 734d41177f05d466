"""ansible-playbook's json callback document, read into one result per node.

Counts come from the document's ``stats``; what changed, the diffs, the first
failure and the verify script's lines come from the task results. A node that
appears in no stats (it could not be reached before any task) still gets a
row, so no node goes unnamed.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

VERIFY_TASK = "verify: the fix on this node"


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
            )
        )
    return tuple(results)


def _task_result(into: _Collect, task: str, result: Mapping[str, Any]) -> None:
    if task.startswith(VERIFY_TASK):
        into.checks.extend(verify_lines(result))
    items = result.get("results")
    if isinstance(items, list) and items:
        labels = []
        for item in items:
            if not isinstance(item, Mapping):
                continue
            if item.get("changed"):
                labels.append(_label(item))
                into.diffs.extend(_diffs(item, _label(item)))
            if item.get("failed") or item.get("unreachable"):
                into.messages.append(f"{task} ({_label(item)}): {_message(item)}")
        if labels:
            into.changes.append(f"{task}: {', '.join(labels)}")
    elif result.get("changed"):
        into.changes.append(task)
        into.diffs.extend(_diffs(result, task))
    if result.get("unreachable"):
        into.messages.append(f"unreachable: {_message(result)}")
    elif result.get("failed") and not (isinstance(items, list) and items and into.messages):
        into.messages.append(f"{task}: {_message(result)}")


def verify_lines(result: Mapping[str, Any]) -> list[str]:
    """netnsfix.node.verify's ``lines``: one per proof rule, ``PASS rule: evidence`` (FAIL, NO-ANSWER, INFO)."""
    lines = result.get("lines")
    if not isinstance(lines, list):
        return []
    return [
        line.strip()
        for line in lines
        if isinstance(line, str) and line.startswith(("PASS", "FAIL", "NO-ANSWER", "INFO"))
    ]


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


def _diffs(result: Mapping[str, Any], task: str) -> list[str]:
    """Unified diffs of a result; a header naming a file of the exported role shows ``task`` (the destination)."""
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
        headers = [task if "/roles/netnsfix_node/" in header else header for header in headers]
        lines = difflib.unified_diff(before.splitlines(True), after.splitlines(True), headers[0], headers[1])
        out.append("".join(line if line.endswith("\n") else line + "\n" for line in lines))
    return out
