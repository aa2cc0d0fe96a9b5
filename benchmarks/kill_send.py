"""Kills during send: ``recommender send`` killed with SIGKILL at random moments of delivery.

Sets up subscribers and a day of papers per round, then, round after round: runs
``recommender send`` in a process of its own (it composes the round's digests and delivers them
over SMTP to an aiosmtpd server on loopback, in this process, that answers each message after
``--latency`` seconds), kills it with SIGKILL once the server has accepted a random number of
that round's messages (and a random moment more), waits out the sender's lease (a clock moved
past it flags what the dead sender left ``sending`` as ``unconfirmed``), and runs ``send``
again, unkilled, which delivers what is left. At the end every recorded digest is checked
against what the server received:

- duplicates: messages the server received more than once (by Message-ID);
- lost: digests the server never received that no later run will send (neither ``pending``
  nor ``failed``, nor ``unconfirmed``, which the outbox shows for a resend on request);
- in doubt, per kill: digests that kill left ``unconfirmed``, split into those the server had
  accepted and those it never saw.

Goal: 0 duplicates, 0 lost, and no more in doubt per kill than ``--connections``.

    python benchmarks/kill_send.py --subscribers 50 --kills 20

``--child deliver`` is a quicker version for the tests: short digests are recorded once, not
composed; each kill takes a few of them from a sender that only calls ``Recommender.deliver``
(forked from a process that has imported the package already), and one unkilled run at the end
delivers the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Protocol

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import select  # noqa: E402

from benchmarks.ingest import generate  # noqa: E402
from recommender import core  # noqa: E402
from recommender.config import Settings  # noqa: E402
from recommender.core import Recommender  # noqa: E402
from recommender.store import digests as digest_store  # noqa: E402
from recommender.store.models import Digest, Subscriber  # noqa: E402
from tests.mailserver import free_port  # noqa: E402


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


class Sink:
    """The mail server's handler: answers after ``latency`` seconds, counts what it accepts."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.received: Counter[str] = Counter()
        self.accepted = 0
        self.changed = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        await asyncio.sleep(self.latency)
        headers = BytesHeaderParser().parsebytes(bytes(envelope.content))
        with self.changed:
            self.received[" ".join(str(headers["Message-ID"]).split())] += 1
            self.accepted += 1
            self.changed.notify_all()
        return "250 OK"

    def wait_for(self, count: int, running: Callable[[], bool]) -> bool:
        """Wait until ``count`` messages are accepted in all; False if ``running`` stops first."""
        with self.changed:
            while self.accepted < count:
                if not running():
                    return False
                self.changed.wait(0.01)
        return True


@dataclass
class Kill:
    round: int
    accepted_before: int  # of this round's messages, when the sender was killed
    finished_first: bool  # the sender ended before the kill: nothing to kill
    in_doubt: int = 0
    in_doubt_accepted: int = 0  # of those: the server had it
    in_doubt_not_reached: int = 0  # of those: the server never saw it


@dataclass
class Result:
    subscribers: int
    connections: int
    child: str
    latency_s: float
    digests: int = 0
    received: int = 0
    duplicates: int = 0
    lost: int = 0
    waiting: int = 0  # pending or failed at the end (a later run sends them)
    in_doubt: int = 0
    in_doubt_accepted: int = 0
    in_doubt_not_reached: int = 0
    max_in_doubt_per_kill: int = 0
    seconds: float = 0.0
    kills: list[Kill] = field(default_factory=list)

    def ok(self) -> bool:
        return (
            self.duplicates == 0
            and self.lost == 0
            and self.max_in_doubt_per_kill <= self.connections
        )


class Sender(Protocol):
    def running(self) -> bool: ...
    def kill(self) -> None: ...
    def wait(self) -> bool:
        """Wait for the end; True if the sender was killed."""
        ...


