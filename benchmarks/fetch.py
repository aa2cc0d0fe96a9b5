"""Fetch throughput: papers stored per second from Hugging Face Daily Papers and an arXiv
backfill served on loopback, into SQLite and PostgreSQL, with peak memory.

A deterministic world is generated in the parent and served by a loopback HTTP server (a
thread of the parent, so that its memory is not the measured child's), shaped like the real
responses (``tests/fixtures/hf/``, ``tests/fixtures/arxiv/``):

- ``hf``: ``--hf-days`` consecutive days of ``--hf-per-day`` items
  (``GET /api/daily_papers?date=D&p=N&limit=L``, a JSON array of items of the full Daily Papers
  shape); 10% of each day's items are the day before's again with more upvotes, as listings
  overlap. With 50 items a day and the source's page size of 50, a day is two requests (the
  second page is empty).
- ``arxiv``: ``--arxiv-weeks`` weeks, Monday to Friday, of ``--arxiv-per-day`` papers
  submitted each weekday (none at weekends), read through the query API
  (``GET /api/query?search_query=(cat:..) AND submittedDate:[A TO B]&start&max_results``: the
  server filters by the submittedDate bounds and pages with ``opensearch:totalResults``), then
  the announcement feed of the Saturday after (empty, as arXiv's is at weekends).

Titles, abstracts (1,300-1,900 characters) and authors come from ``benchmarks/ingest.py``'s
generator words and a list of names; arXiv's text is hard-wrapped as arXiv's is.

Every measurement is ``Recommender.fetch(source, since=first day)`` with the clock pinned to
the last day, in a fresh child process on a fresh database (a new SQLite file; a new
PostgreSQL schema, dropped afterwards), at two sizes (HF: a third of the days and all;
arXiv: one week and all) so that peak memory (the child's own peak RSS, ``VmHWM``) can be
compared.
``arxiv_request_interval`` is 0 against loopback; Hugging Face's client keeps its fixed 1 s
between requests (there is no setting), which is waiting, not work.

What is timed, in the child (``time.perf_counter``):
- ``fetch s``: the whole ``fetch`` call (end to end: requests, parsing, storing);
- ``http s``: time inside ``PoliteClient.get`` (the pace's sleep, the request, reading the
  response), wrapped in the child only;
- ``net-excl s`` = fetch - http: parsing JSON/Atom into records, the sources' bookkeeping and
  storing, i.e. the papers-stored-per-second figure "network excluded" (target >= 2,000/s);
- ``store s``: time inside ``Recommender.store_source_day`` alone (merge and database).
"Papers" are listed papers (every day's entries, repeats included).

Run from the repository root:
    python benchmarks/fetch.py [--hf-days 30] [--hf-per-day 50] [--arxiv-weeks 4]
                               [--arxiv-per-day 250] [--no-postgres] [--json] [--profile]
Progress goes to stderr. ``--profile`` also runs the full SQLite fetch of each source under
cProfile and prints where the time goes.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape, quoteattr
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks import ingest  # noqa: E402
from benchmarks.ingest import (  # noqa: E402
    _TITLE_WORDS,
    _TOPICS,
    DEFAULT_PG_URL,
    _abstract,
    _postgres_admin,
    _print_profile,
    _rss_now_kb,
    _vocabulary,
    _with_search_path,
    log,
)

HF_FIRST_DAY = date(2026, 9, 1)
ARXIV_FIRST_MONDAY = date(2026, 10, 5)
ARXIV_TZ = ZoneInfo("America/New_York")
CATEGORIES = ("cs.LG", "cs.CL")
OTHER_CATEGORIES = ("cs.AI", "cs.CV", "cs.IR", "stat.ML", "eess.AS", "cs.RO")
OVERLAP = 0.10  # share of each HF day's items that were listed the day before

_GIVEN = (
    "Ada Alan Grace Mei Jonas Priya Laura Daniel Amir Sofia Wei Yuki Omar Elena Lucas Aisha "
    "Hiroshi Ingrid Mateo Chen Fatima Noah Olga Ravi Hannah Kwame Lina Pedro Sara Tomasz Zhang "
    "Xin Jun Minh Isabel Arjun Nadia Felix Leila Marco"
).split()
_FAMILY = (
    "Lovelace Turing Hopper Tanaka Berg Raman Costa Weiss Haddad Rossi Wang Li Nakamura "
    "Hassan Petrova Silva Okafor Johansson Garcia Liu Rahman Kowalski Schmidt Dubois Kim Nguyen "
    "Ivanova Mensah Moreau Fischer Sato Kumar Novak Lopez Zhou Yamamoto Brown Jensen Ali Singh"
).split()


# ------------------------------------------------------------------------------------------
# the world served


@dataclass
class World:
    hf_days: dict[date, list[dict[str, object]]]  # day -> items, as the API lists them
    hf_new: list[int]  # papers first listed on each day
    arxiv_stamps: list[str]  # submission minutes (GMT, %Y%m%d%H%M), sorted
    arxiv_entries: list[str]  # the <entry> elements, in the same order
    arxiv_per_week: list[int]  # entries submitted each week
    feed_day: date = ARXIV_FIRST_MONDAY  # the day of the announcement feed served (set per run)


def _authors(rng: random.Random) -> list[str]:
    count = min(40, 1 + int(rng.expovariate(1 / 4)))
    return [f"{rng.choice(_GIVEN)} {rng.choice(_FAMILY)}" for _ in range(count)]


def _paper_title(rng: random.Random, serial: int) -> str:
    a, b, c = rng.sample(_TITLE_WORDS, 3)
    return f"{a} {b} {c} for {rng.choice(_TOPICS)}: Study {serial}"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _hf_item(rng: random.Random, vocab: list[str], arxiv_id: str, day: date) -> dict[str, object]:
    serial = int(arxiv_id.split(".")[1])
    title = _paper_title(rng, serial)
    summary = _abstract(rng, vocab, serial)
    featured = datetime(day.year, day.month, day.day, rng.randint(0, 20), rng.randint(0, 59), 7)
    published = featured - timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 23))
    has_code = rng.random() < 0.4
    user = {
        "_id": f"{serial:024x}",
        "avatarUrl": "https://cdn-avatars.huggingface.co/v1/production/uploads/user.png",
        "isPro": False,
        "fullname": rng.choice(_GIVEN),
        "user": f"user{serial % 500}",
        "type": "user",
    }
    org = (
        {
            "_id": f"{serial % 97:024x}",
            "name": f"lab-{serial % 97}",
            "fullname": f"Lab {serial % 97}",
            "avatar": "https://cdn-avatars.huggingface.co/v1/production/uploads/lab.png",
        }
        if rng.random() < 0.5
        else None
    )
    paper: dict[str, object] = {
        "id": arxiv_id,
        "authors": [
            {"_id": f"{serial:020x}{i:04x}", "name": name, "hidden": False}
            for i, name in enumerate(_authors(rng))
        ],
        "mediaUrls": [],
        "publishedAt": _stamp(published.replace(tzinfo=UTC)),
        "submittedOnDailyAt": _stamp(featured.replace(tzinfo=UTC)),
        "title": textwrap.fill(title, 60, subsequent_indent="  "),
        "submittedOnDailyBy": user,
        "summary": textwrap.fill(summary, 90),
        "upvotes": rng.randint(0, 80),
        "discussionId": f"{serial:024x}",
        "ai_summary": " ".join(summary.split()[:30]) + ".",
        "ai_keywords": rng.sample(vocab, rng.randint(3, 12)),
    }
    if has_code:
        paper["githubRepo"] = f"https://github.com/lab{serial % 997}/project-{serial}"
        paper["githubStars"] = rng.randint(0, 3000)
    if rng.random() < 0.3:
        paper["projectPage"] = f"https://lab{serial % 997}.github.io/project-{serial}/"
    if org:
        paper["organization"] = org
    item: dict[str, object] = {
        "paper": paper,
        "publishedAt": paper["submittedOnDailyAt"],
        "title": paper["title"],
        "summary": paper["summary"],
        "thumbnail": f"https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/{arxiv_id}.png",
        "numComments": rng.randint(0, 12),
        "submittedBy": user,
        "isAuthorParticipating": rng.random() < 0.3,
    }
    if org:
        item["organization"] = org
    return item


def _arxiv_entry(rng: random.Random, vocab: list[str], arxiv_id: str, moment: datetime) -> str:
    serial = int(arxiv_id.split(".")[1])
    title = textwrap.fill(_paper_title(rng, serial), 70, subsequent_indent="  ")
    summary = textwrap.fill(_abstract(rng, vocab, serial), 80)
    primary = rng.choice(CATEGORIES)
    others = rng.sample(OTHER_CATEGORIES, rng.randint(0, 3))
    when = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    authors = "".join(
        f"\n    <author>\n      <name>{escape(name)}</name>\n    </author>"
        for name in _authors(rng)
    )
    categories = "".join(
        f'\n    <category term="{term}" scheme="http://arxiv.org/schemas/atom"/>'
        for term in (primary, *others)
    )
    return (
        f"  <entry>\n    <id>http://arxiv.org/abs/{arxiv_id}v1</id>\n"
        f"    <updated>{when}</updated>\n    <published>{when}</published>\n"
        f"    <title>{escape(title)}</title>\n    <summary>  {escape(summary)}\n</summary>"
        f"{authors}\n"
        f'    <link href="http://arxiv.org/abs/{arxiv_id}v1" rel="alternate" type="text/html"/>\n'
        f'    <link title="pdf" href="http://arxiv.org/pdf/{arxiv_id}v1" rel="related" '
        'type="application/pdf"/>\n'
        f'    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="{primary}" '
        'scheme="http://arxiv.org/schemas/atom"/>'
        f"{categories}\n  </entry>\n"
    )


def generate(args: argparse.Namespace) -> World:
    """The world served; deterministic for a given seed."""
    rng = random.Random(args.seed)
    vocab = _vocabulary()
    hf_days: dict[date, list[dict[str, object]]] = {}
    hf_new: list[int] = []
    previous: list[dict[str, object]] = []
    serial = 10000
    repeats = round(args.hf_per_day * OVERLAP)
    for index in range(args.hf_days):
        day = HF_FIRST_DAY + timedelta(days=index)
        items: list[dict[str, object]] = []
        for old in rng.sample(previous, min(repeats, len(previous))):
            # The same paper listed again today, with more upvotes.
            again = json.loads(json.dumps(old))
            paper = again["paper"]
            paper["upvotes"] += rng.randint(1, 40)
            featured = _stamp(datetime(day.year, day.month, day.day, 3, tzinfo=UTC))
            paper["submittedOnDailyAt"] = again["publishedAt"] = featured
            items.append(again)
        fresh = args.hf_per_day - len(items)
        for _ in range(fresh):
            serial += 1
            items.append(_hf_item(rng, vocab, f"{day:%y%m}.{serial:05d}", day))
        rng.shuffle(items)
        items.sort(key=lambda item: -item["paper"]["upvotes"])  # type: ignore[index]
        hf_days[day] = items
        hf_new.append(fresh)
        previous = items

    moments: list[tuple[datetime, int]] = []
    arxiv_per_week: list[int] = []
    serials: dict[str, int] = {}
    for week in range(args.arxiv_weeks):
        for weekday in range(5):
            day = ARXIV_FIRST_MONDAY + timedelta(days=7 * week + weekday)
            for _ in range(args.arxiv_per_day):
                seconds = rng.randrange(86400)
                moment = datetime(day.year, day.month, day.day, tzinfo=ARXIV_TZ) + timedelta(
                    seconds=seconds
                )
                moments.append((moment, rng.randrange(1 << 30)))
        arxiv_per_week.append(5 * args.arxiv_per_day)
    moments.sort()
    stamps: list[str] = []
    entries: list[str] = []
    for moment, _ in moments:
        month = f"{moment:%y%m}"
        serials[month] = serials.get(month, 0) + 1
        arxiv_id = f"{month}.{serials[month] + 10000:05d}"
        stamps.append(moment.astimezone(UTC).strftime("%Y%m%d%H%M"))
        entries.append(_arxiv_entry(rng, vocab, arxiv_id, moment))
    return World(hf_days, hf_new, stamps, entries, arxiv_per_week)


# ------------------------------------------------------------------------------------------
# the loopback server

_DATES = re.compile(r"submittedDate:\[(\d{12}) TO (\d{12})\]")


def _feed(day: date) -> bytes:
    """An announcement feed of ``day`` without items (arXiv's at weekends)."""
    built = datetime(day.year, day.month, day.day, tzinfo=ARXIV_TZ)
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        '<rss xmlns:arxiv="http://arxiv.org/schemas/atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom" '
        'version="2.0">\n  <channel>\n    <title>cs.LG updates on arXiv.org</title>\n'
        "    <link>http://rss.arxiv.org/rss/cs.LG</link>\n"
        "    <description>cs.LG updates on the arXiv.org e-print archive.</description>\n"
        "    <language>en-us</language>\n"
        f"    <pubDate>{built.strftime('%a, %d %b %Y %H:%M:%S %z')}</pubDate>\n"
        "    <skipDays>\n      <day>Saturday</day>\n      <day>Sunday</day>\n    </skipDays>\n"
        "  </channel>\n</rss>\n"
    ).encode()


