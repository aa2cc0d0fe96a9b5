"""Reliability of the dump parser and of ingest, measured from outside.

Four measurements, each a sub-command (``all``, the default, runs them in turn):

``cuts``
    Cuts the real dumps (``../shared/dumps``) at random byte offsets and parses each copy. A
    copy that is accepted although its last paper differs from the same paper in the whole
    dump (a cut-short abstract, a lost metadata block, a shortened URL or upvote count) is a
    *cut-short copy accepted*; a copy accepted with every paper whole (cut between papers) is
    fine, as it is indistinguishable from a shorter listing.
``fuzz``
    Parses generated inputs: mutations of the real dumps and of generated dumps (cuts, byte
    flips, huge and out-of-range numbers, repeated blocks, odd Unicode, lone surrogates, long
    lines, swapped and deleted blocks, HTML...). Each input runs in a worker process under a
    per-input time limit; anything but a parse or a ``DumpError`` is a crash, an input over
    the limit a hang (the worker is killed and replaced). Every accepted input is then written
    to a real database with ``store.papers.add_dump`` (and rolled back): a store failure on an
    input the parser accepted is counted too.
``hostile``
    Ingests a 50 MB file of minimal papers (``T``, blank, ``A.``, blank, repeated), a file
    just under the size limit made the same way, and a real dump for comparison, each in a
    fresh child process through ``Recommender.ingest`` and through the inbox; reports the
    outcome, the time and the child's peak resident memory.
``kills``
    Ingests a batch of generated dumps in a child process and kills it with SIGKILL at a random
    moment, again and again on the same database, then checks it: every dump row must list
    exactly its ``papers_total`` papers, every listed paper must exist, every paper's first
    dump must exist (0 partial dumps). At the end one run ingests what is left and the
    catalogue must equal that of an uninterrupted run.

Run from the repository root:
    python benchmarks/reliability_ingest.py [all|cuts|fuzz|hostile|kills] [--cuts 4500]
        [--fuzz 10000] [--time-limit 2] [--hostile-mb 50] [--kills 20] [--no-postgres]
        [--postgres-url URL] [--seed N]
Progress goes to stderr, the figures to stdout.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections import Counter
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from recommender.dumps import DumpError, parse_dump  # noqa: E402

REAL_DUMPS = sorted((REPO.parent / "shared" / "dumps").glob("*.txt")) or sorted(
    Path("/work/shared/dumps").glob("*.txt")
)
REFERENCE = date(2025, 12, 20)
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def _parse(data: str | bytes, source: str = "fuzz.txt"):  # type: ignore[no-untyped-def]
    return parse_dump(data, reference_date=REFERENCE, source=source)


def _same(a, b) -> bool:  # type: ignore[no-untyped-def]
    fields = ("title", "abstract", "authors", "published", "upvotes", "links")
    return all(getattr(a, f) == getattr(b, f) for f in fields)


# ------------------------------------------------------------------------------------------
# cuts


def cuts(count: int, seed: int) -> dict[str, object]:
    """Cut the real dumps at ``count`` random points; count what is accepted and how."""
    rng = random.Random(seed)
    texts = {path.name: path.read_bytes() for path in REAL_DUMPS}
    whole = {name: _parse(data).papers for name, data in texts.items()}
    tally: Counter[str] = Counter()
    examples: list[str] = []
    names = sorted(texts)
    for index in range(count):
        name = names[index % len(names)]
        data = texts[name]
        cut = rng.randrange(1, len(data))
        try:
            papers = _parse(data[:cut]).papers
        except DumpError:
            tally["refused"] += 1
            continue
        tally["accepted"] += 1
        last = len(papers) - 1
        if all(_same(p, q) for p, q in zip(papers, whole[name], strict=False)):
            tally["accepted, every paper whole"] += 1
            continue
        tally["accepted cut-short"] += 1
        kept, full = papers[last], whole[name][last]
        if kept.abstract != full.abstract:
            words = kept.abstract.split()
            kind = "inside a URL" if words and "/" in words[-1] else "after a sentence"
            tally[f"  abstract cut {kind}"] += 1
        elif (kept.published, kept.upvotes) != (full.published, full.upvotes):
            tally["  metadata block lost or cut short"] += 1
        else:
            tally["  other"] += 1
        if len(examples) < 8:
            examples.append(f"{name}[:{cut}] ends {data[max(0, cut - 40) : cut]!r}")
    return {"cuts": count, **dict(sorted(tally.items())), "examples": examples}


# ------------------------------------------------------------------------------------------
# fuzz: inputs


ODD = [
    "\u202e",  # right-to-left override
    "\u200b",  # zero-width space
    "\ufeff",  # a BOM in the middle
    "\u2028",  # line separator
    "\u2029",
    "\u0085",  # next line
    "\u00a0",  # no-break space
    "e\u0301" * 40,  # combining accents
    "\uff11\uff12",  # fullwidth digits
    "\u0663\u0664",  # Arabic-Indic digits
    "\u0130\u0131\u017f\u212a",  # letters that fold onto ASCII
    "\U0001f600\U0001f9ea",
    "\ufffd",
    "ß" * 30,
    "\u3000",
    "·",
    "•",
    "\t",
    "\x0b",
]
HUGE = ["3000000000", "2147483648", "99999999999999999999", "9" * 5000, "0" * 40, "-1", "1e9"]


def _generated_dump(rng: random.Random) -> str:
    """A small well-formed dump with random metadata, titles and abstracts."""
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    blocks = ["new", "Get trending papers in your email inbox!", "Subscribe"]
    blocks.append(f"{rng.choice(months)} {rng.randint(1, 28)}")
    words = ["graph", "diffusion", "agent", "Über", "naïve", "learning", "模型", "τ-bench", "3D"]
    for n in range(rng.randint(1, 40)):
        blocks.append(" ".join(rng.choices(words, k=rng.randint(1, 8))).title() + f" {n}")
        abstract = " ".join(rng.choices(words, k=rng.randint(5, 120)))
        if rng.random() < 0.3:
            abstract += f" Code: https://github.com/lab/p{n}"
        blocks.append(abstract + rng.choice([".", ".", "!", "", ")"]))
        if rng.random() < 0.6:
            lines = []
            if rng.random() < 0.8:
                lines.append(f"  • {rng.randint(1, 40)} authors")
            lines.append("·")
            day = f"{rng.choice(months)} {rng.randint(1, 28)}"
            if rng.random() < 0.3:
                day += f", {rng.randint(2015, 2025)}"
            if rng.random() < 0.7:
                day += f" {rng.randint(0, 300)}"
            lines.append(day)
            blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if rng.random() < 0.7 else "")


def _mutate(text: str, rng: random.Random) -> str | bytes:
    """Apply one random mutation; most return text, a few raw bytes."""
    kind = rng.randrange(16)
    if kind == 0:  # a cut
        return text[: rng.randrange(len(text) + 1)]
    if kind == 1:  # byte flips
        data = bytearray(text.encode("utf-8", "surrogatepass"))
        for _ in range(rng.randint(1, 20)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)
    if kind == 2:  # a number made huge or impossible
        digits = [i for i, ch in enumerate(text) if ch.isdigit()]
        if not digits:
            return text + "\n\n  • " + rng.choice(HUGE) + " authors\n·\nMar 2 " + rng.choice(HUGE)
        at = rng.choice(digits)
        end = at
        while end < len(text) and text[end].isdigit():
            end += 1
        return text[:at] + rng.choice(HUGE) + text[end:]
    if kind == 3:  # repeated blocks
        blocks = text.split("\n\n")
        start = rng.randrange(len(blocks))
        chunk = blocks[start : start + rng.randint(1, 6)]
        times = rng.choice([2, 10, 200])
        return "\n\n".join(blocks[:start] + chunk * times + blocks[start:])
    if kind == 4:  # odd unicode inserted
        for _ in range(rng.randint(1, 10)):
            at = rng.randrange(len(text) + 1)
            text = text[:at] + rng.choice(ODD) + text[at:]
        return text
    if kind == 5:  # lone surrogates (str input), or their UTF-8-like bytes (bytes input)
        at = rng.randrange(len(text) + 1)
        if rng.random() < 0.5:
            return text[:at] + "\ud800" + text[at:]
        data = text.encode("utf-8", "surrogatepass")
        return data[:at] + b"\xed\xa0\x80" + data[at:]
    if kind == 6:  # delete or swap blocks
        blocks = text.split("\n\n")
        i, j = rng.randrange(len(blocks)), rng.randrange(len(blocks))
        if rng.random() < 0.5:
            del blocks[i]
        else:
            blocks[i], blocks[j] = blocks[j], blocks[i]
        return "\n\n".join(blocks)
    if kind == 7:  # line endings and BOM
        text = text.replace("\n", rng.choice(["\r\n", "\r", "\n\n", "\n \n"]))
        return ("\ufeff" + text) if rng.random() < 0.5 else text
    if kind == 8:  # a very long line
        at = rng.randrange(len(text) + 1)
        return text[:at] + rng.choice(["x", "é ", "https://a.b/", "1"]) * 50_000 + text[at:]
    if kind == 9:  # metadata lines out of range
        line = rng.choice(
            [
                "Feb 30",
                "Feb 29, 2023",
                "Mar 0",
                "Mar 99",
                "Foo 3",
                "Mar 2, 0000",
                "Mar 2, 9999",
                "Mar 2, 0001 5",
                "Dec 31, 1899 1",
                "  • 0 authors",
                "  • 4294967296 authors",
                "Mar 2 " + "1" * 19,
            ]
        )
        blocks = text.split("\n\n")
        at = rng.randrange(len(blocks) + 1)
        return "\n\n".join(blocks[:at] + [f"  • 3 authors\n·\n{line}"] + blocks[at:])
    if kind == 10:  # HTML or control characters
        piece = rng.choice(["<html>", "<!doctype html>", "\x00", "\x1b[31m", "\x7f"])
        at = rng.randrange(len(text) + 1)
        return text[:at] + piece + text[at:]
    if kind == 11:  # only blank lines, or nothing
        return rng.choice(["", "\n" * 1000, " \n\t\n", "\ufeff"])
    if kind == 12:  # header only, or header repeated
        head = text[: text.find("\n\n", 100) if "\n\n" in text[100:] else len(text)]
        return head if rng.random() < 0.5 else head * 30 + text
    if kind == 13:  # blank lines removed (titles glued to abstracts)
        return text.replace("\n\n", "\n", rng.randint(1, 50))
    if kind == 14:  # many tiny papers
        return text + "\n\nT\n\nA.\n" * rng.choice([10, 1000, 6000])
    # invalid UTF-8 somewhere
    data = text.encode("utf-8", "surrogatepass")
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice([b"\xff", b"\xc3", b"\xe2\x80", b"\xf0\x9f\x98"]) + data[at:]


def fuzz_input(index: int, seed: int, real: list[str]) -> str | bytes:
    """The ``index``-th fuzz input: deterministic for a seed."""
    rng = random.Random(f"{seed}:{index}")
    text = rng.choice(real) if rng.random() < 0.5 else _generated_dump(rng)
    data: str | bytes = text
    for _ in range(rng.choice([1, 1, 2, 3])):
        if isinstance(data, bytes):
            data = data.decode("utf-8", "surrogateescape")
        data = _mutate(data, rng)
    if isinstance(data, str) and rng.random() < 0.7:
        data = data.encode("utf-8", "surrogatepass")  # as read from a file
    return data


# ------------------------------------------------------------------------------------------
# fuzz: the worker and its supervisor


def _fuzz_worker(connection, seed: int, store_urls: list[str]) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy.orm import Session

    from recommender.store import database
    from recommender.store import papers as paper_store

    real = [path.read_text(encoding="utf-8") for path in REAL_DUMPS]
    engines = []
    for url in store_urls:
        engine = database.make_engine(url)
        database.migrate(engine)
        engines.append(engine)
    while True:
        index = connection.recv()
        if index is None:
            return
        data = fuzz_input(index, seed, real)
        started = time.perf_counter()
        try:
            dump = _parse(data)
        except DumpError:
            connection.send(("refused", time.perf_counter() - started, None))
            continue
        except Exception:
            connection.send(("crash", time.perf_counter() - started, traceback.format_exc()))
            continue
        elapsed = time.perf_counter() - started
        failure = None
        for engine in engines:
            try:
                with Session(engine) as session, session.begin():
                    paper_store.add_dump(session, "fuzz.txt", dump, database_now())
                    session.rollback()
            except Exception as exc:
                failure = f"{engine.dialect.name}: {type(exc).__name__}: {str(exc)[:300]}"
        connection.send(("store failure" if failure else "accepted", elapsed, failure))


def database_now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime(2025, 12, 20, 12, tzinfo=UTC)


def fuzz(count: int, seed: int, time_limit: float, store_urls: list[str]) -> dict[str, object]:
    """Run ``count`` fuzz inputs through the parser (and the store), under a time limit each."""
    context = multiprocessing.get_context("spawn")
    tally: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    crashes: list[str] = []
    slowest = (0.0, -1)
    worker = parent = None

    def start():  # type: ignore[no-untyped-def]
        mine, theirs = context.Pipe()
        process = context.Process(target=_fuzz_worker, args=(theirs, seed, store_urls))
        process.start()
        return process, mine

    started = time.perf_counter()
    for index in range(count):
        if worker is None:
            worker, parent = start()
        assert parent is not None
        parent.send(index)
        # The first input also waits for the worker's imports and migrations.
        limit = time_limit + (60 if index == 0 or not tally else 0) + 5 * len(store_urls)
        if not parent.poll(limit):
            tally["hang"] += 1
            crashes.append(f"input {index}: no answer within {limit:.0f} s")
            worker.kill()
            worker.join()
            worker = None
            continue
        try:
            status, elapsed, detail = parent.recv()
        except EOFError:  # the worker died: a crash of its own
            worker.join()
            status, elapsed, detail = "crash", 0.0, f"worker died ({worker.exitcode})"
            worker = None
        if elapsed > time_limit:
            status = "hang"
            detail = f"input {index}: parsed in {elapsed:.2f} s, over the limit"
        tally[status] += 1
        if elapsed > slowest[0]:
            slowest = (elapsed, index)
        if status in ("crash", "store failure", "hang"):
            lines = str(detail).strip().splitlines()
            summary = (lines[-1] if status == "crash" else lines[0])[:160]
            kinds[f"{status}: {summary.split(': ', 2)[0] if status == 'crash' else summary}"] += 1
            if len(crashes) < 5:
                crashes.append(f"input {index}: {summary}")
        if (index + 1) % 1000 == 0:
            log(f"  fuzz {index + 1}/{count}: {dict(tally)}")
    if worker is not None and parent is not None:
        parent.send(None)
        worker.join()
    return {
        "inputs": count,
        "accepted": tally["accepted"],
        "refused (DumpError)": tally["refused"],
        "crashes (other exceptions)": tally["crash"],
        "hangs (over the time limit)": tally["hang"],
        "store failures on accepted inputs": tally["store failure"],
        "stores": [url.split(":")[0].split("+")[0] for url in store_urls],
        "time limit per input (s)": time_limit,
        "slowest parse (s)": round(slowest[0], 3),
        "slowest input": slowest[1],
        "total seconds": round(time.perf_counter() - started, 1),
        "failures by kind": [f"{n} × {kind}" for kind, n in kinds.most_common(12)],
        "first failures": crashes,
    }


# ------------------------------------------------------------------------------------------
# hostile files: time and peak memory of a child process

_CHILD = """
import json, sys, time
from pathlib import Path
from datetime import timedelta
from recommender.config import Settings
from recommender.core import Recommender
mode, path, home = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
def memory(field):  # this process's own (ru_maxrss keeps the parent's peak across fork+exec)
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
settings = Settings.load({"home": home, "embedding_model": "none"}, environ={})
app = Recommender(settings)
app.init()
before = memory("VmRSS")
started = time.perf_counter()
if mode == "ingest":
    report = app.ingest([path])
