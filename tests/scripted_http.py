"""A real HTTP server on 127.0.0.1 that misbehaves on cue, for the fetcher's tests.

Each path has a body and a script of behaviours, one per request (the last
one repeats): serve it (with Range), cut the body short after N bytes while
Content-Length promises all of it, answer with a status, or ignore Range.
Every request is recorded with its Range header.
"""

from __future__ import annotations

import http.server
import re
import threading
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Ok:
    """Serve the body, honouring ``Range: bytes=N-``."""


@dataclass(frozen=True)
class Truncate:
    """Promise the whole (ranged) body in Content-Length, send ``after`` bytes, close."""

    after: int


@dataclass(frozen=True)
class Status:
    code: int


@dataclass(frozen=True)
class IgnoreRange:
    """Always answer 200 with the whole body, as some servers do."""


@dataclass(frozen=True)
class Slow:
    """Serve the body (with Range) in ``chunk``-byte pieces, ``pause`` seconds apart."""

    chunk: int = 4096
    pause: float = 0.05


Behaviour = Ok | Truncate | Status | IgnoreRange | Slow


@dataclass
class _Route:
    body: bytes
    script: list[Behaviour]
    served: int = 0


@dataclass
class ScriptedServer:
    routes: dict[str, _Route] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    url: str = ""

    def route(self, path: str, body: bytes, *script: Behaviour) -> str:
        """Serve ``body`` at ``path`` following ``script``; the URL to ask."""
        self.routes[path] = _Route(body, list(script) or [Ok()])
        return f"{self.url}{path}"

    def asked(self, path: str) -> list[str | None]:
        """The Range header of each request for ``path`` (None: no Range)."""
        return [rng for p, rng in self.requests if p == path]


def _handler(state: ScriptedServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            state.requests.append((self.path, self.headers.get("Range")))
            route = state.routes.get(self.path)
            if route is None:
                self.send_error(404, "Not Found")
                return
            behaviour = route.script[min(route.served, len(route.script) - 1)]
            route.served += 1
            if isinstance(behaviour, Status):
                self.send_error(behaviour.code)
                return
            body, start = route.body, 0
            match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
            if match and not isinstance(behaviour, IgnoreRange):
                start = int(match.group(1))
                if start >= len(body):
                    self.send_error(416)
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            part = body[start:]
            self.send_header("Content-Length", str(len(part)))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            if isinstance(behaviour, Truncate):
                self.wfile.write(part[: behaviour.after])
                self.wfile.flush()
                self.close_connection = True
                return
            if isinstance(behaviour, Slow):
                for at in range(0, len(part), behaviour.chunk):
                    self.wfile.write(part[at : at + behaviour.chunk])
                    self.wfile.flush()
                    time.sleep(behaviour.pause)
                return
            self.wfile.write(part)

    return Handler


class Running:
    """Start and stop a ScriptedServer in a thread."""

    def __init__(self) -> None:
        self.state = ScriptedServer()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.server.daemon_threads = True
        self.state.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
