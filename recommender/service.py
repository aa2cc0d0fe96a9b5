"""``recommender serve``: the scheduler and the web server in one long-running process.

uvicorn serves :mod:`recommender.web` in a thread; the main thread waits for SIGINT or SIGTERM,
then the web server stops taking requests and finishes the ones in flight (a second signal
cuts them off), and the scheduler is shut down, waiting for running jobs (a digest being sent
is finished, not cut off). The process then exits with status 0.

The signals are ours, not uvicorn's: uvicorn in the main thread raises a signal again once it
has shut down, which kills the process with SIGTERM before the scheduler is stopped, and turns
SIGINT into a KeyboardInterrupt that the CLI reports as an abort.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from types import FrameType

import uvicorn
from apscheduler.schedulers.background import BackgroundScheduler

from recommender import scheduler as jobs
from recommender import web
from recommender.core import Recommender
from recommender.errors import RecommenderError

log = logging.getLogger("recommender.service")


class ServiceError(RecommenderError):
    """The service cannot start: its address cannot be listened on."""


def listen(host: str, port: int) -> list[socket.socket]:
    """Bind a socket for each address ``host`` names, as uvicorn would; raise
    :class:`ServiceError` in one line if it names none, or one is taken or not this machine's
    (uvicorn logs it from its thread, and the thread dies)."""
    where = f"{host}:{port}"
    try:
        found = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise ServiceError(f"cannot listen on {where}: {_reason(exc)}") from exc
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(found):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:  # as asyncio does: each family its own socket
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise ServiceError(f"cannot listen on {where}: {_reason(exc)}") from exc
    return sockets


def _reason(exc: Exception) -> str:
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return text[:1].lower() + text[1:]


class Service:
    """The scheduler plus the web server, over one facade."""

    def __init__(self, app: Recommender, host: str = "127.0.0.1", port: int = 8000) -> None:
        self.app = app
        self.jobstore = jobs.make_jobstore(app)
        self.scheduler: BackgroundScheduler = jobs.make_scheduler(self.jobstore)
        config = uvicorn.Config(
            web.create_app(app),
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.host, self.port = host, port
        self._sockets: list[socket.socket] | None = None
        self._thread: threading.Thread | None = None

    def listen(self) -> None:
        """Take the address (:func:`listen`), before anything starts: a port in use or a
        host that is not this machine's is a :class:`ServiceError`, not a dead thread."""
        if self._sockets is None:
            self._sockets = listen(self.host, self.port)

    def start_scheduler(self) -> None:
        self.app.init()
        self.app.signer()  # the secret exists before the first digest needs it
        jobs.install(self.app)
        jobs.attach(self.scheduler)
        self.scheduler.start()
        jobs.add_service_jobs(self.scheduler, self.app)
        jobs.add_source_jobs(self.scheduler, self.app)
        changes = jobs.sync_digest_jobs(self.scheduler, self.app)
        log.info("scheduler started: %d digest jobs changed", len(changes))

    def run(self) -> None:
        """Serve until SIGINT or SIGTERM, then shut down cleanly (from the main thread)."""
        stopping = threading.Event()
        received: list[int] = []

        def on_signal(signum: int, frame: FrameType | None) -> None:
            # Nothing is written here: the signal may come while this thread writes a log line,
            # and writing to the same stream from the handler fails ("reentrant call"), so the
            # handler stopped nothing and the service ran on. It is logged once stopping.
            if stopping.is_set():
                self.server.force_exit = True
            received.append(signum)
            stopping.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start_in_background()
            while self.serving and not stopping.wait(1.0):
                pass
            if not stopping.is_set():
                raise RuntimeError("the web server stopped unexpectedly")
            log.info("%s received: stopping", signal.Signals(received[0]).name)
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop_scheduler(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        log.info("stopped")

    # -- in a thread, for tests and benchmarks -------------------------------------------------

    def start_in_background(self, timeout: float = 10.0) -> None:
        self.listen()
        self.start_scheduler()
        self._thread = threading.Thread(
            target=self.server.run, args=(self._sockets,), name="web", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the web server did not start")
            time.sleep(0.05)

    @property
    def serving(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        for sock in self._sockets or []:  # uvicorn closes them, unless it never ran
            sock.close()
        self.stop_scheduler()