def _query_page(world: World, query: dict[str, list[str]]) -> bytes:
    search = query.get("search_query", [""])[0]
    start = int(query.get("start", ["0"])[0])
    size = int(query.get("max_results", ["10"])[0])
    bounds = _DATES.search(search)
    if bounds is None:
        low, high = 0, len(world.arxiv_stamps)
    else:
        low = bisect.bisect_left(world.arxiv_stamps, bounds[1])
        high = bisect.bisect_right(world.arxiv_stamps, bounds[2])
    total = high - low
    chosen = world.arxiv_entries[low + start : min(high, low + start + size)]
    opensearch = 'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"'
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f'  <link href={quoteattr("http://arxiv.org/api/query?" + search)} rel="self" '
        'type="application/atom+xml"/>\n'
        f'  <title type="html">ArXiv Query: search_query={escape(search)}</title>\n'
        "  <id>http://arxiv.org/api/benchmark</id>\n"
        "  <updated>2026-11-30T00:00:00-05:00</updated>\n"
        f"  <opensearch:totalResults {opensearch}>{total}</opensearch:totalResults>\n"
        f"  <opensearch:startIndex {opensearch}>{start}</opensearch:startIndex>\n"
        f"  <opensearch:itemsPerPage {opensearch}>{size}</opensearch:itemsPerPage>\n"
    )
    return (head + "".join(chosen) + "</feed>\n").encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real hosts
    server: _Server

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        world = self.server.world
        if url.path == "/api/daily_papers":
            day = date.fromisoformat(query["date"][0])
            page, limit = int(query.get("p", ["0"])[0]), int(query.get("limit", ["50"])[0])
            items = world.hf_days.get(day, [])[page * limit : (page + 1) * limit]
            self._send(json.dumps(items).encode(), "application/json; charset=utf-8")
        elif url.path == "/api/query":
            self._send(_query_page(world, query), "application/atom+xml; charset=utf-8")
        elif url.path.startswith("/rss/"):
            self._send(_feed(world.feed_day), "application/rss+xml; charset=utf-8")
        else:
            self._send(b"not found", "text/plain", status=404)

    def _send(self, body: bytes, kind: str, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, world: World) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.world = world

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


