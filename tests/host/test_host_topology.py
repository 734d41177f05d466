"""topology: the seed's overlapping-subnet example as quantum commands in an order that works."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostroot import cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "overlapping-subnets.toml"

SEED = """\
quantum net-create --tenant-id "$tenant" public01 --provider:network_type flat --provider:physical_network physnet1 --router:external=True
quantum subnet-create --tenant-id "$tenant" --name public01_subnet01 --gateway 10.64.201.254 public01 10.64.201.0/24 --enable_dhcp False
quantum router-create --tenant-id "$tenant" router01
quantum router-gateway-set router01 public01
quantum router-create --tenant-id "$tenant" router02
quantum router-gateway-set router02 public01
quantum net-create --tenant-id "$tenant" net01 --provider:network_type vlan --provider:physical_network physnet2 --provider:segmentation_id 101
quantum subnet-create --tenant-id "$tenant" --name net01_subnet01 net01 192.168.101.0/24
quantum net-create --tenant-id "$tenant" net02 --provider:network_type vlan --provider:physical_network physnet2 --provider:segmentation_id 102
quantum subnet-create --tenant-id "$tenant" --name net02_subnet01 net02 192.168.101.0/24
quantum router-interface-add router01 net01_subnet01
quantum router-interface-add router02 net02_subnet01
"""


def test_the_shipped_example_gives_the_seeds_commands(capsys) -> None:
    code, out, _ = cli(capsys, "host", "topology", str(EXAMPLE))
    assert code == 0
    assert out == SEED


def test_every_command_comes_after_what_it_refers_to(capsys) -> None:
    _, out, _ = cli(capsys, "host", "topology")
    made: set[str] = set()
    for line in out.splitlines():
        words = line.split()
        verb = words[1]
        if verb in ("net-create", "router-create"):
            made.add(words[4])
        elif verb == "subnet-create":
            name = words[words.index("--name") + 1]
            network = next(w for w in words[6:] if w in made)
            assert network in made
            made.add(name)
        elif verb in ("router-gateway-set", "router-interface-add"):
            assert words[2] in made and words[3] in made, line


BASE = """\
[[networks]]
name = "public01"
type = "flat"
physnet = "physnet1"
external = true

[[networks]]
name = "net01"
type = "vlan"
physnet = "physnet2"
segmentation_id = 101

[[subnets]]
name = "s1"
network = "net01"
cidr = "192.168.101.0/24"
"""


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            '[[subnets]]\nname = "s2"\nnetwork = "net09"\ncidr = "10.0.0.0/24"\n',
            "subnet s2: network 'net09' is not declared",
        ),
        ('[[routers]]\nname = "r1"\ninterfaces = ["s9"]\n', "router r1: interface subnet 's9' is not declared"),
        (
            '[[routers]]\nname = "r1"\ngateway = "net01"\n',
            "router r1: gateway 'net01' is not a declared external network",
        ),
        (
            '[[networks]]\nname = "net03"\ntype = "vlan"\nphysnet = "physnet2"\nsegmentation_id = 300\n',
            "segmentation_id 300 is outside physnet2:100:199",
        ),
        (
            '[[networks]]\nname = "net03"\ntype = "flat"\nphysnet = "physnet7"\n',
            "physnet 'physnet7' is not one of the node's",
        ),
        (
            '[[subnets]]\nname = "s2"\nnetwork = "net01"\ncidr = "192.168.101.0/24"\n'
            '[[routers]]\nname = "r1"\ninterfaces = ["s1", "s2"]\n',
            "s2 overlaps another subnet on the same router",
        ),
        (
            '[[subnets]]\nname = "s2"\nnetwork = "net01"\ncidr = "10.1.0.0/24"\ngateway = "10.2.0.1"\n',
            "gateway 10.2.0.1 is outside 10.1.0.0/24",
        ),
    ],
    ids=[
        "subnet-network",
        "router-subnet",
        "gateway-internal",
        "vlan-range",
        "physnet",
        "overlap-one-router",
        "gateway-outside",
    ],
)
def test_bad_references_are_one_error_naming_the_file(tmp_path, capsys, extra, message) -> None:
    path = tmp_path / "topology.toml"
    path.write_text(BASE + extra)
    code, out, err = cli(capsys, "host", "topology", str(path))
    assert code == 2 and out == ""
    assert err.startswith(f"netnsfix: error: {path}: ") and message in err
