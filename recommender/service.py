"""``recommender serve``: the scheduler and the web server in one long-running process.

uvicorn serves :mod:`recommender.web` and owns the signals: on SIGINT or SIGTERM it stops
taking requests and finishes the ones in flight, then the scheduler is shut down, waiting for
running jobs (a digest being sent is finished, not cut off).
"""

from __future__ import annotations

import logging
import threading
import time

import uvicorn
from apscheduler.schedulers.background import BackgroundScheduler

from recommender import scheduler as jobs
from recommender import web
from recommender.core import Recommender

log = logging.getLogger("recommender.service")


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
        self._thread: threading.Thread | None = None

    def start_scheduler(self) -> None:
        self.app.init()
        self.app.signer()  # the secret exists before the first digest needs it
        jobs.install(self.app)
        jobs.attach(self.scheduler)
        self.scheduler.start()
        jobs.add_service_jobs(self.scheduler, self.app)
        changes = jobs.sync_digest_jobs(self.scheduler, self.app)
        log.info("scheduler started: %d digest jobs changed", len(changes))

    def run(self) -> None:
        """Serve until SIGINT or SIGTERM, then shut down cleanly."""
        self.start_scheduler()
        try:
            self.server.run()
        finally:
            self.stop_scheduler()

    def stop_scheduler(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        # The scheduler's last wake-up may have used the store after it closed it.
        self.jobstore.engine.dispose()
        log.info("stopped")

    # -- in a thread, for tests and benchmarks -------------------------------------------------

    def start_in_background(self, timeout: float = 10.0) -> None:
        self.start_scheduler()
        self._thread = threading.Thread(target=self.server.run, name="web", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the web server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.stop_scheduler()
