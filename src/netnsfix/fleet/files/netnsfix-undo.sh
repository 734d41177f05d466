#!/bin/sh
# netnsfix fleet: put back every file netnsfix-backup.sh kept, byte for byte, and
# remove the files (and the folders) apply created. POSIX sh and coreutils only.
# usage: netnsfix-undo.sh ROOT STORE
set -eu
root=$1
store=$2
[ "$root" = / ] && root=
if [ ! -d "$store/files" ]; then
    rm -rf "$store"
    exit 0
fi
cd "$store/files"
find . -type f -name '*.absent' | sort | while read -r kept; do
    path=${kept#.}
    path=${path%.absent}
    first=$(cat "$kept")
    if [ -e "$root$path" ] || [ -L "$root$path" ]; then
        rm -f "$root$path"
        echo "removed $path"
    fi
    folder=$(dirname "$path")
    if [ -n "$first" ]; then
        while [ -d "$root$folder" ] && rmdir "$root$folder" 2> /dev/null; do
            echo "removed $folder/"
            [ "$folder" = "$first" ] && break
            folder=$(dirname "$folder")
        done
    fi
    rm -f "$kept"
done
find . \( -type f -o -type l \) ! -name '*.absent' | sort | while read -r kept; do
    path=${kept#.}
    if ! cmp -s "$kept" "$root$path"; then
        cp -p "$kept" "$root$path"
        echo "restored $path"
    fi
    rm -f "$kept"
done
cd /
rm -rf "$store"
rmdir "$(dirname "$store")" 2> /dev/null || true
