"""The companion steps, in the order ``apply`` runs them."""

from __future__ import annotations

from collections.abc import Sequence

from netnsfix.errors import HostError
from netnsfix.host.core import Step
from netnsfix.host.iptables_path import IptablesPath
from netnsfix.host.ovs_bridges import OvsBridges
from netnsfix.host.privatetmp import PrivateTmp
from netnsfix.host.quantum_config import QuantumConfig
from netnsfix.host.vif_driver import VifDriver

STEPS: tuple[Step, ...] = (PrivateTmp(), IptablesPath(), VifDriver(), OvsBridges(), QuantumConfig())


def select_steps(names: Sequence[str]) -> tuple[Step, ...]:
    """The steps named (all when none is), in run order; an unknown name is an error."""
    known = {step.name: step for step in STEPS}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise HostError(f"unknown step {unknown[0]!r} (steps: {', '.join(known)})")
    return tuple(step for step in STEPS if not names or step.name in names)
