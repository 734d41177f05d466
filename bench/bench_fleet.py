"""netnsfix fleet: apply to 1, 3, 10 and 20 container nodes, the no-op second apply, verify, and the module
runs each node had; the wrapper's overhead over plain ansible-playbook on the same exported project; and
netnsfix host apply --root ten times.

Run as root with a Docker engine: .venv/bin/python bench/bench_fleet.py [COUNT ...]   (default 1 3 10 20;
20 only when the machine has 8 GiB available). Nodes use the docker connection; the exported ansible.cfg
sets forks to the node count (at least 10), pipelining on, no fact gathering. Each group of nodes is booted
fresh, so every first apply installs the package and changes every file. The targets (issue 16): 10 nodes
apply in at most 3x one node's time and at most 25 s; wrapper/plain at most 1.10.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hostroot import make_node_root

from netnsfix.demo.fleetnodes import booted_nodes, ensure_node_image, published_repo, put_files
from netnsfix.fleet.ansible import base_environment, program
from netnsfix.recipe import find_recipe
from netnsfix.tools.engine import connect

SITE = '[fleet]\npkg_backend = "rpm"\n[defaults]\nprivate_nic = "eth2"\n'
SITE += 'iscsi_ip_address = "192.168.1.101"\n[nodes.n01]\npublic_nic = "eth1"\n'
REPO_IN_NODE = "/srv/netnsfix-repo"


TABLES: dict[str, str] = {}  # the wrapper's own output, printed at the end for 3 nodes
RUNS = re.compile(r"nodes in [\d.]+ s, (?:(\d+)-)?(\d+) module runs per node$", re.M)


def timed(
    argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None, keep: str = ""
) -> tuple[float, int]:
    started = time.monotonic()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    if keep:
        TABLES[keep] = done.stdout
    return time.monotonic() - started, done.returncode


def module_runs(name: str) -> str:
    """What the wrapper's table says about module runs per node (\"3\" or \"2-3\")."""
    found = RUNS.search(TABLES.get(name, ""))
    if not found:
        return "?"
    return found[2] if not found[1] else f"{found[1]}-{found[2]}"


def netnsfix(*args: str) -> list[str]:
    return [sys.executable, "-m", "netnsfix", *args]


def group(engine, image: str, repo: Path, base: Path, count: int) -> dict[str, float]:
    names = tuple(f"n{i:02d}" for i in range(1, count + 1))
    figures: dict[str, float] = {}
    with booted_nodes(engine, image, names, "netnsfix-fleetbench") as nodes:
        tar = subprocess.run(["tar", "-C", str(repo), "-cf", "-", "."], check=True, capture_output=True).stdout
        for name, node in nodes.items():
            put_files(node.container, make_node_root(base / f"{count}-{name}", plugin_ini=(name == "n01")))
            node.container.exec(["mkdir", "-p", REPO_IN_NODE])
            node.container.put_archive(REPO_IN_NODE, tar)
            for nic in ("eth1", "eth2"):
                node.container.exec(["/usr/bin/ip", "link", "add", nic, "type", "veth", "peer", "name", f"{nic}-peer"])
        inventory = base / f"inventory-{count}.ini"
        lines = ["[network]"] + [
            f"{n} ansible_connection=community.docker.docker ansible_host={nodes[n].container.name}" for n in names[:1]
        ]
        lines += ["[compute]"] + [
            f"{n} ansible_connection=community.docker.docker ansible_host={nodes[n].container.name}" for n in names[1:]
        ]
        inventory.write_text("\n".join(lines) + "\n")
        site = base / "site.toml"
        site.write_text(SITE)
        project = base / f"project-{count}"
        subprocess.run(
            netnsfix(
                "fleet",
                "export",
                "-i",
                str(inventory),
                "--site",
                str(site),
                "--repo",
                str(repo),
                "--repo-url",
                f"file://{REPO_IN_NODE}",
                "-o",
                str(project),
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        run = ["-i", str(inventory), "--project", str(project), "--site", str(site)]
        figures["plan"], code = timed(netnsfix("fleet", "plan", *run), keep=f"plan-{count}")
        assert code == 1, f"plan on {count} nodes found nothing to change"
        figures["apply"], code = timed(netnsfix("fleet", "apply", *run), keep=f"apply-{count}")
        assert code == 0, f"apply on {count} nodes failed"
        figures["no-op apply"], code = timed(netnsfix("fleet", "apply", *run), keep=f"no-op-{count}")
        assert code == 0
        figures["verify"], code = timed(netnsfix("fleet", "verify", *run), keep=f"verify-{count}")
        assert code == 0, f"verify on {count} nodes failed"
        env = base_environment(project)
        figures["plain no-op"], code = timed(
            [program("ansible-playbook"), "-i", str(inventory), "site.yml"], env, project
        )
        assert code == 0
        figures["wrapper no-op again"], _ = timed(netnsfix("fleet", "apply", *run))
    return figures


def host_apply_ten_times(base: Path) -> float:
    roots = [make_node_root(base / f"host-{i}", plugin_ini=True) for i in range(10)]
    started = time.monotonic()
    for root in roots:
        subprocess.run(
            netnsfix(
                "host",
                "apply",
                "privatetmp",
                "iptables-path",
                "vif-driver",
                "quantum-config",
                "--root",
                str(root),
                "--private-nic",
                "eth2",
                "--iscsi-ip-address",
                "192.168.1.101",
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return time.monotonic() - started


def available_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def main() -> None:
    if os.geteuid() != 0:
        sys.exit("bench_fleet: run as root (the nodes are containers with systemd)")
    counts = [int(arg) for arg in sys.argv[1:]] or [1, 3, 10, 20]
    if 20 in counts and not sys.argv[1:] and available_gib() < 8:
        print(f"20 nodes left out: {available_gib():.1f} GiB available, 8 wanted")
        counts.remove(20)
    engine = connect()
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as scratch:
        base = Path(scratch)
        started = time.monotonic()
        published = published_repo(find_recipe("iproute-3.6.0-fc18"), base / "demo")
        image = ensure_node_image(engine, published.glibc_rpm)
        print(f"repository and node image ready in {time.monotonic() - started:.1f} s")
        results = {count: group(engine, image, published.repo, base, count) for count in counts}
        host = host_apply_ten_times(base)
    print(
        f"{'nodes':>5}  {'runs/node':>9}  {'no-op runs':>10}  {'plan':>7}  {'apply':>7}  {'no-op':>7}  "
        f"{'verify':>7}  {'plain no-op':>11}  {'wrapper/plain':>13}"
    )
    for count, f in results.items():
        wrapper = (f["no-op apply"] + f["wrapper no-op again"]) / 2
        print(
            f"{count:>5}  {module_runs(f'apply-{count}'):>9}  {module_runs(f'no-op-{count}'):>10}  "
            f"{f['plan']:>6.1f}s  {f['apply']:>6.1f}s  {f['no-op apply']:>6.1f}s  {f['verify']:>6.1f}s  "
            f"{f['plain no-op']:>10.1f}s  {wrapper / f['plain no-op']:>12.2f}x"
        )
    if 1 in results:
        for count in (c for c in results if c > 1):
            print(f"{count} nodes / 1 node, apply: {results[count]['apply'] / results[1]['apply']:.2f}x")
    print(f"netnsfix host apply --root, ten folders one after another: {host:.1f} s")
    for name in ("apply-3", "no-op-3", "verify-3"):
        print(f"\n$ netnsfix fleet {name.rsplit('-', 1)[0]} (3 nodes)\n{TABLES.get(name, '')}")


if __name__ == "__main__":
    main()
