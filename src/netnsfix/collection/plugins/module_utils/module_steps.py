"""What the step modules share: their parameters, and one run of several steps turned into a module result.

Kept free of Ansible (the modules pass ``module.run_command`` as the runner and
hand the dict to ``exit_json``), so the controller's tests run it too. The
result never holds file contents outside ``diff`` (and ``diff`` only when the
play asked for it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import sys

from . import restart_marker
from .apply import apply_steps, plan_steps, restarts_of, undo_steps
from .errors import NodeError
from .journal import BackupStore
from .package import PACKAGE_SPEC, PackageRun, new_result, run_package
from .plan import Node, changed, command_text
from .rootfs import RootFS
from .settings import validate
from .steps import NAMES, select_steps

# The parameters every step module takes (Ansible's argument_spec form).
COMMON_SPEC = dict(
    root=dict(type="path", default="/"),
    settings=dict(type="dict", default={}),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    force=dict(type="bool", default=False),
)
# The steps module's ``package`` option: the package module's work in the steps' own module run.
PACKAGE_OPTION = dict(type="dict", options=PACKAGE_SPEC)


def _text(data):
    # type: (bytes | None) -> str
    if data is None:
        return ""
    if sys.version_info[0] < 3:
        return data.decode("utf-8", "replace")  # type: ignore[return-value]  # unicode on Python 2.7
    return data.decode("utf-8", "surrogateescape").encode("utf-8", "replace").decode("utf-8")


def _file_diff(path, before, after):
    # type: (str, bytes | None, bytes | None) -> dict
    return dict(before_header=path, after_header=path, before=_text(before), after=_text(after))


def run(params, runner, check_mode=False, diff_mode=False, step_names=None, fetch=None):
    # type: (dict, object, bool, bool, list[str] | None, object) -> dict
    """Plan (check mode), apply (state present) or undo (state absent) the steps; the module's result.

    With ``params["package"]`` the package too, in this one run: after the steps on apply (the order the
    role had with two module runs), before them on undo; its own report in the result's ``package``, its
    files and commands in the result's too. An empty ``steps`` then means the package alone. A NodeError
    (bad settings, a root that escapes, a journal that lies) goes to the caller, which fails the module
    with its one line.
    """
    package = params.get("package")
    names = step_names if step_names is not None else params.get("steps")
    steps = select_steps(names or []) if names or not package else ()
    fs = RootFS(params.get("root") or "/")
    settings = validate(params.get("settings") or {}, "settings")
    node = Node(fs, settings, runner)
    state = params.get("state", "present")
    if not package:
        if state == "absent":
            return _absent(steps, node, bool(params.get("force")), check_mode, diff_mode)
        return _present(steps, node, check_mode, diff_mode)
    fs.check()
    done = new_result()
    work = PackageRun(runner, fetch, check_mode, diff_mode)
    if state == "absent":
        _package(work, fs, package, state, done)
        result = _absent(steps, node, bool(params.get("force")), check_mode, diff_mode)
    else:
        result = _present(steps, node, check_mode, diff_mode)
        _package(work, fs, package, state, done, result.get("restart"))
    result["changed"] = result["changed"] or done["changed"]
    result["files"] = result["files"] + done["files"]
    result["commands"] = result["commands"] + done["commands"]
    if diff_mode:
        result["diff"] = result.get("diff", []) + done["diff"]
    result["package"] = dict((key, done[key]) for key in ("installed", "differs", "files", "commands", "left"))
    return result


def _package(work, fs, package, state, done, owed=None):
    # type: (PackageRun, RootFS, dict, str, dict, list | None) -> None
    """The package's part; a NodeError says what the steps already did (their restart stays owed)."""
    try:
        run_package(work, fs, package, state, done)
    except NodeError as error:
        if owed:
            raise NodeError(
                "%s (the steps' changes are in place; restart owed: %s, made by the next apply)"
                % (error, ", ".join(owed))
            )
        raise


def _present(steps, node, check_mode, diff_mode):
    # type: (tuple, Node, bool, bool) -> dict
    if check_mode:
        plans = plan_steps(steps, node)
        owed = restart_marker.owed(node.fs)
        owed += [unit for unit in restarts_of(steps, plans, node) if unit not in owed]
    else:
        plans = apply_steps(steps, node, owe_restarts=True)
        owed = restart_marker.owed(node.fs)
    result = dict(
        changed=any(changed(plan) for plan in plans),
        files=[
            dict(path=change.path, action="created" if change.before is None else "edited")
            for plan in plans
            for change in plan.files
        ],
        commands=[command_text(cmd) for plan in plans for cmd in plan.commands if cmd.run],
        steps=dict((plan.step, changed(plan)) for plan in plans),
        restart=owed,
    )
    findings = ["%s: %s" % (plan.step, finding) for plan in plans for finding in plan.findings]
    if findings:
        result["warnings"] = findings  # exit_json shows them as the task's warnings
    if diff_mode:
        result["diff"] = [
            _file_diff(change.path, change.before, change.after) for plan in plans for change in plan.files
        ]
    return result


def _absent(steps, node, force, check_mode, diff_mode):
    # type: (tuple, Node, bool, bool, bool) -> dict
    if check_mode:
        node.fs.check()
        results = BackupStore(node.fs).preview(steps, node, force)[3]
        owed = restart_marker.owed(node.fs)
        for step in steps:
            if any(result.step == step.name for result in results):
                owed += [unit for unit in step.restarts if unit not in owed]
    else:
        results = undo_steps(steps, node, force=force, owe_restarts=True)
        owed = restart_marker.owed(node.fs)
    files = []
    diffs = []
    for result in results:
        for path in result.restored:
            files.append(dict(path=path, action="restored"))
        for path in result.removed:
            files.append(dict(path=path, action="removed"))
        for path, (now, back) in sorted(result.contents.items()):
            diffs.append(_file_diff(path, now, back))
    done = dict((result.step, True) for result in results)
    outcome = dict(
        changed=bool(results),
        files=files,
        commands=[" ".join(argv) for result in results for argv in result.commands],
        steps=dict((step.name, done.get(step.name, False)) for step in steps),
        restart=owed,
    )
    if diff_mode:
        outcome["diff"] = diffs
    return outcome
