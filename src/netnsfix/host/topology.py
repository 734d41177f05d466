"""The seed's overlapping-subnet example as data, turned into quantum commands.

A TOML file declares networks, subnets and routers; :func:`load_topology`
checks every reference (a subnet's network, a router's gateway network and
interface subnets, physnets and VLAN ids against the node's settings) and
:func:`quantum_commands` lists the quantum CLI calls in an order that works:
external networks and their subnets, routers with their gateways, tenant
networks and subnets, then the router interfaces.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netnsfix.errors import HostError
from netnsfix.host.settings import PhysNet
from netnsfix.util.tomlfile import read_toml

NETWORK_TYPES = ("flat", "vlan", "local")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Network:
    name: str
    network_type: str
    physical_network: str | None
    segmentation_id: int | None
    external: bool


@dataclass(frozen=True)
class Subnet:
    name: str
    network: str
    cidr: str
    gateway: str | None
    dhcp: bool


@dataclass(frozen=True)
class Router:
    name: str
    gateway: str | None
    interfaces: tuple[str, ...]


@dataclass(frozen=True)
class Topology:
    tenant: str
    networks: tuple[Network, ...]
    subnets: tuple[Subnet, ...]
    routers: tuple[Router, ...]


def load_topology(path: Path, physnets: tuple[PhysNet, ...]) -> Topology:
    """Read and check ``path``; every error names the file and the entry."""
    raw = read_toml(path, HostError)
    try:
        return _checked(raw, physnets)
    except HostError as error:
        raise HostError(f"{path}: {error}") from None
    except (KeyError, TypeError, ValueError) as error:
        raise HostError(f"{path}: malformed entry ({error})") from None


def _checked(raw: dict[str, Any], physnets: tuple[PhysNet, ...]) -> Topology:
    known = {p.name: p for p in physnets}
    networks: dict[str, Network] = {}
    for entry in raw.get("networks", []):
        name = _name(entry, "network")
        kind = entry.get("type", "local")
        if kind not in NETWORK_TYPES:
            raise HostError(f"network {name}: type {kind!r} is not one of {', '.join(NETWORK_TYPES)}")
        physnet = entry.get("physnet")
        segment = entry.get("segmentation_id")
        if kind != "local":
            if physnet not in known:
                raise HostError(f"network {name}: physnet {physnet!r} is not one of the node's ({', '.join(known)})")
            vlans = known[physnet].vlans
            if kind == "vlan" and (
                not isinstance(segment, int) or vlans is None or not vlans[0] <= segment <= vlans[1]
            ):
                raise HostError(f"network {name}: segmentation_id {segment!r} is outside {known[physnet]}'s VLAN range")
        if name in networks:
            raise HostError(f"network {name} is declared twice")
        networks[name] = Network(
            name, kind, physnet, segment if kind == "vlan" else None, bool(entry.get("external", False))
        )
    subnets: dict[str, Subnet] = {}
    for entry in raw.get("subnets", []):
        name = _name(entry, "subnet")
        network = entry["network"]
        if network not in networks:
            raise HostError(f"subnet {name}: network {network!r} is not declared")
        cidr = ipaddress.ip_network(entry["cidr"], strict=True)
        gateway = entry.get("gateway")
        if gateway is not None and ipaddress.ip_address(gateway) not in cidr:
            raise HostError(f"subnet {name}: gateway {gateway} is outside {cidr}")
        if name in subnets:
            raise HostError(f"subnet {name} is declared twice")
        subnets[name] = Subnet(name, network, str(cidr), gateway, bool(entry.get("dhcp", True)))
    routers: list[Router] = []
    attached: dict[str, str] = {}
    for entry in raw.get("routers", []):
        name = _name(entry, "router")
        gateway = entry.get("gateway")
        if gateway is not None and (gateway not in networks or not networks[gateway].external):
            raise HostError(f"router {name}: gateway {gateway!r} is not a declared external network")
        interfaces = tuple(entry.get("interfaces", []))
        cidrs: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for subnet in interfaces:
            if subnet not in subnets:
                raise HostError(f"router {name}: interface subnet {subnet!r} is not declared")
            if networks[subnets[subnet].network].external:
                raise HostError(f"router {name}: {subnet} is on an external network; use gateway")
            if subnet in attached:
                raise HostError(f"router {name}: {subnet} is already attached to {attached[subnet]}")
            cidr = ipaddress.ip_network(subnets[subnet].cidr)
            if any(cidr.overlaps(other) for other in cidrs):
                raise HostError(f"router {name}: {subnet} overlaps another subnet on the same router")
            cidrs.append(cidr)
            attached[subnet] = name
        routers.append(Router(name, gateway, interfaces))
    if len({r.name for r in routers}) != len(routers):
        raise HostError("a router is declared twice")
    return Topology(
        str(raw.get("tenant", "$tenant")), tuple(networks.values()), tuple(subnets.values()), tuple(routers)
    )


def _name(entry: dict[str, Any], kind: str) -> str:
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise HostError(f"a {kind} has no usable name ({name!r})")
    return name


def _net_create(tenant: str, network: Network) -> tuple[str, ...]:
    argv = ["quantum", "net-create", "--tenant-id", tenant, network.name]
    if network.network_type != "local":
        argv += [
            "--provider:network_type",
            network.network_type,
            "--provider:physical_network",
            str(network.physical_network),
        ]
    if network.segmentation_id is not None:
        argv += ["--provider:segmentation_id", str(network.segmentation_id)]
    if network.external:
        argv.append("--router:external=True")
    return tuple(argv)


def _subnet_create(tenant: str, subnet: Subnet) -> tuple[str, ...]:
    argv = ["quantum", "subnet-create", "--tenant-id", tenant, "--name", subnet.name]
    if subnet.gateway:
        argv += ["--gateway", subnet.gateway]
    argv += [subnet.network, subnet.cidr]
    if not subnet.dhcp:
        argv += ["--enable_dhcp", "False"]
    return tuple(argv)


def quantum_commands(topology: Topology) -> tuple[tuple[str, ...], ...]:
    """The quantum CLI calls that build ``topology``, each after everything it refers to."""
    tenant = topology.tenant
    external = {n.name for n in topology.networks if n.external}
    commands: list[tuple[str, ...]] = []
    for network in topology.networks:
        if network.external:
            commands.append(_net_create(tenant, network))
            commands += [_subnet_create(tenant, s) for s in topology.subnets if s.network == network.name]
    for router in topology.routers:
        commands.append(("quantum", "router-create", "--tenant-id", tenant, router.name))
        if router.gateway:
            commands.append(("quantum", "router-gateway-set", router.name, router.gateway))
    for network in topology.networks:
        if network.name not in external:
            commands.append(_net_create(tenant, network))
            commands += [_subnet_create(tenant, s) for s in topology.subnets if s.network == network.name]
    for router in topology.routers:
        commands += [("quantum", "router-interface-add", router.name, subnet) for subnet in router.interfaces]
    return tuple(commands)


def shell_line(argv: tuple[str, ...]) -> str:
    """One command as a shell line; a ``$variable`` stays a variable (double-quoted)."""
    return " ".join(f'"{a}"' if re.fullmatch(r"\$[A-Za-z_][A-Za-z0-9_]*", a) else shlex.quote(a) for a in argv)
