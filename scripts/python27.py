"""Every module and module_utils file compiled by the fleet node's Python 2.7, then the library's unit tests there.

Fedora 18 nodes run the collection's modules with Python 2.7; this machine (and CI) has no Python 2.7
of its own, so the check runs the node image's python2.7 (src/netnsfix/demo/fleetnodes.py makes that
image; bullseye's 2.7.18) in a throwaway container through the Docker engine. Run by scripts/test
before the slow tests:

    .venv/bin/python scripts/python27.py

Prints one line per file that does not compile (file, line, error) and exits 1 then; else runs the
library's unit tests with the same interpreter (the collection's tests/unit, imported from the collection
folder as a node imports plugins.module_utils, and the tests/node/test_*.py files that import unittest:
written for pytest and ``python2.7 -m unittest``; the others are pytest's alone) and exits 0 only when
every one passes.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from netnsfix.demo.fleetnodes import run_python27
from netnsfix.tools.engine import connect

HERE = Path(__file__).resolve().parents[1]
DRIVER = """\
import os, py_compile, sys, unittest
args = sys.argv[1:]
split = args.index("--")
sources, tests = args[:split], args[split + 1:]
bad = 0
for path in sources + tests:
    try:
        py_compile.compile(path, doraise=True)
    except py_compile.PyCompileError as error:
        bad += 1
        print("python2.7: %s" % " ".join(str(error.msg).split()))
print("python2.7 %s: %d files compiled, %d failed" % (sys.version.split()[0], len(sources + tests) - bad, bad))
if bad:
    sys.exit(1)
suite = unittest.TestSuite()
collection = "src/netnsfix/collection"  # its unit tests import plugins.module_utils as a node would
if os.path.isdir(collection + "/tests/unit"):
    suite.addTests(unittest.defaultTestLoader.discover(collection + "/tests/unit", top_level_dir=collection))
for path in tests:
    folder, name = os.path.split(path)
    suite.addTests(unittest.defaultTestLoader.discover(folder, pattern=name, top_level_dir=folder))
done = unittest.TextTestRunner(stream=sys.stdout, verbosity=1).run(suite)
counts = (done.testsRun, len(tests), len(done.failures), len(done.errors))
print("python2.7 unit tests: %d run (collection tests/unit, %d of tests/node), %d failed, %d errors" % counts)
sys.exit(0 if done.wasSuccessful() and done.testsRun else 1)
"""


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by its path from the checkout (no __pycache__)."""
    return {
        str(path.relative_to(HERE)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def main() -> int:
    collection = HERE / "src" / "netnsfix" / "collection"
    files = {"src/netnsfix/__init__.py": (HERE / "src" / "netnsfix" / "__init__.py").read_bytes()}
    files |= tree(collection) | tree(HERE / "tests" / "node")
    sources = sorted(
        name
        for name in files
        if name.startswith(("src/netnsfix/collection/plugins/module", "src/netnsfix/collection/tests/"))
        and name.endswith(".py")
    )
    # the library's unit tests written for unittest (so for python2.7 too); the rest of tests/node is pytest's
    tests = sorted(
        name
        for name, data in files.items()
        if re.fullmatch(r"tests/node/test_\w+\.py", name) and re.search(rb"^import unittest$", data, re.M)
    )
    files["driver.py"] = DRIVER.encode()
    done = run_python27(connect(), files, ("driver.py", *sources, "--", *tests))
    print(done.output.rstrip())
    return 0 if done.code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
