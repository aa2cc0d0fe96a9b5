"""Links: HEAD, GET and OPTIONS on every link of a day's digests change nothing; POST does.

Sends a few subscribers their digests (written as files: no mail server is needed), serves the
web endpoints on loopback with uvicorn (the ``serve`` command's server and application, without
its scheduler, so that nothing else writes to the database meanwhile), and then:

1. sends HEAD, GET and OPTIONS to every link of every digest (rating links, unsubscribe,
   manage, digest view, and the ``List-Unsubscribe`` header's link), comparing every row of
   every table before and after each request: a request that changed any row is a state change
   (expected 0);
2. POSTs them from another site (``Origin`` or ``Referer`` of another origin): expected 403 and
   0 state changes;
3. POSTs them as a subscriber would (a thumbs-up, interests, the unsubscribe button) and checks
   each changed what it should; replays the rating POSTs (expected 0 new history rows);
4. sends a POST announcing a 500 MB body, and one streaming 500 MB with no length, and times
   how soon each is refused (413) and the connection closed.

    python benchmarks/links.py                # --subscribers 5 --papers 200
"""

from __future__ import annotations

import argparse
import json
import re
import select as io_select
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.digest import add_subscribers  # noqa: E402
from benchmarks.ingest import generate  # noqa: E402
from recommender import links, web  # noqa: E402
from recommender.config import Settings  # noqa: E402
from recommender.core import Recommender  # noqa: E402
from recommender.store.models import Base  # noqa: E402
from tests.mailserver import free_port  # noqa: E402

READS = ("HEAD", "GET", "OPTIONS")
BIG = 500 * 1000 * 1000


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def snapshot(app: Recommender) -> dict[str, set[str]]:
    """Every row of every table."""
    with app.engine.connect() as connection:
        return {
            table.name: {repr(tuple(row)) for row in connection.execute(select(table))}
            for table in Base.metadata.sorted_tables
        }


def rows_changed(before: dict[str, set[str]], after: dict[str, set[str]]) -> int:
    return sum(len(before[name] ^ after[name]) for name in before)


def digest_links(outbox: Path, base: str) -> list[dict[str, list[str]]]:
    """Each digest's links by action, from the messages written to the outbox."""
    found = []
    for path in sorted(outbox.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), _class=EmailMessage, policy=policy.default)
        html = message.get_body(preferencelist=("html",))
        assert html is not None
        urls = re.findall(r'href="([^"]+)"', html.get_content())
        urls += re.findall(r"<(http[^>]+)>", str(message["List-Unsubscribe"]))
        found.append(
            {
                action: sorted({u for u in urls if u.startswith(f"{base}/{prefix}/")})
                for action, prefix in links.PATHS.items()
            }
        )
    return found


