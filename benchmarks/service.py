"""Service throughput: many digests falling due at once, and rating-link POSTs on loopback.

Runs the real service (``recommender.service.Service``: APScheduler plus uvicorn) over a
database with one day of generated papers and N subscribers whose digests all fall due in the
same minute (their jobs are set to run now), with a local aiosmtpd server taking the mail in
another process. Reports the time from the trigger to the last message accepted, peak memory,
and how many rating-link POSTs per second the web endpoints answer.

    python benchmarks/service.py --subscribers 10000 --papers 2000
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.digest import add_subscribers  # noqa: E402
from benchmarks.ingest import generate  # noqa: E402
from benchmarks.sink import Sink  # noqa: E402
from recommender import scheduler as jobs  # noqa: E402
from recommender.config import Settings  # noqa: E402
from recommender.core import Recommender  # noqa: E402
from recommender.service import Service  # noqa: E402
from tests.mailserver import free_port  # noqa: E402


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--papers", type=int, default=2_000)
    parser.add_argument("--rating-seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4, help="concurrent rating clients")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        smtp_port, web_port = free_port(), free_port()
        settings = Settings(
            home=folder / "home",
            database_url=f"sqlite:///{folder / 'bench.db'}",
            embedding_model="none",
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
            smtp_security="none",
            base_url=f"http://127.0.0.1:{web_port}",
            inbox_poll_seconds=3600,
        )
        result: dict[str, object] = {"subscribers": args.subscribers}
        with (
            Sink(smtp_port, folder) as sink,
            Recommender(settings, clock=lambda: datetime.now(UTC)) as app,
        ):
            app.init()
            (folder / "dumps").mkdir()
            generated = generate(folder / "dumps", 1, args.papers, 0)  # one listing: the day
            app.ingest(generated.files)
            result["papers"] = app.stats()["papers"]
            add_subscribers(app, args.subscribers, 0)
            log("training every model (set-up) ...")
            app.retrain()
            service = Service(app, "127.0.0.1", web_port)
            service.start_in_background()
            try:
                due = [j for j in service.scheduler.get_jobs() if j.id.startswith("digest:")]
                log(f"{len(due)} digest jobs; triggering them all now ...")
                start = time.time()
                for job in due:
                    job.modify(next_run_time=datetime.now(UTC))
                service.scheduler.wakeup()
                while sink.accepted()[0] < len(due):
                    time.sleep(0.5)
                    if time.time() - start > 6 * 3600:
                        break
                count, last = sink.accepted()
                result.update(
                    digests_accepted=count,
                    trigger_to_last_accepted_s=round(last - start, 1),
                    digests_per_s=round(count / max(last - start, 1e-9), 1),
                )
                result["rating_posts_per_s"] = rating_throughput(app, args)
            finally:
                service.stop()
        result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>28}: {value}")
    return 0


def rating_throughput(app: Recommender, args: argparse.Namespace) -> float:
    """POSTs per second on rating links of the digests just sent (each a real rating)."""
    signer = app.signer()
    users = app.subscribers()[: args.clients * 50]
    papers = [p.id for p in app.papers(app_query())[0]]
    urls = [
        f"{app.settings.base_url}/r/{signer.rating(n + 1, papers[n % len(papers)], 'up')}"
        for n, _ in enumerate(users)
    ]
    done = [0] * args.clients
    stop = time.monotonic() + args.rating_seconds

    def client(k: int) -> None:
        with httpx.Client(timeout=30) as http:
            n = k
            while time.monotonic() < stop:
                response = http.post(urls[n % len(urls)])
                assert response.status_code == 200, response.status_code
                assert re.search("Thank you", response.text)
                done[k] += 1
                n += args.clients

    threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return round(sum(done) / (time.monotonic() - start), 1)


def app_query():  # type: ignore[no-untyped-def]
    from recommender.core import PaperQuery

    return PaperQuery(limit=500)


if __name__ == "__main__":
    _ = jobs
    raise SystemExit(main())
