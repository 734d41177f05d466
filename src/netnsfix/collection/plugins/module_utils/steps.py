"""The five companion steps, in the order apply runs them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    from typing import Any
except ImportError:  # Python 2.7 on a node: the names are only read by mypy
    pass

from .errors import NodeError
from .iptables_path import IptablesPath
from .ovs_bridges import OvsBridges
from .privatetmp import PrivateTmp
from .quantum_config import QuantumConfig
from .vif_driver import VifDriver

STEPS = (PrivateTmp(), IptablesPath(), VifDriver(), OvsBridges(), QuantumConfig())  # type: tuple[Any, ...]
NAMES = tuple(step.name for step in STEPS)
# The modules' names for the steps (an Ansible module name has no "-").
MODULE_NAMES = dict((name, name.replace("-", "_")) for name in NAMES)


def select_steps(names):
    # type: (list[str] | tuple[str, ...]) -> tuple
    """The steps named (all when none is), in run order; an unknown name is an error."""
    known = dict((step.name, step) for step in STEPS)
    aliases = dict((value, key) for key, value in MODULE_NAMES.items())
    wanted = [aliases.get(name, name) for name in names]
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise NodeError("unknown step '%s' (steps: %s)" % (unknown[0], ", ".join(NAMES)))
    return tuple(step for step in STEPS if not wanted or step.name in wanted)
