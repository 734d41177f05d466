"""netnsfix fleet: apply to 1, 3, 10 and 20 container nodes, the no-op second apply, verify, and the module runs
each node had; the wrapper's overhead over plain ansible-playbook on the same exported project; and netnsfix
host apply --root ten times. Run as root with a Docker engine: .venv/bin/python bench/bench_fleet.py
[--docker] [--rounds N] [COUNT ...] (default 1 3 10 20; 20 only when the machine has 8 GiB available; 3
rounds). Ansible reaches the nodes over SSH, as it reaches a real fleet (the exported ansible.cfg:
ControlPersist, pipelining, forks = the node count, at least 10, no fact gathering); --docker uses the
community.docker docker connection instead (a `docker exec` per module run). Each group of nodes is booted
fresh, so every first apply installs the package and changes every file, and each node runs the Quantum agents
its role runs (stand-ins that stay up as the agents do), so the apply's restart handler really restarts them,
in the role's batches, as on a real fleet. Each group is booted and measured once per round (the counts in
turn within a round, so the one-node and ten-node applies of a round see the machine in the same state) and
each figure is the median over the rounds, the ratio to one node the median of the rounds' ratios: on this
machine the same 10-node apply costs 7.5 to 9 CPU-seconds on the nodes from one run to the next, so one sample
decides nothing. Wrapper/plain is the median of the `netnsfix fleet apply` no-op runs over the median of the
plain `ansible-playbook site.yml` no-op runs, three of each per round, taken in turns; the wrapper is the
`netnsfix` command the operator runs (the venv's script). The load average is printed before and after. The
targets (issue 16): 10 nodes apply in at most 3x one node's time and at most 25 s; wrapper/plain at most 1.10.
"""

from __future__ import annotations

import io
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hostroot import make_node_root

from netnsfix.demo.fleetnodes import (
    FleetNode,
    authorize_key,
    booted_nodes,
    ensure_node_image,
    make_key,
    node_run,
    published_repo,
    put_files,
)
from netnsfix.fleet.ansible import base_environment, program
from netnsfix.recipe import find_recipe
from netnsfix.tools.engine import Container, Engine, connect

SITE = '[fleet]\npkg_backend = "rpm"\n[defaults]\nprivate_nic = "eth2"\n'
SITE += 'iscsi_ip_address = "192.168.1.101"\n[nodes.n01]\npublic_nic = "eth1"\n'
REPO_IN_NODE = "/srv/netnsfix-repo"
# the agents a node of each role runs (the released units' ExecStart binaries, run as User=quantum); a
# compute node's nova-compute and a cinder node's cinder-volume units are not in these roots
AGENTS = {
    "network": ("quantum-l3-agent", "quantum-dhcp-agent", "quantum-openvswitch-agent"),
    "compute": ("quantum-openvswitch-agent",),
}
AGENT = b"#!/bin/sh\n# stands in for a Quantum agent: up until systemd stops it\nexec sleep 1000000\n"
SSH_OPTIONS = "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'"
PAIRS = 3  # plain and wrapper no-op runs, in turns, for wrapper/plain


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
    """The command an operator runs: the venv's netnsfix script (python -m netnsfix where there is none)."""
    script = Path(sys.executable).parent / "netnsfix"
    return [str(script), *args] if script.is_file() else [sys.executable, "-m", "netnsfix", *args]


def start_agents(container: Container, role: str) -> None:
    """Make the role's agents run on the node, as on a real one: their binaries, their user, started."""
    agents = AGENTS[role]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for agent in agents:
            info = tarfile.TarInfo(agent)
            info.size, info.mode = len(AGENT), 0o755
            archive.addfile(info, io.BytesIO(AGENT))
    container.put_archive("/usr/bin", buffer.getvalue())
    node_run(container, "useradd", "--system", "--no-create-home", "quantum")
    node_run(container, "systemctl", "daemon-reload")
    node_run(container, "systemctl", "start", *(f"{agent}.service" for agent in agents))


def host_line(name: str, node: FleetNode, key: Path | None) -> str:
    if key is None:
        return f"{name} ansible_connection=community.docker.docker ansible_host={node.container.name}"
    return f"{name} ansible_host={node.address} ansible_user=root ansible_ssh_private_key_file={key} {SSH_OPTIONS}"


