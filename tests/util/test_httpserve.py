"""The local HTTP server the demo archive and the tests use."""

from __future__ import annotations

from pathlib import Path

import requests

from netnsfix.util.httpserve import serving


def test_serves_files_and_ranges(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(bytes(range(256)) * 4)
    with serving(tmp_path) as served:
        assert served.url.startswith("http://127.0.0.1:")
        whole = requests.get(f"{served.url}/a.bin", timeout=5)
        assert whole.status_code == 200 and len(whole.content) == 1024
        part = requests.get(f"{served.url}/a.bin", headers={"Range": "bytes=1000-"}, timeout=5)
        assert part.status_code == 206
        assert part.content == (bytes(range(256)) * 4)[1000:]
        assert part.headers["Content-Range"] == "bytes 1000-1023/1024"
        assert requests.get(f"{served.url}/missing", timeout=5).status_code == 404
