#!/bin/sh
# netnsfix fleet: read the files the role will change, in one go (nothing is written).
# POSIX sh and coreutils only (Fedora 18). usage: netnsfix-read.sh ROOT PATH...
# One line per PATH, tab-separated: PATH, the file it really is (a symlink followed
# one level, inside ROOT) or "-" when there is none, and its bytes in base64.
set -eu
root=$1
shift
[ "$root" = / ] && root=
for path in "$@"; do
    real=$path
    if [ -L "$root$path" ]; then
        target=$(readlink "$root$path")
        case $target in
            /*) real=$target ;;
            *) real=$(dirname "$path")/$target ;;
        esac
    fi
    if [ -f "$root$real" ]; then
        printf '%s\t%s\t%s\n' "$path" "$real" "$(base64 -w0 "$root$real")"
    else
        printf '%s\t-\t-\n' "$path"
    fi
done
