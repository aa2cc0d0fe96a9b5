"""A mail server for benchmarks: aiosmtpd in a process of its own, counting what it accepts.

In its own process it does not take CPU time from the code being measured (on two cores the
two run side by side, as a real mail server would on its own host). It writes the running
count and the time of the last accepted message to a file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

_SERVER = """
import sys, time
from aiosmtpd.controller import Controller
count = 0
class Count:
    async def handle_DATA(self, server, session, envelope):
        global count
        count += 1
        with open(sys.argv[2], "w") as f:
            f.write(f"{count} {time.time()}")
        return "250 OK"
c = Controller(Count(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
sys.stdin.read()
c.stop()
"""


class Sink:
    """``with Sink(port, folder) as sink:`` runs the server; ``sink.accepted()`` reads it."""

    def __init__(self, port: int, folder: Path) -> None:
        self.port = port
        self.counter = folder / "accepted"

    def __enter__(self) -> Sink:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _SERVER, str(self.port), str(self.counter)],
            stdin=subprocess.PIPE,
        )
        time.sleep(1.0)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.process.communicate(b"", timeout=10)

    def cpu_seconds(self) -> float | None:
        """The CPU time the server has used so far (Linux only: ``None`` elsewhere)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime

    def accepted(self) -> tuple[int, float]:
        """How many messages were accepted, and when the last one was (Unix time)."""
        try:
            count, when = self.counter.read_text().split()
            return int(count), float(when)
        except (OSError, ValueError):
            return 0, 0.0
