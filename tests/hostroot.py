"""A small Fedora 18 node root for the host-step tests.

It holds what the companion steps edit, shaped like Fedora 18 with
openstack-quantum 2012.2: the four quantum unit files with PrivateTmp=true,
quantum.conf (mode 0640), plugin.ini as an absolute symlink to the OVS plugin's
ini, nova.conf with the empty libvirt_vif_driver quantum-node-setup leaves,
cinder.conf, all with comments, and an iptables_manager.py whose
``IptablesManager._apply`` calls /sbin/iptables at line 272 as 2012.2 did.
The files are written for these tests, not copied from the packages.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from processkit import stop

SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"

UNITS = {
    "quantum-dhcp-agent": ("Quantum DHCP Agent", "quantum-dhcp-agent", "dhcp_agent.ini"),
    "quantum-l3-agent": ("Quantum Layer 3 Agent", "quantum-l3-agent", "l3_agent.ini"),
    "quantum-openvswitch-agent": ("Quantum Open vSwitch Agent", "quantum-openvswitch-agent", "plugin.ini"),
    "quantum-server": ("Quantum Server", "quantum-server", "plugin.ini"),
}

QUANTUM_CONF = """\
[DEFAULT]
# Show more verbose log output (sets INFO log level output)
verbose = False

# Address and port the quantum API server binds to
bind_host = 0.0.0.0
bind_port = 9696

# The core plugin Quantum will use
core_plugin = quantum.plugins.openvswitch.ovs_quantum_plugin.OVSQuantumPluginV2

# Enable or disable overlapping IPs for subnets.
# Attention: the following parameter MUST be set to False if Quantum is
# being used in conjunction with nova security groups and/or metadata service.
# allow_overlapping_ips = False

auth_strategy = keystone

rpc_backend = quantum.openstack.common.rpc.impl_qpid
qpid_hostname = 192.168.1.101

[QUOTAS]
# quota_network = 10
"""

OVS_PLUGIN_INI = """\
[DATABASE]
# This line MUST be changed to actually run the plugin.
sql_connection = mysql://quantum:secret@192.168.1.101:3306/ovs_quantum
reconnect_interval = 2

[OVS]
# (StrOpt) Type of network to allocate for tenant networks. The
# default value 'local' is useful only for single-box testing and
# provides no connectivity between hosts.
# tenant_network_type = local
tenant_network_type = local

# (ListOpt) Comma-separated list of <physical_network>[:<vlan_min>:<vlan_max>]
# network_vlan_ranges =

# Do not change this parameter unless you have a good reason to.
integration_bridge = br-int

# (ListOpt) Comma-separated list of <physical_network>:<bridge> tuples
# bridge_mappings =

[AGENT]
# Agent's polling interval in seconds
polling_interval = 2
root_helper = sudo quantum-rootwrap /etc/quantum/rootwrap.conf
"""

NOVA_CONF = """\
[DEFAULT]
# Written by openstack-config and quantum-node-setup
logdir = /var/log/nova
state_path = /var/lib/nova
lock_path = /var/lib/nova/tmp
volumes_dir = /etc/nova/volumes
dhcpbridge = /usr/bin/nova-dhcpbridge
dhcpbridge_flagfile = /etc/nova/nova.conf
force_dhcp_release = True
injected_network_template = /usr/share/nova/interfaces.template
libvirt_nonblocking = True
libvirt_inject_partition = -1
network_api_class = nova.network.quantumv2.api.API
quantum_url = http://192.168.1.101:9696
# quantum-node-setup --plugin openvswitch leaves this empty (Bug 885932)
libvirt_vif_driver =
libvirt_use_virtio_for_bridges = True

[keystone_authtoken]
admin_tenant_name = %SERVICE_TENANT_NAME%
admin_user = %SERVICE_USER%
"""

CINDER_CONF = """\
[DEFAULT]
logdir = /var/log/cinder
state_path = /var/lib/cinder
lock_path = /var/lib/cinder/tmp
volumes_dir = /etc/cinder/volumes
iscsi_helper = tgtadm
# iscsi_ip_address must be an address: a name from /etc/hosts did not work
iscsi_ip_address = node1.example.com
sql_connection = mysql://cinder:secret@localhost/cinder
rootwrap_config = /etc/cinder/rootwrap.conf

