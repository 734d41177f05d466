"""A Fedora 18 Quantum node's files as the released packages ship them, for the demo's fleet nodes and the tests.

Every file a companion step reads or edits is written here with the released
file's shape around each line a step uses: the same section headers, the same
neighbouring lines, the same keys commented or set, the same indentation and
(for iptables_manager.py) the same line numbers. The prose of comments is
written for netnsfix and long runs no step reads are shortened; where each
shape was read is said beside it (git history, read with the search tool's
code look-ups; /work/notes/issue10-facts.md lists the revisions).

The API, for the host-step tests, the Ansible role's tests and ``netnsfix demo --fleet``'s nodes:

``make_node_root(path, *, quantum="2012.2", plugin_ini=True, nova="node-setup", systemd=None)``
    writes a node root under ``path`` and returns it.

    - ``quantum``: ``"2012.2"`` is openstack-quantum 2012.2-1, what Fedora 18
      shipped (iptables_manager.py calls /sbin/iptables at line 272, all four
      units PrivateTmp=true); ``"2012.2.1"`` is the 2012.2.1-1 update (line 272
      fixed, the dhcp and l3 agents PrivateTmp=false).
    - ``plugin_ini``: True when ``quantum-server-setup --plugin openvswitch``
      ran (the /etc/quantum/plugin.ini symlink, the database URL, quantum.conf's
      rpc settings); False on a compute node where only quantum-node-setup ran.
    - ``nova``: ``"packaged"`` (Fedora's nova.conf as installed),
      ``"node-setup"`` (after quantum-node-setup --plugin openvswitch: the
      quantum keys, and no libvirt_vif_driver at all, Bug 885932) or
      ``"server-setup"`` (quantum-server-setup also wrote the hybrid driver).
    - ``systemd``: None writes no usr/share/pkgconfig/systemd.pc (the root says
      nothing about its systemd, so the privatetmp step takes Fedora 18's 197);
      a number writes that file with ``Version: N`` (``systemd_pc``), as a node
      whose systemd was updated (Fedora 18's updates reached 201) would have it.

``make_fedora18_root(path)`` is ``make_node_root(path)`` with the defaults.
The shapes themselves: ``iptables_manager(quantum)``, ``unit_file(unit, quantum)``,
``quantum_conf(quantum, server_setup)``, ``ovs_plugin_ini(server_setup)``,
``nova_conf(state)``, ``CINDER_CONF``; ``MODULE``, ``PLUGIN_INI`` and friends
name where they live on the node.
"""

from __future__ import annotations

import os
from pathlib import Path

QUANTUM_VERSIONS = ("2012.2", "2012.2.1")
NOVA_STATES = ("packaged", "node-setup", "server-setup")

# Where the files live on a Fedora 18 node (openstack-quantum.spec %files, rdo-packages/neutron-distgit 31d4016).
MODULE = "/usr/lib/python2.7/site-packages/quantum/agent/linux/iptables_manager.py"
QUANTUM_CONF_PATH = "/etc/quantum/quantum.conf"
OVS_PLUGIN_INI_PATH = "/etc/quantum/plugins/openvswitch/ovs_quantum_plugin.ini"
PLUGIN_INI = "/etc/quantum/plugin.ini"
NOVA_CONF_PATH = "/etc/nova/nova.conf"
CINDER_CONF_PATH = "/etc/cinder/cinder.conf"
UNIT_DIR = "/usr/lib/systemd/system"

