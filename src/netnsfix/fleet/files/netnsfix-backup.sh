#!/bin/sh
# netnsfix fleet: keep each file's first version before the role changes it, so
# undo.yml can put it back byte for byte. POSIX sh and coreutils only (Fedora 18).
# usage: netnsfix-backup.sh ROOT STORE PATH...   (PATHs as the node sees them, under ROOT)
# A file that exists is copied to STORE/files/PATH (mode, owner and times kept); a
# missing one gets STORE/files/PATH.absent holding the first folder apply will create.
# With ROOT=/ and ovs-vsctl present, the bridges and ports as they were go to STORE/ovs.before.
set -eu
root=$1
store=$2
shift 2
[ "$root" = / ] && root=
mkdir -p "$store/files"
for path in "$@"; do
    keep="$store/files$path"
    if [ -e "$keep" ] || [ -e "$keep.absent" ]; then
        continue
    fi
    mkdir -p "$(dirname "$keep")"
    if [ -e "$root$path" ] || [ -L "$root$path" ]; then
        cp -p "$root$path" "$keep.part"
        mv "$keep.part" "$keep"
        echo "saved $path"
    else
        first=
        folder=$(dirname "$path")
        while [ "$folder" != / ] && [ ! -e "$root$folder" ]; do
            first=$folder
            folder=$(dirname "$folder")
        done
        printf '%s\n' "$first" > "$keep.absent"
        echo "absent $path"
    fi
done
if [ -z "$root" ] && [ ! -e "$store/ovs.before" ] && command -v ovs-vsctl > /dev/null 2>&1; then
    bridges=$(ovs-vsctl --timeout=10 list-br)
    for bridge in $bridges; do
        echo "$bridge"
        for port in $(ovs-vsctl --timeout=10 list-ports "$bridge"); do
            echo "$bridge $port"
        done
    done > "$store/ovs.before.part"
    mv "$store/ovs.before.part" "$store/ovs.before"
    echo "saved ovs"
fi