[keystone_authtoken]
admin_tenant_name = %SERVICE_TENANT_NAME%
"""

IPTABLES_LINE = 272


def unit_file(unit: str) -> str:
    description, binary, ini = UNITS[unit]
    return (
        "[Unit]\n"
        f"Description={description}\n"
        "After=syslog.target network.target\n\n"
        "[Service]\n"
        "Type=simple\n"
        "User=quantum\n"
        f"ExecStart=/usr/bin/{binary} --config-file /etc/quantum/quantum.conf --config-file /etc/quantum/{ini}\n"
        "PrivateTmp=true\n"
        "Restart=on-failure\n\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )


def iptables_manager() -> str:
    """A module shaped like quantum 2012.2's, the two command lines inside ``IptablesManager._apply`` at 272/274."""
    head = [
        "# vim: tabstop=4 shiftwidth=4 softtabstop=4",
        "#",
        "# Test fixture for netnsfix, shaped like quantum 2012.2's",
        "# quantum/agent/linux/iptables_manager.py (written for the tests).",
        "",
        '"""Implements iptables rules using linux utilities."""',
        "",
        "import inspect",
        "import os",
        "",
        "from quantum.agent.linux import utils",
        "",
        "",
        "class IptablesRule(object):",
        '    """An iptables rule."""',
        "",
        "    def __init__(self, chain, rule, wrap=True, top=False):",
        "        self.chain = chain",
        "        self.rule = rule",
        "        self.wrap = wrap",
        "        self.top = top",
        "",
        "",
        "class IptablesTable(object):",
        '    """An iptables table."""',
        "",
        "    def __init__(self):",
        "        self.rules = []",
        "        self.chains = set()",
        "",
    ]
    manager = [
        "",
        "class IptablesManager(object):",
        '    """Wrapper for iptables."""',
        "",
        "    def __init__(self, _execute=None, state_less=False,",
        "                 root_helper=None, use_ipv6=False):",
        "        self.execute = _execute or utils.execute",
        "        self.root_helper = root_helper",
        "        self.use_ipv6 = use_ipv6",
        "        self.ipv4 = {'filter': IptablesTable()}",
        "        self.ipv6 = {'filter': IptablesTable()}",
        "",
        "    def apply(self):",
        "        self._apply()",
        "",
        "    def _apply(self):",
        '        """Apply the in-memory rules with iptables-save/-restore."""',
    ]
    filler_count = IPTABLES_LINE - 1 - len(head) - len(manager)
    filler = [
        f"    # (line {len(head) + i + 1}: rule-building helpers of the real module)" for i in range(filler_count)
    ]
    body = [
        "        s = [('/sbin/iptables', self.ipv4)]",
        "        if self.use_ipv6:",
        "            s += [('/sbin/ip6tables', self.ipv6)]",
        "",
        "        for cmd, tables in s:",
        "            for table in tables:",
        "                args = ['%s-save' % cmd, '-t', table]",
        "                current = self.execute(args, root_helper=self.root_helper)",
        "                new = self._modify_rules(current.split('\\n'), tables[table])",
        "                self.execute(['%s-restore' % cmd], process_input='\\n'.join(new),",
        "                             root_helper=self.root_helper)",
        "",
        "    def _modify_rules(self, current_lines, table):",
        "        return current_lines",
        "",
        "",
        "def get_chain_name(chain_name, wrap=True):",
        "    return chain_name[:16]",
    ]
    lines = head + filler + manager + body
    assert lines[IPTABLES_LINE - 1].strip() == "s = [('/sbin/iptables', self.ipv4)]"
    return "\n".join(lines) + "\n"