class SendCommand:
    """``recommender send`` in a process of its own, as a user runs it."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "recommender", "send"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)

    def wait(self) -> bool:
        _, err = self.process.communicate(timeout=600)
        if self.process.returncode not in (0, -signal.SIGKILL):
            raise RuntimeError(f"send failed: {err.decode(errors='replace')}")
        return self.process.returncode == -signal.SIGKILL


def _deliver(settings: Settings) -> None:
    with Recommender(settings) as app:
        app.deliver()


class DeliverProcess:
    """``Recommender.deliver`` in a process forked from a server that has imported the
    package already (a fresh interpreter takes seconds to import it)."""

    def __init__(self, settings: Settings) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["benchmarks.kill_send"])
        self.process = context.Process(target=_deliver, args=(settings,))
        self.process.start()

    def running(self) -> bool:
        return self.process.is_alive()

    def kill(self) -> None:
        self.process.kill()

    def wait(self) -> bool:
        self.process.join(600)
        if self.process.exitcode not in (0, -signal.SIGKILL):
            raise RuntimeError(f"deliver failed: exit code {self.process.exitcode}")
        return self.process.exitcode == -signal.SIGKILL


def run(
    folder: Path,
    *,
    subscribers: int = 50,
    kills: int = 20,
    connections: int = 2,
    latency: float = 0.02,
    child: str = "send",
    database_url: str | None = None,
    seed: int = 0,
) -> Result:
    """Kill ``kills`` senders mid-delivery and check every digest; see the module docstring."""
    started = time.perf_counter()
    rng = random.Random(seed)
    sink = Sink(latency)
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings = Settings(
        home=folder / "home",
        database_url=database_url or f"sqlite:///{folder / 'kill.db'}",
        embedding_model="none",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        smtp_connections=connections,
        base_url="https://papers.example.org",
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        **{f"RECOMMENDER_{name.upper()}": str(getattr(settings, name)) for name in _SETTINGS},
    }

    def sender() -> Sender:
        return SendCommand(env) if child == "send" else DeliverProcess(settings)

    result = Result(subscribers, connections, child, latency)
    try:
        with Recommender(settings) as app:
            app.init()
            addresses = subscribe_readers(app, folder, subscribers)
            if child == "send":
                days = generate(folder, kills, 20, seed).files
            else:
                # one set of digests; each kill takes a few of them
                record_short_digests(app, addresses)
        most = subscribers - 1 if child == "send" else subscribers // (kills + 1)
        for number in range(1, kills + 1):
            if child == "send":
                with Recommender(settings) as app:
                    app.ingest([days[number - 1]])  # a new day: a digest for everyone
            kill = _kill_one(sender(), sink, rng, max(1, most), number)
            before = _unconfirmed(settings)
            _settle(settings)
            for message_id in _unconfirmed(settings) - before:
                kill.in_doubt += 1
                if sink.received[message_id]:
                    kill.in_doubt_accepted += 1
                else:
                    kill.in_doubt_not_reached += 1
            result.kills.append(kill)
            log(
                f"kill {number}: after {kill.accepted_before} accepted"
                + (" (finished first)" if kill.finished_first else "")
                + f"; in doubt {kill.in_doubt} ({kill.in_doubt_accepted} accepted, "
                f"{kill.in_doubt_not_reached} never reached)"
            )
            if child == "send" or number == kills:
                sender().wait()  # a run not killed delivers what the killed one left due
    finally:
        controller.stop()
    _tally(settings, sink, result)
    result.seconds = round(time.perf_counter() - started, 1)
    return result


_SETTINGS = (
    "home",
    "database_url",
    "embedding_model",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_connections",
    "base_url",
)


def subscribe_readers(app: Recommender, folder: Path, count: int) -> list[str]:
    profiles = folder / "profiles"
    profiles.mkdir()
    topics = ["diffusion models", "graph neural networks", "speech recognition", "robotics"]
    addresses = [f"reader{n}@example.org" for n in range(count)]
    for n, address in enumerate(addresses):
        (profiles / f"reader{n}.toml").write_text(
            f'email = "{address}"\ninterests = ["{topics[n % len(topics)]}"]\n'
        )
    app.subscribe(profiles)
    return addresses


def record_short_digests(app: Recommender, addresses: list[str]) -> None:
    """Record a short digest for each of ``addresses``, as composing would (but faster)."""
    now = datetime.now(UTC)

    def message(n: int, address: str) -> bytes:
        return (
            f"From: digest@example.org\r\nTo: {address}\r\nSubject: A digest\r\n"
            f"Message-ID: <{n}.kill@example.org>\r\n\r\nHello.\r\n"
        ).encode()

    with app._session() as session, session.begin():
        ids = {e: i for e, i in session.execute(select(Subscriber.email, Subscriber.id))}
        digest_store.record_digests(
            session,
            [
                digest_store.NewDigest(
                    ids[address],
                    "digest",
                    None,
                    f"<{n}.kill@example.org>",
                    [],
                    "A digest",
                    message(n, address),
                )
                for n, address in enumerate(addresses)
            ],
            now,
        )


def _kill_one(sender: Sender, sink: Sink, rng: random.Random, most: int, number: int) -> Kill:
    """SIGKILL ``sender`` once the server has accepted from 1 to ``most`` of its messages
    (and a random fraction of a message's time more)."""
    base = sink.accepted
    if sink.wait_for(base + rng.randint(1, most), sender.running):
        time.sleep(rng.uniform(0, 2 * sink.latency))
        sender.kill()
    killed = sender.wait()
    return Kill(number, sink.accepted - base, finished_first=not killed)


def _unconfirmed(settings: Settings) -> set[str]:
    with Recommender(settings) as app, app._session() as session:
        return set(session.scalars(select(Digest.message_id).where(Digest.state == "unconfirmed")))


def _settle(settings: Settings) -> None:
    """What happens once the dead sender's lease is over: what it left ``sending`` is flagged
    ``unconfirmed`` (the outbox does it, as a send would)."""
    later = datetime.now(UTC) + core.SENDING_LEASE + timedelta(minutes=1)
    with Recommender(settings, clock=lambda: later) as app:
        app.outbox()


def _tally(settings: Settings, sink: Sink, result: Result) -> None:
    with Recommender(settings) as app, app._session() as session:
        digests = session.execute(select(Digest.message_id, Digest.state)).all()
    known = {message_id for message_id, _ in digests}
    result.digests = len(digests)
    result.received = sum(sink.received.values())
    result.duplicates = sum(n - 1 for n in sink.received.values() if n > 1)
    result.duplicates += sum(n for m, n in sink.received.items() if m not in known)
    for message_id, state in digests:
        if sink.received[message_id]:
            continue
        if state in ("pending", "failed"):
            result.waiting += 1
        elif state != "unconfirmed":
            result.lost += 1
    for kill in result.kills:
        result.in_doubt += kill.in_doubt
        result.in_doubt_accepted += kill.in_doubt_accepted
        result.in_doubt_not_reached += kill.in_doubt_not_reached
    result.max_in_doubt_per_kill = max((k.in_doubt for k in result.kills), default=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=50)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--connections", type=int, default=2, help="smtp_connections")
    parser.add_argument(
        "--latency", type=float, default=0.02, help="seconds the server takes to answer"
    )
    parser.add_argument("--child", choices=["send", "deliver"], default="send")
    parser.add_argument("--db", help="database URL (default: a SQLite file in a temp folder)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = run(
            Path(tmp),
            subscribers=args.subscribers,
            kills=args.kills,
            connections=args.connections,
            latency=args.latency,
            child=args.child,
            database_url=args.db,
            seed=args.seed,
        )
    if args.json:
        print(json.dumps(asdict(result), indent=2))
    else:
        for key, value in asdict(result).items():
            if key != "kills":
                print(f"{key:>22}: {value}")
        killed = [k for k in result.kills if not k.finished_first]
        print(f"{'kills that hit a sender':>22}: {len(killed)} of {len(result.kills)}")
        print(f"{'in doubt per kill':>22}: {[k.in_doubt for k in result.kills]}")
    return 0 if result.ok() else 1


if __name__ == "__main__":
    raise SystemExit(main())