# ---------------------------------------------------------------------------------------------------------------
# The four unit files. Shape: rdo-packages/neutron-distgit (Fedora dist-git history), commit 31d4016
# (openstack-quantum 2012.2-1, the f18 branch), quantum-{server,dhcp-agent,l3-agent,openvswitch-agent}.service,
# all 12 lines, PrivateTmp=true at line 9, no Restart=; installed -m 644 into %{_unitdir} (spec lines 266-272).
# 2012.2.1-1 (commit 552c2c7) turned line 9 to PrivateTmp=false for the dhcp and l3 agents only.
# The openvswitch agent reads its plugin's ini directly (not plugin.ini), with two spaces after the binary.
UNITS = {
    "quantum-dhcp-agent": ("DHCP Agent", "quantum-dhcp-agent", "/etc/quantum/dhcp_agent.ini", "dhcp-agent"),
    "quantum-l3-agent": ("Layer 3 Agent", "quantum-l3-agent", "/etc/quantum/l3_agent.ini", "l3-agent"),
    "quantum-openvswitch-agent": (
        "Open vSwitch Agent",
        "quantum-openvswitch-agent ",
        OVS_PLUGIN_INI_PATH,
        "openvswitch-agent",
    ),
    "quantum-server": ("Server", "quantum-server", PLUGIN_INI, "server"),
}
PRIVATETMP_OFF_IN_2012_2_1 = ("quantum-dhcp-agent", "quantum-l3-agent")
PRIVATETMP_LINE = 9


