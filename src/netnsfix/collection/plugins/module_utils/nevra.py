"""The wanted build's epoch, version and release, read from the NEVRA fleet export hands the package module.

fleet export writes NAME-[EPOCH:]VERSION-RELEASE.ARCH, the epoch only when it is not 0 (rpm's
``%{EPOCH}`` is then unset, and rpm and yum count it as 0). Comparing an installed build with the
wanted one needs all three: an epoch read as part of the version would make ``1:3.6.0`` older than
``3.5.0`` (rpm compares ``1`` with ``3``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from .errors import NodeError


def wanted_evr(name, nevra):
    # type: (str, str) -> tuple[str, str, str]
    """(EPOCH, VERSION, RELEASE) of ``nevra`` (epoch "0" when it has none); one NodeError line when it is
    not ``name``-[EPOCH:]VERSION-RELEASE.ARCH."""
    rest = nevra[len(name) + 1 : nevra.rindex(".")] if nevra.startswith(name + "-") and "." in nevra else ""
    epoch, colon, version_release = rest.rpartition(":")
    version, _, release = version_release.partition("-")
    epoch = epoch if colon else "0"
    if not (epoch.isdigit() and version and release) or "-" in release:
        raise NodeError("nevra %r is not %s-[EPOCH:]VERSION-RELEASE.ARCH" % (nevra, name), path=nevra)
    return epoch, version, release
