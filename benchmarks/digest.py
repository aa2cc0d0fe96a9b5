"""Digest throughput: select, render and hand to a local SMTP server the digests of a day.

Builds a database with one day of new papers (generated dumps, ingested by the project's own
code) and N subscribers with trained models, then times the project's own send path
(``Recommender.send`` for everyone: digests composed in batches, by worker processes when there
are many, each batch delivered over SMTP as soon as it is recorded, to an aiosmtpd server on
loopback in a process of its own): digests per second end to end, and peak memory (of this
process, and of the largest worker). Model training is set up before the clock starts and
reported separately.

    python benchmarks/digest.py --subscribers 10000 --papers 2000

Word features only (``embedding_model = none``): sentence embeddings are computed once per
paper at ingest time, not per digest, and their throughput is measured in ``quality.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import pstats
import random
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.ingest import _TOPICS, generate  # noqa: E402
from benchmarks.sink import Sink  # noqa: E402
from recommender.config import Settings  # noqa: E402
from recommender.core import Recommender  # noqa: E402
from recommender.store.models import Subscriber  # noqa: E402
from tests.mailserver import free_port  # noqa: E402


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> dict[str, float]:
    """CPU time (user and system) of this process, and of its finished children (workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "self": own.ru_utime + own.ru_stime,
        "workers": children.ru_utime + children.ru_stime,
    }


def add_subscribers(app: Recommender, count: int, seed: int) -> None:
    rng = random.Random(seed)
    now = app.clock()
    rows = [
        {
            "email": f"reader{n}@example.org",
            "name": f"Reader {n}",
            "interests": rng.sample(_TOPICS, 2),
            "about": "",
            "liked": [],
            "schedule": "daily 07:30",
            "timezone": "UTC",
            "digest_size": 10,
            "min_score": None,
            "paused": False,
            "explore": True,
            "active": True,
            "profile_path": None,
            "created_at": now,
            "updated_at": now,
            "unsubscribed_at": None,
        }
        for n in range(count)
    ]
    with app._session() as session, session.begin():
        session.execute(insert(Subscriber), rows)


def set_up(app: Recommender, folder: Path, args: argparse.Namespace) -> float:
    """Ingest the day and add the subscribers; train their models. Returns training seconds."""
    log("generating and ingesting the day's papers ...")
    dumps_dir = folder / "dumps"
    dumps_dir.mkdir()
    generated = generate(dumps_dir, 1, args.papers, args.seed)  # one listing: the day
    app.ingest(generated.files)
    add_subscribers(app, args.subscribers, args.seed)
    log("training every subscriber's model (set-up, not timed as digests) ...")
    start = time.perf_counter()
    app.retrain()
    return round(time.perf_counter() - start, 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--papers", type=int, default=2_000, help="new papers in the day")
    parser.add_argument("--db", help="database URL (default: a SQLite file in a temp folder)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--profile", action="store_true", help="cProfile the timed part")
    parser.add_argument(
        "--workers", type=int, help="composing processes (default: the project's own choice)"
    )
    parser.add_argument(
        "--smtp-connections", type=int, default=2, help="delivery connections (default 2)"
    )
    parser.add_argument(
        "--keep-setup",
        type=Path,
        metavar="FILE",
        help="SQLite only: reuse the ingested and trained database saved in FILE by an earlier "
        "run with the same options (saved there if FILE does not exist); the timed part "
        "always runs on a copy",
    )
    args = parser.parse_args()
    if args.keep_setup is not None and args.db:
        parser.error("--keep-setup works with the default SQLite database only, not --db")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        port = free_port()
        settings = Settings(
            home=folder / "home",
            database_url=args.db or f"sqlite:///{folder / 'bench.db'}",
            embedding_model="none",
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
            base_url="https://papers.example.org",
            smtp_connections=args.smtp_connections,
        )
        result: dict[str, object] = {"subscribers": args.subscribers, "papers": args.papers}
        with contextlib.ExitStack() as stack:
            sink = stack.enter_context(Sink(port, folder))
            app = stack.enter_context(Recommender(settings, clock=lambda: datetime.now(UTC)))
            kept = args.keep_setup
            if kept is not None and kept.exists():
                log(f"reusing the set-up saved in {kept} ...")
                app.close()
                shutil.copyfile(kept, folder / "bench.db")
                app = stack.enter_context(Recommender(settings, clock=lambda: datetime.now(UTC)))
                app.init()
            else:
                app.init()
                result["setup_train_s"] = set_up(app, folder, args)
                if kept is not None:
                    app.close()
                    shutil.copyfile(folder / "bench.db", kept)
                    log(f"set-up saved in {kept}")
                    app = stack.enter_context(
                        Recommender(settings, clock=lambda: datetime.now(UTC))
                    )
            result["papers"] = app.stats()["papers"]

            log("composing and sending ...")
            profiler = cProfile.Profile() if args.profile else None
            start = time.perf_counter()
            if profiler is not None:
                profiler.enable()
            first_sent: list[float] = []

            def on_delivered(_: object) -> None:
                if not first_sent:
                    first_sent.append(time.perf_counter())

            cpu = _cpu_seconds()
            sink_cpu = sink.cpu_seconds()
            report = app.send(workers=args.workers, on_delivered=on_delivered)
            end = time.perf_counter()
            cpu = {key: round(value - cpu[key], 1) for key, value in _cpu_seconds().items()}
            sink_cpu_after = sink.cpu_seconds()
            if profiler is not None:
                profiler.disable()
            sent = sum(1 for d in report.delivered if d.state == "sent")
            result.update(
                workers=args.workers or "auto",
                smtp_connections=args.smtp_connections,
                composed=sum(1 for c in report.composed if c.status == "recorded"),
                sent=sent,
                received=sink.accepted()[0],
                first_sent_s=round(first_sent[0] - start, 2) if first_sent else None,
                total_s=round(end - start, 2),
                cpu_s=cpu["self"],  # this process: composing (without workers) and delivering
                workers_cpu_s=cpu["workers"],
                mail_server_cpu_s=(
                    round(sink_cpu_after - sink_cpu, 1)
                    if sink_cpu is not None and sink_cpu_after is not None
                    else None
                ),
                digests_per_s=round(sent / (end - start), 1),
                peak_rss_mb=round(peak_mb(), 1),
                worker_peak_rss_mb=round(
                    resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
                ),
            )
    if profiler is not None:
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>16}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