else:
    settings.inbox.mkdir(parents=True, exist_ok=True)
    path.replace(settings.inbox / path.name)
    report = app.ingest_inbox(settle=timedelta(0))
elapsed = time.perf_counter() - started
outcome = report.files[0]
quarantined = (settings.inbox / "quarantine" / path.name).exists()
print(json.dumps({
    "status": outcome.status, "error": outcome.error, "papers": outcome.papers_new,
    "seconds": elapsed, "rss_before_kb": before,
    "peak_kb": memory("VmHWM"),
    "quarantined": quarantined,
}))
"""


def _minimal_papers(path: Path, size: int) -> None:
    head = b"new\n\nSubscribe\n\nMar 20\n\n"
    unit = b"T\n\nA.\n\n"
    with path.open("wb") as out:
        out.write(head)
        out.write(unit * ((size - len(head)) // len(unit)))


def hostile(megabytes: int, time_limit: float) -> list[dict[str, object]]:
    import json

    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        folder = Path(tmp)
        try:
            from recommender.config import Settings

            limit = Settings.load({"home": folder}, environ={}).max_dump_bytes  # type: ignore[attr-defined]
        except AttributeError:
            limit = 10_000_000
        cases = [
            ("real dump (004_…, 75 KB)", lambda p: p.write_bytes(REAL_DUMPS[-1].read_bytes())),
            (f"{megabytes} MB of minimal papers", lambda p: _minimal_papers(p, megabytes * 10**6)),
            (
                f"{(limit - 1) / 1e6:.1f} MB of minimal papers (just under the size limit)",
                lambda p: _minimal_papers(p, limit - 1),
            ),
        ]
        for label, make in cases:
            for mode in ("ingest", "inbox"):
                home = folder / f"home-{len(rows)}"
                path = folder / f"case-{len(rows)}.txt"
                make(path)
                size = path.stat().st_size
                log(f"  hostile: {label} via {mode}")
                try:
                    done = subprocess.run(
                        [sys.executable, "-c", _CHILD, mode, str(path), str(home)],
                        capture_output=True,
                        text=True,
                        cwd=REPO,
                        env={**os.environ, "PYTHONPATH": str(REPO)},
                        timeout=max(time_limit, 600),
                        check=False,
                    )
                except subprocess.TimeoutExpired:
                    rows.append({"file": label, "via": mode, "status": "timed out"})
                    continue
                if done.returncode != 0:
                    rows.append(
                        {"file": label, "via": mode, "status": f"crashed: {done.stderr[-300:]}"}
                    )
                    continue
                result = json.loads(done.stdout.strip().splitlines()[-1])
                rows.append(
                    {
                        "file": label,
                        "bytes": size,
                        "via": mode,
                        "status": result["status"],
                        "quarantined": result["quarantined"],
                        "seconds": round(result["seconds"], 3),
                        "peak RSS MB": round(result["peak_kb"] / 1024, 1),
                        "RSS before MB": round(result["rss_before_kb"] / 1024, 1),
                        "reason": (result["error"] or "").split(": ", 1)[-1][:120],
                    }
                )
    return rows


# ------------------------------------------------------------------------------------------
# kills during ingest

_KILL_CHILD = """
import sys
from pathlib import Path
from recommender.config import Settings
from recommender.core import Recommender
url, folder = sys.argv[1], Path(sys.argv[2])
settings = Settings.load({"home": folder, "database_url": url, "embedding_model": "none"},
                         environ={})
