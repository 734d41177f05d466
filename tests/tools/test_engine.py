"""The engine seam: a clear error when no engine answers."""

from __future__ import annotations

import pytest

from netnsfix.errors import EngineError
from netnsfix.tools.engine import connect


def test_engine_down_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(EngineError, match=r"no-engine\.sock is not answering.*scripts/engine start"):
        connect(timeout=5)


def test_running_engine_answers(docker_client) -> None:
    assert connect().ping()
