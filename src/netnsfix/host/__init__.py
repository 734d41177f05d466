"""The companion steps: the seed's other Quantum fixes on a Fedora 18 node.

Each step is a module with one fix (see :mod:`netnsfix.host.steps` for the
list); :mod:`netnsfix.host.core` drives them through plan, apply, verify and
undo, with every changed file backed up under the root first.
"""
