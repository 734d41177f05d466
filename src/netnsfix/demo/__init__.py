"""Everything only the demo uses: the demo archive, its binaries, the 3.6.0-like ip variants, the demo run.

The C tree and spec beside these modules are package data: the demo archive's iproute source package."""
