#!/bin/bash
# netnsfix fleet: prove the fix on this node with only what Fedora 18 has (bash,
# coreutils, grep, util-linux, iproute, systemd 197: no systemd-run, no
# is-system-running). Prints one line per check, "PASS name: evidence" or
# "FAIL name: evidence", and exits 1 when any check failed.
# usage: netnsfix-verify.sh PROBE_UNIT AGENT_UNIT
set -u
probe=${1:-netnsfix-probe.service}
agent=${2:-quantum-l3-agent.service}
ns=netnsfix-verify-$$
unitns=netnsfix-unit-$$
unit=netnsfix-verify-$$.service
failed=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failed=1; }
# Mount point is field 5 of /proc/self/mountinfo; mount ids change on a remount, so keep point and source.
sys_mounts() {
    cut -d' ' -f5,9- /proc/self/mountinfo | grep -E '^/sys(/fs/cgroup(/[^ ]*)?)? ' | sort
}
flat() { tr '\n' ';' | sed 's/;$//'; }

before=$(sys_mounts)
if echo "$before" | grep -q '^/sys ' && echo "$before" | grep -q '^/sys/fs/cgroup'; then
    pass "mounts-before: $(echo "$before" | cut -d' ' -f1 | flat)"
else
    fail "mounts-before: /sys or /sys/fs/cgroup is not mounted: $(echo "$before" | cut -d' ' -f1 | flat)"
fi

if out=$(ip netns add "$ns" 2>&1); then
    pass "netns-add: ip netns add $ns"
else
    fail "netns-add: ip netns add $ns: $out"
fi
own=$(readlink /proc/self/ns/net)
inode=$(stat -L -c %i "/var/run/netns/$ns" 2>&1)
inside=$(ip netns exec "$ns" readlink /proc/self/ns/net 2>&1)
if [ "$inside" = "net:[$inode]" ] && [ "$inside" != "$own" ]; then
    pass "netns-exec: ran in $inside (inode of /var/run/netns/$ns), the node is $own"
else
    fail "netns-exec: ip netns exec $ns readlink /proc/self/ns/net gave '$inside'; /var/run/netns/$ns is inode '$inode'; the node is $own"
fi
devices=$(ip netns exec "$ns" cat /proc/net/dev 2>&1 | tail -n +3 | cut -d: -f1 | tr -d ' ' | flat)
if [ "$devices" = lo ]; then
    pass "netns-devices: only lo in /proc/net/dev inside $ns"
else
    fail "netns-devices: inside $ns /proc/net/dev lists '$devices', expected only lo"
fi
if out=$(ip netns delete "$ns" 2>&1); then
    pass "netns-delete: ip netns delete $ns"
else
    fail "netns-delete: ip netns delete $ns: $out"
fi

after=$(sys_mounts)
if [ "$after" = "$before" ]; then
    pass "mounts-after: /sys and /sys/fs/cgroup unchanged ($(echo "$after" | wc -l) mounts)"
else
    gone=$(comm -3 <(echo "$before") <(echo "$after") | sed 's/^\t/now: /; /^now: /!s/^/was: /' | flat)
    fail "mounts-after: /sys mounts changed by ip netns: $gone"
fi

if out=$(systemctl start "$probe" 2>&1); then
    pass "systemd-start: systemctl start $probe succeeded"
else
    fail "systemd-start: systemctl start $probe failed: $(echo "$out" | flat)"
fi

# Bug 881741: a namespace added by a unit with the agents' PrivateTmp must be usable from outside.
privatetmp=$(systemctl show -p PrivateTmp "$agent" 2>/dev/null | cut -d= -f2)
case "$privatetmp" in yes | true | 1) setting=true ;; *) setting=false ;; esac
mkdir -p /run/systemd/system
cat > "/run/systemd/system/$unit" <<UNIT
[Unit]
Description=netnsfix verify: a namespace added by a unit, as $agent runs

[Service]
Type=oneshot
RemainAfterExit=yes
PrivateTmp=$setting
ExecStart=$(command -v ip) netns add $unitns
ExecStop=$(command -v ip) netns delete $unitns
UNIT
systemctl daemon-reload
for round in start restart; do
    if ! out=$(systemctl "$round" "$unit" 2>&1); then
        fail "agent-netns-$round: systemctl $round of a unit with PrivateTmp=$setting (as $agent) failed: $(echo "$out" | flat)"
        continue
    fi
    if out=$(ip netns exec "$unitns" readlink /proc/self/ns/net 2>&1) && [ "$out" != "$own" ]; then
        pass "agent-netns-$round: ip netns exec $unitns from outside works after $round (PrivateTmp=$setting as $agent)"
    else
        fail "agent-netns-$round: ip netns exec $unitns from outside after $round, PrivateTmp=$setting as $agent: $(echo "$out" | flat)"
    fi
done
systemctl stop "$unit" > /dev/null 2>&1
ip netns delete "$unitns" > /dev/null 2>&1
rm -f "/run/systemd/system/$unit"
systemctl daemon-reload
exit $failed
