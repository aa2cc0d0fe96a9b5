"""Real HTTP servers on loopback: the web app itself (:func:`serving_app`), and for the source
tests a scripted one (:func:`serving`): scripted replies, recorded requests.

The test gives a function from the request seen to the reply; the server records each request
(its arrival time on the server's own monotonic clock, path, query and headers), so tests can
assert what reached the server and when.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import uvicorn

from recommender import web
from recommender.core import Recommender

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass(frozen=True)
class Seen:
    at: float  # time.monotonic() when the request line arrived
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (to make a client time out)
    # sent in chunks of this many bytes (chunked transfer encoding, no Content-Length), with
    # ``chunk_delay`` seconds before each: a stream, or a server that drips; 0: all at once
    chunk_size: int = 0
    chunk_delay: float = 0.0


Handler = Callable[[Seen], Reply]


def json_file(source: str, name: str, **headers: str) -> Reply:
    """Reply with a fixture file as JSON."""
    body = (FIXTURES / source / name).read_bytes()
    return Reply(200, body, {"Content-Type": "application/json; charset=utf-8", **headers})


@contextmanager
def serving(handler: Handler) -> Iterator[tuple[str, list[Seen]]]:
    """Serve ``handler`` on 127.0.0.1 (a free port); yield the base URL and the requests seen."""
    seen: list[Seen] = []

    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (the name http.server dispatches to)
            parts = urlsplit(self.path)
            request = Seen(
                at=time.monotonic(),
                path=parts.path,
                query={key: values[-1] for key, values in parse_qs(parts.query).items()},
                headers={key.lower(): value for key, value in self.headers.items()},
            )
            seen.append(request)
            reply = handler(request)
            if reply.delay:
                time.sleep(reply.delay)
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.chunk_size:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for start in range(0, len(reply.body), reply.chunk_size):
                        time.sleep(reply.chunk_delay)
                        chunk = reply.body[start : start + reply.chunk_size]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
            except OSError:  # the client gave up (a timeout test): nothing to answer
                self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# Sockets bound by reserved_port, held until serving_app serves on them.
_RESERVED: dict[int, socket.socket] = {}


def reserved_port() -> int:
    """A free loopback port for :func:`serving_app`, kept bound until it serves there: a port
    merely found free (``mailserver.free_port``) can be taken meanwhile by another process or
    an outgoing connection (seen in CI: "address already in use")."""
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    port = int(held.getsockname()[1])
    _RESERVED[port] = held
    return port


@contextmanager
def serving_app(app: Recommender, port: int) -> Iterator[str]:
    """Serve the web app over ``app`` on 127.0.0.1:``port`` in a thread (on the socket that
    :func:`reserved_port` holds for it, if it does); yield its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(web.create_app(app), "127.0.0.1", port, log_level="warning", lifespan="off")
    )
    held = _RESERVED.pop(port, None)
    sockets = {"sockets": [held]} if held is not None else {}
    thread = threading.Thread(target=server.run, kwargs=sockets, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the web server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        if held is not None:
            held.close()