def group(engine: Engine, image: str, repo: Path, base: Path, count: int, key: Path | None) -> dict[str, list[float]]:
    names = tuple(f"n{i:02d}" for i in range(1, count + 1))
    figures: dict[str, list[float]] = {}
    with booted_nodes(engine, image, names, "netnsfix-fleetbench") as nodes:
        tar = subprocess.run(["tar", "-C", str(repo), "-cf", "-", "."], check=True, capture_output=True).stdout
        for name, node in nodes.items():
            put_files(node.container, make_node_root(base / f"{count}-{name}", plugin_ini=(name == "n01")))
            node.container.exec(["mkdir", "-p", REPO_IN_NODE])
            node.container.put_archive(REPO_IN_NODE, tar)
            for nic in ("eth1", "eth2"):
                node.container.exec(["/usr/bin/ip", "link", "add", nic, "type", "veth", "peer", "name", f"{nic}-peer"])
            start_agents(node.container, "network" if name == names[0] else "compute")
            if key is not None:
                authorize_key(node.container, key.with_suffix(".pub").read_bytes())
                node_run(node.container, "systemctl", "restart", "ssh")
        inventory = base / f"inventory-{count}.ini"
        lines = ["[network]"] + [host_line(n, nodes[n], key) for n in names[:1]]
        lines += ["[compute]"] + [host_line(n, nodes[n], key) for n in names[1:]]
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
        seconds, code = timed(netnsfix("fleet", "plan", *run), keep=f"plan-{count}")
        assert code == 1, f"plan on {count} nodes found nothing to change"
        figures["plan"] = [seconds]
        seconds, code = timed(netnsfix("fleet", "apply", *run), keep=f"apply-{count}")
        assert code == 0, f"apply on {count} nodes failed"
        figures["apply"] = [seconds]
        restarts = len(re.findall(r"Restart the units owed a restart: restarted ", TABLES[f"apply-{count}"]))
        assert restarts == count, f"apply on {count} nodes restarted the agents on {restarts}"
        seconds, code = timed(netnsfix("fleet", "apply", *run), keep=f"no-op-{count}")
        assert code == 0
        figures["no-op apply"] = [seconds]
        seconds, code = timed(netnsfix("fleet", "verify", *run), keep=f"verify-{count}")
        assert code == 0, f"verify on {count} nodes failed"
        figures["verify"] = [seconds]
        env = base_environment(project)
        plain, wrapper = [], []
        for _ in range(PAIRS):  # in turns, so both see the same machine
            seconds, code = timed([program("ansible-playbook"), "-i", str(inventory), "site.yml"], env, project)
            assert code == 0
            plain.append(seconds)
            seconds, code = timed(netnsfix("fleet", "apply", *run))
            assert code == 0
            wrapper.append(seconds)
        figures["plain no-op"] = plain
        figures["wrapper no-op"] = wrapper
    return figures


def measure_rounds(
    engine: Engine, image: str, repo: Path, base: Path, counts: list[int], key: Path | None, rounds: int
) -> tuple[dict[int, dict[str, float]], dict[int, list[float]]]:
    """Every group booted and measured once per round, the counts in turn within a round (so a one-node and a
    ten-node apply of one round see the machine in the same state); each figure's median over its samples, and
    each round's apply ratio to one node."""
    samples: dict[int, dict[str, list[float]]] = {count: {} for count in counts}
    ratios: dict[int, list[float]] = {count: [] for count in counts if count > 1}
    for round_ in range(rounds):
        folder = base / f"round-{round_}"
        folder.mkdir(exist_ok=True)
        applied = {}
        for count in counts:
            for name, values in group(engine, image, repo, folder, count, key).items():
                samples[count].setdefault(name, []).extend(values)
            applied[count] = samples[count]["apply"][-1]
        if 1 in applied:
            for count in ratios:
                ratios[count].append(applied[count] / applied[1])
    medians = {count: {name: statistics.median(v) for name, v in figures.items()} for count, figures in samples.items()}
    return medians, ratios


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


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def available_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def main() -> None:
    if os.geteuid() != 0:
        sys.exit("bench_fleet: run as root (the nodes are containers with systemd)")
    args = [arg for arg in sys.argv[1:] if arg != "--docker"]
    rounds = 3
    if "--rounds" in args:
        at = args.index("--rounds")
        rounds = int(args[at + 1])
        del args[at : at + 2]
    counts = [int(arg) for arg in args] or [1, 3, 10, 20]
    if 20 in counts and not args and available_gib() < 8:
        print(f"20 nodes left out: {available_gib():.1f} GiB available, 8 wanted")
        counts.remove(20)
    engine = connect()
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as scratch:
        base = Path(scratch)
        started = time.monotonic()
        published = published_repo(find_recipe("iproute-3.6.0-fc18"), base / "demo")
        image = ensure_node_image(engine, published.glibc_rpm)
        print(f"repository and node image ready in {time.monotonic() - started:.1f} s")
        key = None if "--docker" in sys.argv[1:] else make_key(base)
        connection = "docker" if key is None else "ssh"
        print(f"connection: {connection}; {rounds} round(s); load average before: {load_average()}")
        results, ratios = measure_rounds(engine, image, published.repo, base, counts, key, rounds)
        host = host_apply_ten_times(base)
    print(
        f"{'nodes':>5}  {'runs/node':>9}  {'no-op runs':>10}  {'plan':>7}  {'apply':>7}  {'no-op':>7}  "
        f"{'verify':>7}  {'plain no-op':>11}  {'wrapper/plain':>13}"
    )
    for count, f in results.items():
        wrapper = f["wrapper no-op"]
        print(
            f"{count:>5}  {module_runs(f'apply-{count}'):>9}  {module_runs(f'no-op-{count}'):>10}  "
            f"{f['plan']:>6.1f}s  {f['apply']:>6.1f}s  {f['no-op apply']:>6.1f}s  {f['verify']:>6.1f}s  "
            f"{f['plain no-op']:>10.1f}s  {wrapper / f['plain no-op']:>12.2f}x"
        )
    if 1 in results:
        for count in (c for c in results if c > 1):
            each = ", ".join(f"{ratio:.2f}x" for ratio in ratios[count])
            print(
                f"{count} nodes / 1 node, apply: {statistics.median(ratios[count]):.2f}x, the median of the rounds' "
                f"({each}); medians' ratio {results[count]['apply'] / results[1]['apply']:.2f}x"
            )
    print(f"netnsfix host apply --root, ten folders one after another: {host:.1f} s")
    print(f"load average after: {load_average()}")
    for name in ("apply-3", "no-op-3", "verify-3"):
        print(f"\n$ netnsfix fleet {name.rsplit('-', 1)[0]} (3 nodes)\n{TABLES.get(name, '')}")


if __name__ == "__main__":
    main()