def unit_file(unit: str, quantum: str = "2012.2") -> str:
    description, binary, ini, log = UNITS[unit]
    private = "false" if quantum == "2012.2.1" and unit in PRIVATETMP_OFF_IN_2012_2_1 else "true"
    text = (
        "[Unit]\n"
        f"Description=OpenStack Quantum {description}\n"
        "After=syslog.target network.target\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        "User=quantum\n"
        f"ExecStart=/usr/bin/{binary} --config-file /etc/quantum/quantum.conf --config-file {ini} "
        f"--log-file /var/log/quantum/{log}.log\n"
        f"PrivateTmp={private}\n"
        "\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )
    assert text.splitlines()[PRIVATETMP_LINE - 1] == f"PrivateTmp={private}"
    return text


# ---------------------------------------------------------------------------------------------------------------
# iptables_manager.py. Shape: openstack/neutron at tag 2012.2 (a9b17b6), quantum/agent/linux/iptables_manager.py:
# 347 lines, no tabs; `def apply(self):` at 264 (4 spaces, no `_apply` anywhere), its docstring 265-271, line 272
# `s = [('/sbin/iptables', self.ipv4)]` (8 spaces), 273 `if self.use_ipv6:`, 274 `s += [('ip6tables', self.ipv6)]`
# (12 spaces, already a bare name). Tag 2012.2.1 (3a6cc2f) differs only at line 272: `('iptables', self.ipv4)`.
# Fedora's spec (31d4016) carries no patch and its %prep sed does not touch the file: installed byte for byte.
# Lines 255-292 below are the released lines around the change (what the step checks); the other lines keep the
# released file's landmarks at their line numbers (class and def lines, imports) with comment filler between.
IPTABLES_LINE = 272
IPTABLES_LINES = 347
_IPTABLES_LANDMARKS = {
    1: "# vim: tabstop=4 shiftwidth=4 softtabstop=4",
    2: "",
    3: "# (netnsfix test fixture: quantum 2012.2's iptables_manager.py, line for line",
    4: "#  where the step looks, filler elsewhere; the licence header of the real file",
    5: "#  is not reproduced.)",
    21: "",
    22: '"""Implements iptables rules using linux utilities."""',
    23: "",
    24: "import inspect",
    25: "import logging",
    26: "import os",
    27: "",
    28: "from quantum.agent.linux import utils",
    29: "",
    30: "LOG = logging.getLogger(__name__)",
    31: "",
    35: "binary_name = os.path.basename(inspect.stack()[-1][1])[:16]",
    36: "",
    37: "",
    38: "class IptablesRule(object):",
    67: "",
    68: "",
    69: "class IptablesTable(object):",
    169: "",
    170: "",
    171: "class IptablesManager(object):",
    172: '    """Wrapper for iptables.',
    192: '    """',
    193: "",
    194: "    def __init__(self, _execute=None, state_less=False,",
    195: "                 root_helper=None, use_ipv6=False, namespace=None):",
    293: "",
    294: "    def _modify_rules(self, current_lines, table, binary=None):",
    334: "        def _weed_out_duplicates(line):",
    347: "        return new_filter",
}
_IPTABLES_APPLY = """\
            self.ipv4['nat'].add_chain('snat')
            self.ipv4['nat'].add_rule('quantum-postrouting-bottom',
                                      '-j $snat', wrap=False)

            # And then we add a float-snat chain and jump to first thing in
            # the snat chain.
            self.ipv4['nat'].add_chain('float-snat')
            self.ipv4['nat'].add_rule('snat', '-j $float-snat')

    def apply(self):
        \"\"\"Apply the current in-memory set of iptables rules.

        This will blow away any rules left over from previous runs of the
        same component of Nova, and replace them with our current set of
        rules. This happens atomically, thanks to iptables-restore.

        \"\"\"
        s = [('/sbin/iptables', self.ipv4)]
        if self.use_ipv6:
            s += [('ip6tables', self.ipv6)]

        for cmd, tables in s:
            for table in tables:
                args = ['%s-save' % cmd, '-t', table]
                if self.namespace:
                    args = ['ip', 'netns', 'exec', self.namespace] + args
                current_table = (self.execute(args,
                                 root_helper=self.root_helper))
                current_lines = current_table.split('\\n')
                new_filter = self._modify_rules(current_lines,
                                                tables[table])
                args = ['%s-restore' % (cmd)]
                if self.namespace:
                    args = ['ip', 'netns', 'exec', self.namespace] + args
                self.execute(args,
                             process_input='\\n'.join(new_filter),
                             root_helper=self.root_helper)
        LOG.debug(("IPTablesManager.apply completed with success"))
"""
_IPTABLES_APPLY_FIRST = 255
RELEASED_LINE = "        s = [('/sbin/iptables', self.ipv4)]"
FIXED_LINE = "        s = [('iptables', self.ipv4)]"


def _filler_indent(number: int) -> str:
    """Comment filler indented as the released file is there (module, class body, method body)."""
    if number < 38:
        return ""
    if number < 172:
        return "        " if number not in (39, 70) else "    "
    if number < 196:
        return "    "
    return "        "


def iptables_manager(quantum: str = "2012.2") -> str:
    """The module as quantum ``2012.2`` released it (Fedora 18) or as ``2012.2.1`` fixed it."""
    if quantum not in QUANTUM_VERSIONS:
        raise ValueError(f"quantum must be one of {QUANTUM_VERSIONS}")
    lines = dict(_IPTABLES_LANDMARKS)
    for offset, line in enumerate(_IPTABLES_APPLY.splitlines()):
        lines[_IPTABLES_APPLY_FIRST + offset] = line
    if quantum == "2012.2.1":
        lines[IPTABLES_LINE] = FIXED_LINE
    out = []
    for number in range(1, IPTABLES_LINES + 1):
        if number in lines:
            out.append(lines[number])
        else:
            out.append(f"{_filler_indent(number)}# (line {number} of the released module)")
    assert out[263] == "    def apply(self):" and out[IPTABLES_LINE - 1] in (RELEASED_LINE, FIXED_LINE)
    assert out[273] == "            s += [('ip6tables', self.ipv6)]"
    return "\n".join(out) + "\n"


# Grizzly, for refusal tests: openstack/neutron at tag 2013.1, the same file has `def apply(self):` at 306 (it
# calls self._apply()), `@lockutils.synchronized(...)` at 312, `def _apply(self):` at 313, its docstring 314-320
# and `s = [('iptables', self.ipv4)]` at 321. Not a Folsom file: the step must refuse it, not call it fixed.
GRIZZLY_LINES = {
    306: "    def apply(self):",
    307: "        if self.iptables_apply_deferred:",
    308: "            return",
    309: "",
    310: "        self._apply()",
    311: "",
    312: "    @lockutils.synchronized('iptables', 'quantum-', external=True)",
    313: "    def _apply(self):",
    321: "        s = [('iptables', self.ipv4)]",
    322: "        if self.use_ipv6:",
    323: "            s += [('ip6tables', self.ipv6)]",
}


def grizzly_iptables_manager() -> str:
    """quantum 2013.1's shape around ``_apply`` (line numbers as released), filler elsewhere."""
    lines = iptables_manager("2012.2.1").splitlines()[:263]
    lines += [f"        # (line {n} of the released module)" for n in range(264, 306)]
    for number in range(306, 392):
        lines.append(GRIZZLY_LINES.get(number, f"        # (line {number} of the released module)"))
    assert lines[312] == "    def _apply(self):" and lines[320] == "        s = [('iptables', self.ipv4)]"
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------------
# quantum.conf. Shape: openstack/neutron at tag 2012.2, etc/quantum.conf (171 lines; [DEFAULT] at line 1 with
# nothing above it, `# allow_overlapping_ips = False` at line 50 ending a comment run that starts at
# `# Enable or disable bulk ...` with no blank line, `list_notifier_drivers = ...` at 152 the last option of
# [DEFAULT], [QUOTAS] at 154 with every key commented), as Fedora installs it (spec 31d4016 %prep: debug = False,
# auth_strategy = noauth uncommented at line 29). quantum-server-setup (31d4016, lines 185-190, run through the
# 2012 openstack-config) then sets core_plugin and auth_strategy in place and appends rpc_backend and
# qpid_hostname after list_notifier_drivers. The RabbitMQ/Qpid comment runs no step reads are shortened.
def quantum_conf(quantum: str = "2012.2", server_setup: bool = True) -> str:
    core_plugin = (
        "quantum.plugins.openvswitch.ovs_quantum_plugin.OVSQuantumPluginV2"
        if server_setup
        else "quantum.plugins.sample.SamplePlugin.FakePlugin"
    )
    auth = "keystone" if server_setup else "noauth"
    qpid_reconnect = (
        ""
        if quantum == "2012.2.1"  # 2012.2.1 only dropped these 12 comment lines
        else "".join(f"# qpid_reconnect_{n} = 0\n" for n in ("timeout", "limit", "interval_min", "interval_max"))
    )
    appended = (
        "rpc_backend = quantum.openstack.common.rpc.impl_qpid\nqpid_hostname = localhost\n" if server_setup else ""
    )
    return f"""\
[DEFAULT]
# Show more verbose log output (sets INFO log level output)
verbose = True

# Show debugging output in logs (sets DEBUG log level output)
debug = False

# Address to bind the API server
bind_host = 0.0.0.0

# Port the bind the API server to
bind_port = 9696

# Path to the extensions, a colon-separated list of folders, e.g.
# api_extensions_path = extensions:/path/to/more/extensions
# The __path__ of quantum.extensions is always added.
# api_extensions_path =

# Quantum plugin provider module
core_plugin = {core_plugin}

# Paste configuration file
api_paste_config = api-paste.ini

# The strategy to be used for auth.
# Supported values are 'keystone'(default), 'noauth'.
auth_strategy = {auth}

# Base MAC address (the first 3 octets stay, the rest are random)
# base_mac = fa:16:3e:00:00:00

# Maximum amount of retries to generate a unique MAC address
# mac_generation_retries = 16

# DHCP Lease duration (in seconds)
# dhcp_lease_duration = 120

# Enable or disable bulk create/update/delete operations
# allow_bulk = True
# Enable or disable overlapping IPs for subnets
# Attention: the following parameter MUST be set to False if Quantum is
# being used in conjunction with nova security groups and/or metadata service.
# allow_overlapping_ips = False

# RPC configuration options. Defined in rpc __init__
# The messaging module to use, defaults to kombu.
# rpc_backend = quantum.openstack.common.rpc.impl_kombu
# Size of RPC thread pool
# rpc_thread_pool_size = 64,
# AMQP exchange to connect to if using RabbitMQ or QPID
control_exchange = quantum

# If passed, use a fake RabbitMQ provider
# fake_rabbit = False

# QPID
# rpc_backend=quantum.openstack.common.rpc.impl_qpid
# Qpid broker hostname
# qpid_hostname = localhost
{qpid_reconnect}
# ============ Notification System Options =====================

# Defined in notifier api
notification_driver = quantum.openstack.common.notifier.list_notifier
# default_notification_level = INFO

# Defined in list_notifier
list_notifier_drivers = quantum.openstack.common.notifier.rabbit_notifier
{appended}
[QUOTAS]
# resource name(s) that are supported in quota features
# quota_items = network,subnet,port

# number of networks allowed per tenant, and minus means unlimited
# quota_network = 10

# default driver to use for quota checks
# quota_driver = quantum.quota.ConfDriver
"""


# ---------------------------------------------------------------------------------------------------------------
# ovs_quantum_plugin.ini. Shape: openstack/neutron at tag 2012.2, etc/quantum/plugins/openvswitch/
# ovs_quantum_plugin.ini (113 lines): [DATABASE] 1-12 (sql_connection at 7), [OVS] at 14 with NO option set,
# every key only as `# Default: key = ...` / `# Example: key = ...` after a prose comment; [AGENT] at 79 with
# polling_interval and root_helper (85), then "Sample Configurations" comments that hold `# [OVS]`,
# `# network_vlan_ranges = ...` and `# bridge_mappings = ...` inside [AGENT] (a trap for anchors that are not
# limited to the section). Fedora (spec 31d4016 lines 251-254) rewrites root_helper to quantum-rootwrap;
# quantum-server-setup (line 337) sets [DATABASE] sql_connection in place; mode 0640 root:quantum.
def ovs_plugin_ini(server_setup: bool = True) -> str:
    sql = "mysql://quantum:quantum@network1/ovs_quantum" if server_setup else "sqlite://"
    return f"""\
[DATABASE]
# This line MUST be changed to actually run the plugin.
# Example:
# sql_connection = mysql://root:nova@127.0.0.1:3306/ovs_quantum
# Replace 127.0.0.1 above with the database host of the quantum server
# (keep it if the database runs here).
sql_connection = {sql}
# Database reconnection retry times - in event connectivity is lost
# set to -1 implies an infinite retry count
# sql_max_retries = 10
# Database reconnection interval in seconds - in event connectivity is lost
reconnect_interval = 2

[OVS]
# (StrOpt) Type of network to allocate for tenant networks. 'local'
# gives no connectivity between hosts: use 'vlan' with
# network_vlan_ranges, or 'gre' with tunnel_id_ranges, for that;
# 'none' disables tenant networks.
#
# Default: tenant_network_type = local
# Example: tenant_network_type = gre

# (ListOpt) Comma-separated list of
# <physical_network>[:<vlan_min>:<vlan_max>] tuples: the physical
# networks (and VLAN ranges for tenant networks) that may be used.
#
# Default: network_vlan_ranges =
# Example: network_vlan_ranges = physnet1:1000:2999

# (BoolOpt) True in the server and the agents for GRE networks.
#
# Default: enable_tunneling = False

# (ListOpt) Comma-separated list of <tun_min>:<tun_max> tuples of GRE
# tunnel IDs for tenant networks.
#
# Default: tunnel_id_ranges =
# Example: tunnel_id_ranges = 1:1000

# Do not change this parameter unless you have a good reason to.
# The OVS integration bridge, one per hypervisor.
#
# Default: integration_bridge = br-int

# Only for the agent, when tunnel_id_ranges is set on the server.
#
# Default: tunnel_bridge = br-tun

# The local IP address of this hypervisor, for tunnels.
#
# Default: local_ip = 10.0.0.3

# (ListOpt) Comma-separated list of <physical_network>:<bridge> tuples
# mapping physical networks to this agent's OVS bridges (each with a
# physical interface as a port).
#
# Default: bridge_mappings =
# Example: bridge_mappings = physnet1:br-eth1

[AGENT]
# Agent's polling interval in seconds
polling_interval = 2
# Use "sudo quantum-rootwrap /etc/quantum/rootwrap.conf" to use the real
# root filter facility.
# Change to "sudo" to skip the filtering and just run the comand directly
root_helper = sudo quantum-rootwrap /etc/quantum/rootwrap.conf

#-----------------------------------------------------------------------------
# Sample Configurations.
#-----------------------------------------------------------------------------
#
# 1. With VLANs on eth1.
# [DATABASE]
# sql_connection = mysql://root:nova@127.0.0.1:3306/ovs_quantum
# [OVS]
# network_vlan_ranges = default:2000:3999
# tunnel_id_ranges =
# integration_bridge = br-int
# bridge_mappings = default:br-eth1
# [AGENT]
# root_helper = sudo
#
# 2. With tunneling.
# [OVS]
# network_vlan_ranges =
# tunnel_id_ranges = 1:1000
# [AGENT]
# root_helper = sudo
"""


# ---------------------------------------------------------------------------------------------------------------
# nova.conf. Fedora does not install nova's sample: its own nova.conf is rdo-packages/nova-distgit 79e2ac5
# (openstack-nova 2012.2-1) Source1, 28 lines, no comments, no libvirt_vif_driver, [DEFAULT] ends with
# rootwrap_config (line 18), [keystone_authtoken] 20-27, a blank last line; installed 0640 root:nova.
# quantum-node-setup (neutron-distgit 31d4016 lines 160-167, via the 2012 openstack-config) appends the quantum
# keys after line 18; its libvirt_vif_driver call gets no value with --plugin openvswitch and writes nothing
# (Bug 885932). quantum-server-setup (line 338, 375) sets it to the hybrid driver. (nova 2012.2's own
# etc/nova/nova.conf.sample only has it commented: `# libvirt_vif_driver=nova.virt.libvirt.vif.LibvirtBridgeDriver`.)
HYBRID_DRIVER = "nova.virt.libvirt.vif.LibvirtHybridOVSBridgeDriver"
_NOVA_DEFAULT = """\
[DEFAULT]
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
network_manager = nova.network.manager.FlatDHCPManager
iscsi_helper = tgtadm
sql_connection = mysql://nova:nova@localhost/nova
compute_driver = libvirt.LibvirtDriver
firewall_driver = nova.virt.libvirt.firewall.IptablesFirewallDriver
rpc_backend = nova.openstack.common.rpc.impl_qpid
rootwrap_config = /etc/nova/rootwrap.conf
"""
_NOVA_QUANTUM = """\
network_api_class = nova.network.quantumv2.api.API
quantum_admin_username = quantum
quantum_admin_password = servicepass
quantum_admin_auth_url = http://192.168.1.101:35357/v2.0/
quantum_auth_strategy = keystone
quantum_admin_tenant_name = service
quantum_url = http://192.168.1.101:9696/
"""
_NOVA_KEYSTONE = """
[keystone_authtoken]
admin_tenant_name = %SERVICE_TENANT_NAME%
admin_user = %SERVICE_USER%
admin_password = %SERVICE_PASSWORD%
auth_host = 127.0.0.1
auth_port = 35357
auth_protocol = http
signing_dirname = /tmp/keystone-signing-nova

"""


def nova_conf(state: str = "node-setup") -> str:
    if state not in NOVA_STATES:
        raise ValueError(f"nova must be one of {NOVA_STATES}")
    quantum = "" if state == "packaged" else _NOVA_QUANTUM
    driver = f"libvirt_vif_driver = {HYBRID_DRIVER}\n" if state == "server-setup" else ""
    return _NOVA_DEFAULT + quantum + driver + _NOVA_KEYSTONE


# ---------------------------------------------------------------------------------------------------------------
# cinder.conf. Fedora's own file (cinder's sample is not installed): rdo-packages/cinder-distgit 214adf5
# (openstack-cinder 2012.2-1) Source1, the same blob in 2012.2-2 and 2012.2.1-1: 18 lines, no comments, no
# iscsi_ip_address (cinder 2012.2's etc/cinder/cinder.conf.sample only has `# iscsi_ip_address=$my_ip`),
# rootwrap_config the last option of [DEFAULT], no blank last line; installed 0640 root:cinder.
CINDER_CONF = """\
[DEFAULT]
logdir = /var/log/cinder
state_path = /var/lib/cinder
lock_path = /var/lib/cinder/tmp
volumes_dir = /etc/cinder/volumes
iscsi_helper = tgtadm
sql_connection = mysql://cinder:cinder@localhost/cinder
rpc_backend = cinder.openstack.common.rpc.impl_qpid
rootwrap_config = /etc/cinder/rootwrap.conf

[keystone_authtoken]
admin_tenant_name = %SERVICE_TENANT_NAME%
admin_user = %SERVICE_USER%
admin_password = %SERVICE_PASSWORD%
auth_host = 127.0.0.1
auth_port = 35357
auth_protocol = http
signing_dirname = /tmp/keystone-signing-cinder
"""


def _write(root: Path, node_path: str, text: str, mode: int = 0o644) -> None:
    path = root / node_path.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


SYSTEMD_PC = "/usr/share/pkgconfig/systemd.pc"


def systemd_pc(version: int) -> str:
    """systemd's pkg-config file as its package installs it: src/core/systemd.pc.in at tag v197 (Makefile.am:
    pkgconfigdatadir=$(datadir)/pkgconfig), with Fedora's configure paths filled in."""
    return (
        "#  This file is part of systemd.\n"
        "#\n"
        "#  systemd is free software; you can redistribute it and/or modify it\n"
        "#  under the terms of the GNU Lesser General Public License as published by\n"
        "#  the Free Software Foundation; either version 2.1 of the License, or\n"
        "#  (at your option) any later version.\n"
        "\n"
        "prefix=/usr\n"
        "exec_prefix=/usr\n"
        "systemdutildir=/usr/lib/systemd\n"
        "systemdsystemunitdir=/usr/lib/systemd/system\n"
        "systemdsystempresetdir=/usr/lib/systemd/system-preset\n"
        "systemduserunitdir=/usr/lib/systemd/user\n"
        "systemduserpresetdir=/usr/lib/systemd/user-preset\n"
        "systemdsystemconfdir=/etc/systemd/system\n"
        "systemduserconfdir=/etc/systemd/user\n"
        "systemdsystemunitpath=${systemdsystemconfdir}:/etc/systemd/system:/run/systemd/system:"
        "/usr/local/lib/systemd/system:${systemdsystemunitdir}:/usr/lib/systemd/system:/lib/systemd/system\n"
        "systemduserunitpath=${systemduserconfdir}:/etc/systemd/user:/run/systemd/user:/usr/local/lib/systemd/user:"
        "/usr/local/share/systemd/user:${systemduserunitdir}:/usr/lib/systemd/user:/usr/share/systemd/user\n"
        "\n"
        "Name: systemd\n"
        "Description: systemd System and Service Manager\n"
        "URL: http://www.freedesktop.org/wiki/Software/systemd\n"
        f"Version: {version}\n"
    )


def make_node_root(
    root: Path,
    *,
    quantum: str = "2012.2",
    plugin_ini: bool = True,
    nova: str = "node-setup",
    systemd: int | None = None,
) -> Path:
    """Write a Fedora 18 node's files under ``root`` (created) and return it; see the module docstring."""
    if quantum not in QUANTUM_VERSIONS:
        raise ValueError(f"quantum must be one of {QUANTUM_VERSIONS}")
    root.mkdir(parents=True, exist_ok=True)
    for folder in ("usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "var/lib", "var/run", "etc/systemd/system"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for link in ("bin", "sbin", "lib", "lib64"):  # UsrMove
        os.symlink(f"usr/{link}", root / link)
    for unit in UNITS:
        _write(root, f"{UNIT_DIR}/{unit}.service", unit_file(unit, quantum))
    _write(root, QUANTUM_CONF_PATH, quantum_conf(quantum, plugin_ini), 0o640)
    _write(root, OVS_PLUGIN_INI_PATH, ovs_plugin_ini(plugin_ini), 0o640)
    if plugin_ini:  # quantum-server-setup line 339: ln -s ${OVS_CONF} /etc/quantum/plugin.ini
        os.symlink(OVS_PLUGIN_INI_PATH, root / PLUGIN_INI.lstrip("/"))
    _write(root, NOVA_CONF_PATH, nova_conf(nova), 0o640)
    _write(root, CINDER_CONF_PATH, CINDER_CONF, 0o640)
    _write(root, MODULE, iptables_manager(quantum))
    _write(root, "/usr/lib/python2.7/site-packages/quantum/__init__.py", "")
    if systemd is not None:
        _write(root, SYSTEMD_PC, systemd_pc(systemd))
    return root


def make_fedora18_root(root: Path) -> Path:
    """A network node as the seed's steps find it: quantum 2012.2, server and node setup done."""
    return make_node_root(root)
