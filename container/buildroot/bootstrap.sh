#!/bin/sh
# The last steps of a netnsfix build root, run as root inside a container of the
# image that `docker import` made from the packages' files (see README.md here).
#
#   bootstrap.sh RPMDIR BUILD_USER BUILD_UID BUILD_GROUP BUILD_GID DIST
#
# 1. The root's own rpm registers the packages whose files are already in place
#    (--justdb: the database only; --noscripts: nothing ran, as in the import).
# 2. The unprivileged build user, with mock's names and home (/builddir).
# 3. rpmbuild's macros for that user: _topdir under the home, the dist tag.
# The package files (copies, or links into the download cache mounted read-only
# on /mnt) are removed afterwards with this script, so they are not in the image.
set -eu
rpmdir=$1 user=$2 uid=$3 group=$4 gid=$5 dist=$6

mkdir -p -m 1777 /tmp /var/tmp
mkdir -p /var/lib/rpm /etc/rpm
# rpm's database where every rpm looks for it (Debian's rpm defaults to ~/.rpmdb).
printf '%%_dbpath /var/lib/rpm\n' > /etc/rpm/macros.netnsfix-dbpath
rpm --initdb
rpm -i --justdb --nodeps --noscripts --notriggers --nosignature "$rpmdir"/*.rpm
echo "netnsfix-bootstrap: registered $(rpm -qa | wc -l) packages"

if ! grep -q "^$group:" /etc/group; then
    if command -v groupadd >/dev/null; then groupadd -g "$gid" "$group"
    else echo "$group:x:$gid:" >> /etc/group; fi
fi
if ! grep -q "^$user:" /etc/passwd; then
    if command -v useradd >/dev/null; then useradd -M -u "$uid" -g "$group" -d /builddir -s /bin/sh "$user"
    else echo "$user:x:$uid:$gid::/builddir:/bin/sh" >> /etc/passwd; fi
fi
mkdir -p /builddir/build/BUILD /builddir/build/BUILDROOT /builddir/build/RPMS \
         /builddir/build/SOURCES /builddir/build/SPECS /builddir/build/SRPMS
cat > /builddir/.rpmmacros <<MACROS
%_topdir /builddir/build
%dist $dist
MACROS
chown -R "$uid:$gid" /builddir
rm -rf "$(dirname "$rpmdir")"
echo "netnsfix-bootstrap: build user $user ($uid:$gid), home /builddir, dist $dist"