with Recommender(settings) as app:
    app.init()
    print("ready", flush=True)
    app.ingest(sorted(folder.glob("*.txt")))
"""


def _check(url: str) -> dict[str, int]:
    """Count partial dumps and dangling rows in the database at ``url``."""
    from sqlalchemy import create_engine, text

    from recommender.store.database import normalize_url

    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as connection:
            partial = connection.execute(
                text(
                    "SELECT COUNT(*) FROM dumps d WHERE d.papers_total != "
                    "(SELECT COUNT(*) FROM dump_papers p WHERE p.dump_id = d.id)"
                )
            ).scalar_one()
            dangling = connection.execute(
                text(
                    "SELECT COUNT(*) FROM dump_papers l LEFT JOIN papers p ON p.id = l.paper_id "
                    "WHERE p.id IS NULL"
                )
            ).scalar_one()
            orphans = connection.execute(
                text(
                    "SELECT COUNT(*) FROM papers p LEFT JOIN dumps d ON d.id = p.first_dump_id "
                    "WHERE d.id IS NULL"
                )
            ).scalar_one()
            dump_count = connection.execute(text("SELECT COUNT(*) FROM dumps")).scalar_one()
            papers = connection.execute(text("SELECT COUNT(*) FROM papers")).scalar_one()
    finally:
        engine.dispose()
    return {
        "partial": partial,
        "dangling": dangling,
        "orphans": orphans,
        "dumps": dump_count,
        "papers": papers,
    }


def _ingest_child(url: str, folder: Path) -> subprocess.Popen[str]:
    """Start a process that ingests ``folder`` into ``url``; it prints "ready" first."""
    return subprocess.Popen(
        [sys.executable, "-c", _KILL_CHILD, url, str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def _kill_run(url: str, folder: Path, rng: random.Random, window: float) -> float:
    child = _ingest_child(url, folder)
    assert child.stdout is not None
    child.stdout.readline()  # "ready": imports and schema done, ingest starts now
    delay = rng.uniform(0, window)
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait()
    return delay


def _full_run(url: str, folder: Path) -> float:
    """Ingest the batch uninterrupted; return the seconds of the ingest itself."""
    child = _ingest_child(url, folder)
    assert child.stdout is not None
    child.stdout.readline()  # "ready"
    started = time.perf_counter()
    if child.wait() != 0:
        raise RuntimeError("the ingest child failed")
    return time.perf_counter() - started


def kills(count: int, seed: int, files: int, urls: dict[str, str]) -> list[dict[str, object]]:
    from ingest import generate  # benchmarks/ingest.py: the same synthetic dumps

    rows: list[dict[str, object]] = []
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="kills-") as tmp:
        folder = Path(tmp) / "dumps"
        folder.mkdir()
        generate(folder, files, 100, seed)
        for backend, make_url in urls.items():
            reference_url = make_url("reference")
            full = _full_run(reference_url, folder)
            expected = _check(reference_url)
            log(f"  kills on {backend}: an uninterrupted run takes {full:.1f} s: {expected}")
            url = make_url("killed")
            partial = dangling = orphans = 0
            mid_batch = 0
            for n in range(count):
                delay = _kill_run(url, folder, rng, full)
                state = _check(url)
                partial += state["partial"]
                dangling += state["dangling"]
                orphans += state["orphans"]
                mid_batch += 0 < state["dumps"] < expected["dumps"]
                log(f"    kill {n + 1}/{count} after {delay:.2f} s: {state}")
                if state["dumps"] == expected["dumps"]:
                    url = make_url(f"killed{n}")  # all done: start again on an empty database
            _full_run(url, folder)
            final = _check(url)
            rows.append(
                {
                    "database": backend,
                    "files": files,
                    "kills": count,
                    "kills with the batch part-ingested": mid_batch,
                    "partial dumps": partial,
                    "dangling listings": dangling,
                    "papers without their dump": orphans,
                    "after a final run": f"{final['dumps']} dumps, {final['papers']} papers",
                    "uninterrupted run": f"{expected['dumps']} dumps, {expected['papers']} papers",
                }
            )
    return rows


def _database_urls(args: argparse.Namespace, tmp: Path):  # type: ignore[no-untyped-def]
    """Per backend, a function from a name to the URL of a fresh database of that name."""
    urls = {"sqlite": lambda name: f"sqlite:///{tmp / (name + '.db')}"}
    if args.no_postgres:
        return urls, None
    from sqlalchemy import create_engine, text

    from recommender.store.database import normalize_url

    try:
        admin = create_engine(normalize_url(args.postgres_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - no server: SQLite only
        log(f"PostgreSQL not reachable ({type(exc).__name__}); SQLite only")
        return urls, None
    schemas: list[str] = []

    def postgres(name: str) -> str:
        schema = f"bench_rel_{name}_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        schemas.append(schema)
        url = args.postgres_url
        return url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"

    def drop() -> None:
        with admin.connect() as connection:
            for schema in schemas:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    urls["postgresql"] = postgres
    return urls, drop


def _print(title: str, data: object) -> None:
    print(f"\n== {title}")
    rows = data if isinstance(data, list) else [data]
    for row in rows:
        for key, value in row.items():
            if isinstance(value, list):
                print(f"  {key}:")
                for item in value:
                    print(f"    {item}")
            else:
                print(f"  {key}: {value}")
        if len(rows) > 1:
            print()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", nargs="?", default="all", choices=["all", *MEASURES])
    parser.add_argument("--cuts", type=int, default=4500, help="cut points (default 4500)")
    parser.add_argument("--fuzz", type=int, default=10_000, help="fuzz inputs (default 10000)")
    parser.add_argument("--time-limit", type=float, default=2.0, help="seconds per input")
    parser.add_argument("--hostile-mb", type=int, default=50, help="hostile file size")
    parser.add_argument("--kills", type=int, default=20, help="kills per database (default 20)")
    parser.add_argument("--kill-files", type=int, default=40, help="dumps in the killed batch")
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--postgres-url", default=DEFAULT_PG_URL)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    chosen = MEASURES if args.what == "all" else [args.what]
    log(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="reliability-") as tmp:
        urls, drop = _database_urls(args, Path(tmp))
        try:
            if "cuts" in chosen:
                _print("cuts of the real dumps", cuts(args.cuts, args.seed))
            if "fuzz" in chosen:
                stores = [make("fuzz") for make in urls.values()]
                _print("parser fuzz", fuzz(args.fuzz, args.seed, args.time_limit, stores))
            if "hostile" in chosen:
                _print("hostile files", hostile(args.hostile_mb, args.time_limit))
            if "kills" in chosen:
                _print("kills during ingest", kills(args.kills, args.seed, args.kill_files, urls))
        finally:
            if drop is not None:
                drop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    log(f"(this process peaked at {peak // 1024} MB)")


MEASURES = ["cuts", "fuzz", "hostile", "kills"]

if __name__ == "__main__":
    main()
