"""Record the raw observations tests/node/test_proof.py judges, from real runs of the harness.

Run as root with the Docker engine (``.venv/bin/python tests/node/record_observations.py``): for the
3.6.0-like ip, the seed-fixed ip, upstream's fix (built by netnsfix.demo.ipvariants) and Debian's
/usr/sbin/ip, the proof's scenario (proof.SCENARIO) in the harness's private mount namespace (as
``netnsfix verify --checks mounts`` runs it) and in its booted systemd container with a probe unit (as
``--checks systemd``); then the PrivateTmp scenario (proof.PRIVATETMP) with Debian's ip, the unit as
packaged and with the privatetmp step's drop-in. Each file is ``netns: NAME`` then the scenario's output
exactly as it came, so the tests judge what the harness saw.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from pathlib import Path

from netnsfix.collection.plugins.module_utils import proof
from netnsfix.collection.plugins.module_utils.privatetmp import DROPIN, DROPIN_NAME
from netnsfix.demo.ipvariants import build_named_variant
from netnsfix.tools.engine import connect
from netnsfix.verify.harness import staged_as_ip
from netnsfix.verify.privatetmp import FOLDER, UNIT
from netnsfix.verify.scenario import ContainerShell, PrivateNamespaceShell
from netnsfix.verify.systemd import INSIDE, copy_in
from netnsfix.verify.systemd_image import booted, ensure_systemd_image

OUT = Path(__file__).resolve().parent / "observations"
DEBIAN_IP = Path("/usr/sbin/ip")


def save(name: str, netns: str, output: str) -> None:
    (OUT / f"{name}.txt").write_text(f"netns: {netns}\n{output}")
    print(f"recorded {name}: {len(output.splitlines())} lines")


def main() -> int:
    engine = connect()
    image = ensure_systemd_image(engine)
    with tempfile.TemporaryDirectory(prefix="netnsfix-record-") as folder:
        binaries = {name: build_named_variant(name, Path(folder)) for name in ("unpatched", "seed", "upstream")}
        binaries["debian"] = DEBIAN_IP
        for name, binary in binaries.items():
            with staged_as_ip(binary) as ip:
                netns = proof.new_name("netnsfix-verify")
                _rc, out = PrivateNamespaceShell().run(proof.scenario_argv(str(ip), netns, "harness-private-run"), 120)
                save(f"{name}-host", netns, out)
                with booted(engine, image, name_prefix="netnsfix-record") as container:
                    copy_in(container, ip, INSIDE)
                    netns, unit = proof.new_name("netnsfix-verify"), proof.new_name("netnsfix-probe") + ".service"
                    _rc, out = ContainerShell(container).run(proof.scenario_argv(INSIDE, netns, "harness", unit), 120)
                    save(f"{name}-systemd", netns, out)
        with staged_as_ip(DEBIAN_IP) as ip:
            for label, dropin in (("packaged", ("", "")), ("dropin", (DROPIN_NAME, DROPIN.decode()))):
                with booted(engine, image, name_prefix="netnsfix-record") as container:
                    copy_in(container, ip, INSIDE)
                    netns = f"qrouter-{uuid.uuid4()}"
                    argv = proof.privatetmp_argv(INSIDE, netns, UNIT, "true", FOLDER, *dropin)
                    _rc, out = ContainerShell(container).run(argv, 180)
                    save(f"debian-privatetmp-{label}", netns, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