def _write(root: Path, node_path: str, text: str, mode: int = 0o644) -> None:
    path = root / node_path.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def make_fedora18_root(root: Path) -> Path:
    """Write the node's files under ``root`` (which is created) and return it."""
    root.mkdir(parents=True, exist_ok=True)
    for folder in ("usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "var/lib", "var/run", "etc/systemd/system"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for link in ("bin", "sbin", "lib", "lib64"):  # UsrMove
        os.symlink(f"usr/{link}", root / link)
    for unit in UNITS:
        _write(root, f"/usr/lib/systemd/system/{unit}.service", unit_file(unit))
    _write(root, "/etc/quantum/quantum.conf", QUANTUM_CONF, 0o640)
    _write(root, "/etc/quantum/plugins/openvswitch/ovs_quantum_plugin.ini", OVS_PLUGIN_INI, 0o640)
    os.symlink("/etc/quantum/plugins/openvswitch/ovs_quantum_plugin.ini", root / "etc/quantum/plugin.ini")
    _write(root, "/etc/nova/nova.conf", NOVA_CONF, 0o640)
    _write(root, "/etc/cinder/cinder.conf", CINDER_CONF, 0o640)
    _write(root, "/usr/lib/python2.7/site-packages/quantum/agent/linux/iptables_manager.py", iptables_manager())
    _write(root, "/usr/lib/python2.7/site-packages/quantum/__init__.py", "")
    return root


def snapshot(root: Path) -> dict[str, tuple[str, object, int]]:
    """Every entry under ``root``: kind, content (bytes or link target), mode; to compare trees exactly."""
    result: dict[str, tuple[str, object, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            info = path.lstat()
            key = str(path.relative_to(root))
            if path.is_symlink():
                result[key] = ("link", os.readlink(path), 0)
            elif path.is_dir():
                result[key] = ("dir", None, info.st_mode & 0o7777)
            else:
                result[key] = ("file", path.read_bytes(), info.st_mode & 0o7777)
    return result


@contextmanager
def running_ovsdb(folder: Path) -> Iterator[str]:
    """A private ovsdb-server (Debian's openvswitch-switch) on a socket in ``folder``; yields its address.

    The server is this process's child, with its own database, socket, control
    socket and log in ``folder``: the system's Open vSwitch is never touched.
    It is stopped, and waited for, whatever happens.
    """
    folder.mkdir(parents=True, exist_ok=True)
    db, sock = folder / "conf.db", folder / "db.sock"
    subprocess.run(["ovsdb-tool", "create", str(db), SCHEMA], check=True, capture_output=True)
    server = subprocess.Popen(
        [
            "ovsdb-server",
            str(db),
            f"--remote=punix:{sock}",
            f"--unixctl={folder / 'ovsdb.ctl'}",
            f"--log-file={folder / 'ovsdb.log'}",
            "--no-chdir",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not sock.exists():
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ovsdb-server did not start: {(folder / 'ovsdb.log').read_text(errors='replace')}")
            time.sleep(0.02)
        address = f"unix:{sock}"
        subprocess.run(["ovs-vsctl", f"--db={address}", "--no-wait", "init"], check=True, capture_output=True)
        yield address
    finally:
        stop(server)  # SIGTERM, killed if it does not exit within 10 s


def vsctl(address: str, *args: str) -> list[str]:
    """ovs-vsctl against the private server: its output, one entry a line."""
    done = subprocess.run(
        ["ovs-vsctl", f"--db={address}", "--no-wait", *args], check=True, capture_output=True, text=True
    )
    return done.stdout.split()


@contextmanager
def read_only(*folders: Path) -> Iterator[None]:
    """Make ``folders`` refuse new entries without a mount: ``chattr +i`` as root, else ``chmod a-w``."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", *map(str, folders)], check=True)
    else:
        for folder in folders:
            folder.chmod(folder.stat().st_mode & ~0o222)
    try:
        yield
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", *map(str, folders)], check=True)
        else:
            for folder in folders:
                folder.chmod(folder.stat().st_mode | 0o200)


def all_folders(root: Path) -> list[Path]:
    return [root] + [Path(d) / n for d, names, _ in os.walk(root) for n in names if not (Path(d) / n).is_symlink()]


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run ``netnsfix ARGS`` in-process; exit code, stdout, stderr."""
    from netnsfix.cli import main

    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err