# ------------------------------------------------------------------------------------------
# the measured child


def _peak_kb() -> int:
    """This process's peak RSS since it started: VmHWM where /proc has it, since on Linux
    ``ru_maxrss`` keeps, across exec, the peak of the parent that forked it (here the parent
    holds the served world and measured 91-94 MB in every child)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return ingest._peak_kb()


def child(args: argparse.Namespace) -> None:
    """Fetch one source from ``--server`` into ``--url``; print one JSON line on stdout."""
    from recommender.config import Settings
    from recommender.core import Recommender
    from recommender.sources.http import PoliteClient

    since = date.fromisoformat(args.since)
    today = date.fromisoformat(args.today)
    timers = {"http": 0.0, "store": 0.0}
    samples: list[tuple[int, int]] = []

    original_get = PoliteClient.get

    def timed_get(self, path, params=None):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        try:
            return original_get(self, path, params)
        finally:
            timers["http"] += time.perf_counter() - start

    PoliteClient.get = timed_get  # type: ignore[method-assign]

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    with tempfile.TemporaryDirectory(prefix="fetch-bench-home-") as home:
        settings = Settings(
            home=Path(home),
            database_url=args.url or f"sqlite:///{Path(home) / 'bench.db'}",
            hf_api_url=args.server,
            arxiv_rss_url=args.server,
            arxiv_api_url=args.server,
            arxiv_categories=",".join(CATEGORIES),
            arxiv_request_interval=0.0,  # loopback: no one to be polite to
            contact="bench@example.org",
        )
        now = datetime(today.year, today.month, today.day, 22, tzinfo=UTC)
        with Recommender(settings, clock=lambda: now) as rec:
            rec.init()
            store = rec.store_source_day

            def timed_store(listing):  # type: ignore[no-untyped-def]
                start = time.perf_counter()
                try:
                    return store(listing)
                finally:
                    timers["store"] += time.perf_counter() - start

            rec.store_source_day = timed_store  # type: ignore[method-assign]
            days = 0

            def on_day(_fetched: object) -> None:
                nonlocal days
                days += 1
                samples.append((days, _rss_now_kb()))

            ready = _peak_kb()
            start = time.perf_counter()
            if profiler:
                profiler.enable()
            report = rec.fetch(args.source, since=since, on_day=on_day)
            if profiler:
                profiler.disable()
            elapsed = time.perf_counter() - start
            peak = _peak_kb()
            stats = rec.stats()
    if profiler:
        profiler.dump_stats(args.profile)
    print(
        json.dumps(
            {
                "days": len(report.days),
                "listed": report.papers_new + report.papers_updated + report.papers_unchanged,
                "papers_new": report.papers_new,
                "papers_updated": report.papers_updated,
                "skipped": len(report.skipped),
                "requests": report.requests,
                "papers_in_db": stats["papers"],
                "seconds": elapsed,
                "http_seconds": timers["http"],
                "store_seconds": timers["store"],
                "rss_ready_kb": ready,
                "peak_rss_kb": peak,
                "rss_samples": samples,
            }
        ),
        flush=True,
    )


# ------------------------------------------------------------------------------------------
# the parent


@dataclass
class Run:
    backend: str
    source: str
    size: str  # "10 days", "1 week"
    expected: tuple[int, int]  # (new, listed)
    result: dict[str, object] = field(default_factory=dict)
    note: str | None = None

    def row(self) -> dict[str, object]:
        out: dict[str, object] = {"backend": self.backend, "source": self.source}
        out["size"] = self.size
        if self.note:
            out["note"] = self.note
        r = self.result
        if not r:
            return out
        seconds, http, store = (float(r[k]) for k in ("seconds", "http_seconds", "store_seconds"))  # type: ignore[arg-type]
        listed = int(r["listed"])  # type: ignore[call-overload]
        out.update(
            listed=listed,
            papers_new=r["papers_new"],
            papers_updated=r["papers_updated"],
            requests=r["requests"],
            fetch_s=round(seconds, 2),
            http_s=round(http, 2),
            net_excluded_s=round(seconds - http, 3),
            store_s=round(store, 3),
            papers_per_s_net_excluded=round(listed / (seconds - http)),
            papers_per_s_store=round(listed / store),
            rss_ready_mb=round(int(r["rss_ready_kb"]) / 1024, 1),  # type: ignore[call-overload]
            peak_rss_mb=round(int(r["peak_rss_kb"]) / 1024, 1),  # type: ignore[call-overload]
            rss_samples_mb=[[n, round(kb / 1024, 1)] for n, kb in r["rss_samples"]],  # type: ignore[attr-defined]
        )
        return out


def _run_child(
    source: str,
    server: str,
    since: date,
    today: date,
    url: str | None,
    profile: str | None = None,
) -> dict[str, object]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", source]
    command += ["--server", server, "--since", since.isoformat(), "--today", today.isoformat()]
    if url:
        command += ["--url", url]
    if profile:
        command += ["--profile", profile]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, cwd=REPO, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{source} child failed with exit code {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _run_postgres(admin, pg_url: str, *child_args) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    schema = f"bench_fetch_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        return _run_child(*child_args, _with_search_path(pg_url, schema))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def _table(rows: list[dict[str, object]]) -> str:
    head = (
        f"| {'backend':<10} | {'source':<6} | {'size':<8} | {'papers':>6} | {'new':>5} | "
        f"{'req':>4} | {'fetch s':>7} | {'http s':>7} | {'net-excl s':>10} | {'store s':>7} | "
        f"{'papers/s net-excl':>17} | {'papers/s store':>14} | {'RSS@start MB':>12} | "
        f"{'peak RSS MB':>11} |"
    )
    lines = [head, "|" + "|".join("-" * (len(cell)) for cell in head.split("|")[1:-1]) + "|"]
    for r in rows:
        if "listed" not in r:
            lines.append(
                f"| {r['backend']:<10} | {r['source']:<6} | {r['size']:<8} | "
                f"skipped: {r.get('note')} |"
            )
            continue
        lines.append(
            f"| {r['backend']:<10} | {r['source']:<6} | {r['size']:<8} | {r['listed']:>6} | "
            f"{r['papers_new']:>5} | {r['requests']:>4} | {r['fetch_s']:>7.2f} | "
            f"{r['http_s']:>7.2f} | {r['net_excluded_s']:>10.3f} | {r['store_s']:>7.3f} | "
            f"{r['papers_per_s_net_excluded']:>17,} | {r['papers_per_s_store']:>14,} | "
            f"{r['rss_ready_mb']:>12.1f} | {r['peak_rss_mb']:>11.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        parser = argparse.ArgumentParser(prog="fetch.py --child")
        parser.add_argument("source", choices=["hf", "arxiv"])
        parser.add_argument("--server", required=True)
        parser.add_argument("--since", required=True)
        parser.add_argument("--today", required=True)
        parser.add_argument("--url")
        parser.add_argument("--profile")
        child(parser.parse_args(argv[1:]))
        return

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hf-days", type=int, default=30, help="HF listing days (default 30)")
    parser.add_argument("--hf-per-day", type=int, default=50, help="HF items a day (default 50)")
    parser.add_argument("--arxiv-weeks", type=int, default=4, help="weeks backfilled (default 4)")
    parser.add_argument(
        "--arxiv-per-day", type=int, default=250, help="arXiv papers a weekday (default 250)"
    )
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--postgres-url", default=DEFAULT_PG_URL)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--profile", action="store_true", help="also profile the full SQLite fetches (cProfile)"
    )
    args = parser.parse_args(argv)
    if min(args.hf_days, args.hf_per_day, args.arxiv_weeks, args.arxiv_per_day) < 1:
        parser.error("every size must be at least 1")

    load_before = os.getloadavg()[0]
    log(
        f"generating {args.hf_days} HF days x {args.hf_per_day} and "
        f"{args.arxiv_weeks} arXiv weeks x 5 x {args.arxiv_per_day}"
    )
    start = time.perf_counter()
    world = generate(args)
    log(f"  generated in {time.perf_counter() - start:.1f}s")

    # (source, size label, since, today, feed day, expected (new, listed), full size)
    plans = []
    for days in sorted({max(1, args.hf_days // 3), args.hf_days}):
        last = HF_FIRST_DAY + timedelta(days=days - 1)
        expected = (sum(world.hf_new[:days]), days * args.hf_per_day)
        full = days == args.hf_days
        plans.append(
            (
                "hf",
                f"{days} day" + ("s" if days > 1 else ""),
                HF_FIRST_DAY,
                last,
                None,
                expected,
                full,
            )
        )
    for weeks in sorted({1, args.arxiv_weeks}):
        saturday = ARXIV_FIRST_MONDAY + timedelta(days=7 * (weeks - 1) + 5)
        entries = sum(world.arxiv_per_week[:weeks])
        label = f"{weeks} week" + ("s" if weeks > 1 else "")
        full = weeks == args.arxiv_weeks
        plans.append(
            ("arxiv", label, ARXIV_FIRST_MONDAY, saturday, saturday, (entries, entries), full)
        )

    server = _Server(world)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    runs: list[Run] = []
    admin, pg_note = None, None
    if args.no_postgres:
        pg_note = "--no-postgres"
    else:
        try:
            admin = _postgres_admin(args.postgres_url)
        except Exception as exc:  # any failure to connect means "skip"
            pg_note = f"PostgreSQL unreachable ({type(exc).__name__})"
            log(f"skipping PostgreSQL: {pg_note}")
    try:
        for backend in ("sqlite", "postgresql"):
            for source, label, since, today, feed_day, expected, _ in plans:
                run = Run(backend, source, label, expected)
                runs.append(run)
                if backend == "postgresql" and admin is None:
                    run.note = pg_note
                    continue
                log(f"{backend}: {source}, {label}")
                if feed_day is not None:
                    world.feed_day = feed_day
                child_args = (source, server.url, since, today)
                if backend == "sqlite":
                    run.result = _run_child(*child_args, None)
                else:
                    run.result = _run_postgres(admin, args.postgres_url, *child_args)
                got = (run.result["papers_new"], run.result["listed"])
                if got != expected or run.result["papers_in_db"] != expected[0]:
                    raise SystemExit(
                        f"{backend} {source} {label}: expected (new, listed) {expected}, got "
                        f"{got} and {run.result['papers_in_db']} papers in the database"
                    )
        if args.profile:
            with tempfile.TemporaryDirectory(prefix="fetch-bench-prof-") as tmp:
                for source, label, since, today, feed_day, _, full in plans:
                    if not full:
                        continue
                    if feed_day is not None:
                        world.feed_day = feed_day
                    path = str(Path(tmp) / f"{source}.prof")
                    log(f"profiling SQLite: {source}, {label}")
                    _run_child(source, server.url, since, today, None, path)
                    log(f"\n=== {source}, {label} ===")
                    _print_profile(path)
    finally:
        server.shutdown()
        server.server_close()
        if admin is not None:
            admin.dispose()

    rows = [run.row() for run in runs]
    meta = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}",
        "python": platform.python_version(),
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "hf": f"{args.hf_days} days x {args.hf_per_day} items, {OVERLAP:.0%} repeated",
        "arxiv": f"{args.arxiv_weeks} week(s) x 5 weekdays x {args.arxiv_per_day} papers",
        "seed": args.seed,
    }
    if args.json:
        print(json.dumps({"meta": meta, "runs": rows}, indent=2))
        return
    print(
        f"HF {meta['hf']}; arXiv {meta['arxiv']}; {meta['machine']}, Python {meta['python']}, "
        f"load average before/after {load_before:.2f}/{os.getloadavg()[0]:.2f}"
    )
    print(_table(rows))
    print("papers = listed papers stored (repeats included); new = papers created; req = requests;")
    print("net-excl = fetch - http (parse + store); RSS@start = peak RSS before fetching.")
    for row in rows:
        if "rss_samples_mb" in row:
            curve = row["rss_samples_mb"]
            picks = curve[:: max(1, len(curve) // 6)] + curve[-1:]  # type: ignore[index]
            text = ", ".join(f"{n}:{mb}" for n, mb in picks)
            print(f"  rss (days:MB) {row['backend']} {row['source']} {row['size']}: {text}")


if __name__ == "__main__":
    main()