def serve(app: Recommender, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    config = uvicorn.Config(
        web.create_app(app), "127.0.0.1", port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the web server did not start")
        time.sleep(0.05)
    return server, thread


def oversized(url: httpx.URL, announced: bool) -> dict[str, float | int | str]:
    """POST 500 MB (announced in Content-Length, or streamed chunked); when is it refused?"""
    prefix, chunk = b"List-Unsubscribe=One-Click&pad=", b"x" * 65536
    chunks = BIG // len(chunk)
    total = len(prefix) + chunks * len(chunk)
    head = (
        f"POST {url.raw_path.decode()} HTTP/1.1\r\nHost: {url.netloc.decode()}\r\n"
        "Content-Type: application/octet-stream\r\n"  # not a form: nothing parses it
        + (f"Content-Length: {total}\r\n" if announced else "Transfer-Encoding: chunked\r\n")
        + "\r\n"
    )

    def framed(data: bytes) -> bytes:
        return data if announced else b"%x\r\n%s\r\n" % (len(data), data)

    start = time.monotonic()
    sent, answer, answered = len(prefix), b"", None
    with socket.create_connection((url.host, url.port), timeout=30) as raw:
        raw.sendall(head.encode() + framed(prefix))
        # Go on sending after the answer, as a hostile client would: how long does the server
        # go on taking (and reading) the body?
        try:
            for _ in range(chunks):
                if answered is None and io_select.select([raw], [], [], 0)[0]:
                    answer, answered = raw.recv(4096), time.monotonic() - start
                raw.sendall(framed(chunk))
                sent += len(chunk)
            if not announced:
                raw.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the server closed the connection
        held = time.monotonic() - start
        if answered is None:
            raw.settimeout(5)
            try:
                answer, answered = raw.recv(4096), time.monotonic() - start
            except (ConnectionResetError, TimeoutError):
                pass
    return {
        "status": answer.split(b" ", 2)[1].decode() if answer else "none",
        "answered_s": round(answered, 3) if answered is not None else "never",
        "body_MB_taken": round(sent / 1e6, 1),
        "connection_held_s": round(held, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=5)
    parser.add_argument("--papers", type=int, default=200)
    parser.add_argument("--db", help="database URL (default: a SQLite file in a temp folder)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        settings = Settings(
            home=folder / "home",
            database_url=args.db or f"sqlite:///{folder / 'links.db'}",
            embedding_model="none",
            base_url=base,
            outbox_dir=folder / "outbox",
        )
        result: dict[str, object] = {}
        with Recommender(settings, clock=lambda: datetime.now(UTC)) as app:
            app.init()
            (folder / "dumps").mkdir()
            app.ingest(generate(folder / "dumps", 1, args.papers, 0).files)
            add_subscribers(app, args.subscribers, 0)
            app.send()
            digests = digest_links(settings.outbox, base)
            result["digests"] = len(digests)
            result["links"] = sum(len(u) for d in digests for u in d.values())
            log(f"{result['digests']} digests, {result['links']} links; serving on {base}")
            server, thread = serve(app, port)
            try:
                with httpx.Client(timeout=30) as client:
                    result.update(reads(app, client, digests))
                    result.update(cross_site(app, client, digests))
                    result.update(posts(app, client, digests))
                result["announced_500MB"] = oversized(httpx.URL(digests[0]["unsubscribe"][0]), True)
                result["streamed_500MB"] = oversized(httpx.URL(digests[0]["unsubscribe"][0]), False)
            finally:
                server.should_exit = True
                thread.join(timeout=10)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key:>34}: {value}")
    return 0


def every_link(digests: list[dict[str, list[str]]]) -> Iterator[tuple[str, str]]:
    for digest in digests:
        for action, urls in digest.items():
            for url in urls:
                yield action, url


def reads(app: Recommender, client: httpx.Client, digests: list[dict[str, list[str]]]) -> dict:
    statuses: Counter[str] = Counter()
    changing = 0
    start = time.monotonic()
    for action, url in every_link(digests):
        for method in READS:
            before = snapshot(app)
            response = client.request(method, url)
            statuses[f"{method} {response.status_code}"] += 1
            if rows_changed(before, snapshot(app)):
                changing += 1
                log(f"state changed: {method} {action} {url}")
    return {
        "read_requests": sum(statuses.values()),
        "read_statuses": dict(sorted(statuses.items())),
        "read_state_changes": changing,
        "read_seconds": round(time.monotonic() - start, 1),
    }


def cross_site(app: Recommender, client: httpx.Client, digests: list[dict]) -> dict:
    before = snapshot(app)
    statuses: Counter[int] = Counter()
    for n, (_action, url) in enumerate(every_link(digests)):
        header = ("Origin", "https://evil.example") if n % 2 else ("Referer", "https://x.test/")
        form = {"interests": "forged", "List-Unsubscribe": "One-Click"}
        statuses[client.post(url, data=form, headers=dict([header])).status_code] += 1
    return {
        "cross_site_posts": sum(statuses.values()),
        "cross_site_statuses": dict(statuses),
        "cross_site_rows_changed": rows_changed(before, snapshot(app)),
    }


def posts(app: Recommender, client: httpx.Client, digests: list[dict]) -> dict:
    """The POSTs a subscriber means: each must change what it names."""
    rated, replay_rows, interests, unsubscribed = 0, 0, 0, 0
    for digest in digests:
        ups = [u for u in digest["rate"] if "~up~" in u][:3]
        manage = digest["manage"][0]
        email = app.pages.open_subscriber_link("manage", manage.rsplit("/", 1)[1]).email
        history = len(app.ratings(email, history=True))
        for url in ups:
            assert client.post(url).status_code == 200
        rated += len(app.ratings(email, history=True)) - history
        for url in ups:  # a replay: the votes stand, no row is added
            assert client.post(url).status_code == 200
        replay_rows += len(app.ratings(email, history=True)) - history - len(ups)
        assert client.post(manage, data={"interests": "replayed links"}).status_code == 200
        interests += app.subscriber(email).interests == ["replayed links"]
        assert client.post(digest["unsubscribe"][0]).status_code == 200
        unsubscribed += not app.subscriber(email).active
    return {
        "rating_posts_recorded": f"{rated} of {3 * len(digests)}",
        "replayed_rating_posts_new_rows": replay_rows,
        "manage_posts_saved": f"{interests} of {len(digests)}",
        "unsubscribe_posts_unsubscribed": f"{unsubscribed} of {len(digests)}",
    }


if __name__ == "__main__":
    raise SystemExit(main())
