"""Ingest throughput: papers/s and MB/s into SQLite and PostgreSQL, with peak memory.

A deterministic batch of synthetic dumps is generated into a temporary directory: one listing
per day, ``--papers-per-file`` papers each (unique titles, abstracts of 1,300-1,900 characters,
some with code/project/video URLs, about half with a metadata block), and 10% of each day's
papers repeated from the day before with a newer upvote count, as real listings overlap. Each
file's modification time is its listing day, so the year rule "from the file's modification
time" dates it.

Every measurement runs ``Recommender.ingest`` in a fresh child process on a fresh database (a
new SQLite file; a new PostgreSQL schema, dropped afterwards), at two batch sizes (a quarter of
``--files`` and all of them), so that peak memory (the child's own ``ru_maxrss``) can be compared
across file counts. A ``parse`` row times ``dumps.read_dump`` alone over the same files, to split
parsing from database work. "papers/s" counts listed papers (entries, repeats included) per
second of the ``ingest`` call; imports and schema creation are not timed.

Run from the repository root:
    python benchmarks/ingest.py [--files 1000] [--papers-per-file 100] [--no-postgres] [--json]
Progress goes to stderr. ``--profile`` also runs the smaller SQLite batch under cProfile and
prints where the time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
HEADER = [
    "new",
    "Get trending papers in your email inbox!",
    "Subscribe",
    "Daily Papers",
    "byAK and the research community",
]
OVERLAP = 0.10  # share of each day's papers repeated from the day before
FIRST_LISTING = date(2023, 1, 2)


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------
# synthetic dumps

_STEMS = (
    "align attend bench calibr cluster compress condition contrast decod denois distill embed "
    "encod estimat fine generat ground hallucin index infer interpol label learn merg model "
    "navig optim parse plan predict prompt prun quantiz rank reason recogn reconstruct refin "
    "render retriev reward sampl scal search segment simul spars synthes token track train "
    "transfer translat verif"
).split()
_SUFFIXES = ["", "s", "ed", "ing", "er", "ers", "ation", "ations", "ive", "ively", "ability"]
_PLAIN = (
    "a an the of for with in on to and or by from via under across over we our this that these "
    "is are be can show method approach framework task tasks data dataset benchmark model models "
    "results performance baseline baselines large small language vision video image audio robot "
    "agent agents policy graph network networks layer layers attention diffusion transformer "
    "latent space loss objective signal scene object objects text code query queries memory "
    "context window budget compute efficient robust novel simple strong state art prior work "
    "experiments evaluation accuracy quality human preference feedback multimodal temporal "
    "spatial geometric semantic structured sparse dense local global hierarchical adaptive"
).split()
_TITLE_WORDS = (
    "Scalable Sparse Efficient Robust Adaptive Hierarchical Multimodal Temporal Spatial Latent "
    "Diffusion Transformers Agents Reasoning Retrieval Planning Grounding Alignment Distillation "
    "Tokenization Rendering Segmentation Tracking Reconstruction Calibration Compression "
    "Language Vision Video Audio Robot Graph Memory Context Reward Preference Policy Benchmark"
).split()
_TOPICS = (
    "Long-Context Understanding|Open-Vocabulary Detection|Code Generation|Embodied Navigation|"
    "Text-to-Image Synthesis|Speech Recognition|Mathematical Reasoning|3D Scene Editing|"
    "Medical Imaging|Molecule Design|Time-Series Forecasting|Visual Question Answering|"
    "Instruction Following|Tool Use|Document Parsing|Motion Generation"
).split("|")


def _vocabulary() -> list[str]:
    words = [stem + suffix for stem in _STEMS for suffix in _SUFFIXES]
    return words + _PLAIN * 4  # function words more often, as in prose


@dataclass
class Generated:
    files: list[Path]
    bytes: list[int]  # per file
    entries: list[int]  # listed papers per file
    new: list[int]  # papers first seen in each file
    seed: int


@dataclass
class _Paper:
    title: str
    abstract: str
    authors: int | None
    published: date | None
    upvotes: int | None
    with_year: bool = False


def _title(rng: random.Random, serial: int) -> str:
    a, b, c = rng.sample(_TITLE_WORDS, 3)
    return f"{a} {b} {c} for {rng.choice(_TOPICS)}, Study {serial}"


def _abstract(rng: random.Random, vocab: list[str], serial: int) -> str:
    target = rng.randint(1300, 1900)
    roll = rng.random()
    if roll < 0.30:
        tail = f" Code is available at https://github.com/lab{serial % 997}/project-{serial}."
    elif roll < 0.40:
        tail = f" Project page: https://sites.example.org/p{serial}/index.html."
    elif roll < 0.43:
        tail = f" A demo video: https://www.youtube.com/watch?v=v{serial:08d}."
    else:
        tail = ""
    sentences: list[str] = []
    length = len(tail)
    while length < target:
        words = rng.choices(vocab, k=rng.randint(12, 30))
        sentence = " ".join(words).capitalize() + "."
        sentences.append(sentence)
        length += len(sentence) + 1
    return " ".join(sentences) + tail


def _render_date(day: date, listing: date, with_year: bool) -> str:
    text = f"{MONTHS[day.month - 1]} {day.day}"
    # A date without a year is read as the listing's year, or the year before.
    return text + f", {day.year}" if with_year or (listing - day).days > 300 else text


def _blocks(paper: _Paper, listing: date) -> list[str]:
    blocks = [paper.title, paper.abstract]
    if paper.published is not None:
        last = _render_date(paper.published, listing, paper.with_year)
        if paper.upvotes is not None:
            last += f" {paper.upvotes}"
        lines = [] if paper.authors is None else [f"  • {paper.authors} authors"]
        if paper.authors == 1:
            lines = ["  • 1 author"]
        blocks.append("\n".join([*lines, "·", last]))
    return blocks


def generate(directory: Path, files: int, per_file: int, seed: int) -> Generated:
    """Write ``files`` dumps into ``directory``; deterministic for a given seed."""
    rng = random.Random(seed)
    vocab = _vocabulary()
    serial = 0
    previous: list[_Paper] = []
    out = Generated([], [], [], [], seed)
    repeats = round(per_file * OVERLAP)
    for index in range(files):
        listing = FIRST_LISTING + timedelta(days=index)
        papers: list[_Paper] = []
        for old in rng.sample(previous, min(repeats, len(previous))):
            # Seen yesterday; today's page shows more upvotes (and always a metadata block).
            old.upvotes = (old.upvotes or 0) + rng.randint(1, 25)
            if old.published is None:
                old.published = listing - timedelta(days=rng.randint(1, 20))
                old.authors = rng.randint(1, 30)
            papers.append(old)
        fresh = per_file - len(papers)
        for _ in range(fresh):
            serial += 1
            has_meta = rng.random() < 0.5
            published = listing - timedelta(days=rng.randint(0, 400)) if has_meta else None
            papers.append(
                _Paper(
                    title=_title(rng, serial),
                    abstract=_abstract(rng, vocab, serial),
                    authors=rng.randint(1, 30) if has_meta and rng.random() < 0.9 else None,
                    published=published,
                    upvotes=rng.randint(0, 80) if has_meta and rng.random() < 0.8 else None,
                    with_year=has_meta and rng.random() < 0.2,
                )
            )
        rng.shuffle(papers)
        blocks = [*HEADER, f"{MONTHS[listing.month - 1]} {listing.day}"]
        for paper in papers:
            blocks.extend(_blocks(paper, listing))
        data = ("\n\n".join(blocks) + "\n").encode("utf-8")
        path = directory / f"{index:05d}_{listing.isoformat()}.txt"
        path.write_bytes(data)
        stamp = datetime(listing.year, listing.month, listing.day, 18, tzinfo=UTC).timestamp()
        os.utime(path, (stamp, stamp))
        out.files.append(path)
        out.bytes.append(len(data))
        out.entries.append(len(papers))
        out.new.append(fresh)
        previous = papers
        if (index + 1) % max(1, files // 10) == 0:
            log(f"  generated {index + 1}/{files} files")
    return out


# ------------------------------------------------------------------------------------------
# the measured child


def _rss_now_kb() -> int:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except OSError:
        return 0


def _peak_kb() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB elsewhere


def child(args: argparse.Namespace) -> None:
    """Ingest (or only parse) the first ``--count`` files; print one JSON line on stdout."""
    sys.path.insert(0, str(REPO))
    from recommender import dumps
    from recommender.config import Settings
    from recommender.core import Recommender

    files = sorted(Path(args.dir).glob("*.txt"))[: args.count]
    label = f"{args.backend} x{len(files)}"
    samples: list[tuple[int, int]] = []
    step = max(1, len(files) // 10)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if done % step == 0 or done == len(files):
            samples.append((done, _rss_now_kb()))
            log(f"  [{label}] {done}/{len(files)} files, rss {samples[-1][1] / 1024:.0f} MB")

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    result: dict[str, object] = {}
    if args.backend == "parse":
        ready = _peak_kb()
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        entries = 0
        for path in files:
            entries += len(dumps.read_dump(path).papers)
            tick()
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - start
        peak = _peak_kb()
        result.update(entries=entries, papers_new=0, papers_updated=0, papers_unchanged=0)
    else:
        with tempfile.TemporaryDirectory(prefix="ingest-bench-home-") as home:
            url = args.url or f"sqlite:///{Path(home) / 'bench.db'}"
            with Recommender(Settings(home=Path(home), database_url=url)) as rec:
                rec.init()
                ready = _peak_kb()
                start = time.perf_counter()
                if profiler:
                    profiler.enable()
                report = rec.ingest(files, on_file=lambda _outcome: tick())
                if profiler:
                    profiler.disable()
                elapsed = time.perf_counter() - start
                peak = _peak_kb()  # before stats(), which reads every paper's links
                stats = rec.stats()
        if report.refused:
            raise SystemExit(f"refused: {report.refused[0].error}")
        result.update(
            entries=report.papers_new + report.papers_updated + report.papers_unchanged,
            papers_new=report.papers_new,
            papers_updated=report.papers_updated,
            papers_unchanged=report.papers_unchanged,
            papers_in_db=stats["papers"],
            dumps_in_db=stats["dumps"],
        )
    if profiler:
        profiler.dump_stats(args.profile)
    result.update(
        files=len(files),
        bytes=sum(p.stat().st_size for p in files),
        seconds=elapsed,
        rss_ready_kb=ready,
        peak_rss_kb=peak,
        rss_samples=samples,
    )
    print(json.dumps(result), flush=True)


# ------------------------------------------------------------------------------------------
# the parent


@dataclass
class Run:
    backend: str
    files: int
    result: dict[str, object] = field(default_factory=dict)
    note: str | None = None

    def row(self) -> dict[str, object]:
        r = self.result
        out: dict[str, object] = {"backend": self.backend, "files": self.files}
        if self.note:
            out["note"] = self.note
        if not r:
            return out
        seconds = float(r["seconds"])  # type: ignore[arg-type]
        out.update(
            entries=r["entries"],
            papers_new=r["papers_new"],
            papers_updated=r["papers_updated"],
            papers_unchanged=r["papers_unchanged"],
            megabytes=round(int(r["bytes"]) / 1e6, 2),  # type: ignore[call-overload]
            seconds=round(seconds, 2),
            papers_per_s=round(int(r["entries"]) / seconds),  # type: ignore[call-overload]
            mb_per_s=round(int(r["bytes"]) / 1e6 / seconds, 2),  # type: ignore[call-overload]
            rss_ready_mb=round(int(r["rss_ready_kb"]) / 1024, 1),  # type: ignore[call-overload]
            peak_rss_mb=round(int(r["peak_rss_kb"]) / 1024, 1),  # type: ignore[call-overload]
            rss_samples_mb=[[n, round(kb / 1024, 1)] for n, kb in r["rss_samples"]],  # type: ignore[attr-defined]
        )
        return out


def _run_child(
    backend: str, directory: Path, count: int, url: str | None, profile: str | None = None
) -> dict[str, object]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", backend]
    command += ["--dir", str(directory), "--count", str(count)]
    if url:
        command += ["--url", url]
    if profile:
        command += ["--profile", profile]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, cwd=REPO, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{backend} child failed with exit code {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _with_search_path(url: str, schema: str) -> str:
    return url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"


def _postgres_admin(url: str):  # type: ignore[no-untyped-def]
    """An engine on ``url`` in autocommit mode, or raise if the server is unreachable."""
    sys.path.insert(0, str(REPO))
    from sqlalchemy import create_engine, text

    from recommender.store.database import normalize_url

    engine = create_engine(normalize_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return engine


def _run_postgres(admin, url: str, directory: Path, count: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    schema = f"bench_ingest_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        return _run_child("postgresql", directory, count, _with_search_path(url, schema))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def _print_profile(path: str) -> None:
    import pstats

    for order in ("tottime", "cumulative"):
        log(f"\n--- cProfile of the SQLite ingest, top 25 by {order} ---")
        stats = pstats.Stats(path, stream=sys.stderr)
        stats.strip_dirs().sort_stats(order).print_stats(25)


def _table(rows: list[dict[str, object]]) -> str:
    head = (
        f"{'backend':<11} {'files':>5} {'papers':>7} {'new':>7} {'upd':>6} {'MB':>7} "
        f"{'s':>7} {'papers/s':>9} {'MB/s':>6} {'RSS@start MB':>12} {'peak RSS MB':>11}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        if "entries" not in r:
            lines.append(f"{r['backend']:<11} {r['files']:>5}  skipped: {r.get('note')}")
            continue
        lines.append(
            f"{r['backend']:<11} {r['files']:>5} {r['entries']:>7} {r['papers_new']:>7} "
            f"{r['papers_updated']:>6} {r['megabytes']:>7.1f} {r['seconds']:>7.2f} "
            f"{r['papers_per_s']:>9,} {r['mb_per_s']:>6.2f} {r['rss_ready_mb']:>12.1f} "
            f"{r['peak_rss_mb']:>11.1f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        parser = argparse.ArgumentParser(prog="ingest.py --child")
        parser.add_argument("backend", choices=["parse", "sqlite", "postgresql"])
        parser.add_argument("--dir", required=True)
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument("--url")
        parser.add_argument("--profile")
        child(parser.parse_args(argv[1:]))
        return

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000, help="dump files (default 1000)")
    parser.add_argument("--papers-per-file", type=int, default=100, help="default 100")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--postgres-url", default=DEFAULT_PG_URL)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--profile", action="store_true", help="also profile the smaller SQLite run (cProfile)"
    )
    args = parser.parse_args(argv)
    if args.files < 2 or args.papers_per_file < 1:
        parser.error("need at least 2 files and 1 paper per file")
    sizes = sorted({max(1, args.files // 4), args.files})

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        directory = Path(tmp)
        log(f"generating {args.files} dumps x {args.papers_per_file} papers in {directory}")
        start = time.perf_counter()
        generated = generate(directory, args.files, args.papers_per_file, args.seed)
        log(
            f"  {sum(generated.entries):,} listed papers ({sum(generated.new):,} distinct), "
            f"{sum(generated.bytes) / 1e6:.1f} MB in {time.perf_counter() - start:.1f}s"
        )

        runs: list[Run] = []
        for size in sizes:
            log(f"parse only, {size} files")
            runs.append(Run("parse", size, _run_child("parse", directory, size, None)))
        for size in sizes:
            log(f"SQLite, {size} files")
            runs.append(Run("sqlite", size, _run_child("sqlite", directory, size, None)))
        admin = None
        pg_note = None
        if args.no_postgres:
            pg_note = "--no-postgres"
        else:
            try:
                admin = _postgres_admin(args.postgres_url)
            except Exception as exc:  # any failure to connect means "skip"
                reason = " ".join(str(exc).split())[:100]
                pg_note = f"PostgreSQL unreachable ({type(exc).__name__}: {reason})"
                log(f"skipping PostgreSQL: {pg_note}")
        for size in sizes:
            if admin is None:
                runs.append(Run("postgresql", size, note=pg_note))
                continue
            log(f"PostgreSQL, {size} files")
            runs.append(
                Run("postgresql", size, _run_postgres(admin, args.postgres_url, directory, size))
            )
        if admin is not None:
            admin.dispose()

        for run in runs:
            if run.result and run.backend != "parse":
                expected_new = sum(generated.new[: run.files])
                expected = sum(generated.entries[: run.files])
                got = (run.result["papers_new"], run.result["entries"])
                if got != (expected_new, expected):
                    raise SystemExit(
                        f"{run.backend} x{run.files}: expected (new, listed) "
                        f"{(expected_new, expected)}, got {got}"
                    )

        if args.profile:
            profile = str(directory / "sqlite.prof")
            log(f"profiling SQLite, {sizes[0]} files")
            _run_child("sqlite", directory, sizes[0], None, profile)
            _print_profile(profile)

    rows = [run.row() for run in runs]
    meta = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}",
        "python": platform.python_version(),
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "files": args.files,
        "papers_per_file": args.papers_per_file,
        "overlap": OVERLAP,
        "seed": args.seed,
        "listed_papers": sum(generated.entries),
        "distinct_papers": sum(generated.new),
        "megabytes": round(sum(generated.bytes) / 1e6, 2),
    }
    if args.json:
        print(json.dumps({"meta": meta, "runs": rows}, indent=2))
        return
    print(
        f"{meta['listed_papers']:,} listed papers ({meta['distinct_papers']:,} distinct) in "
        f"{args.files} files, {meta['megabytes']} MB; {meta['machine']}, Python {meta['python']}, "
        f"load average before/after {load_before:.2f}/{os.getloadavg()[0]:.2f}"
    )
    print(_table(rows))
    print("papers = listed papers (repeats included); new/upd = papers created/updated;")
    print("RSS@start = child's peak RSS after imports and schema creation, before ingesting.")
    for row in rows:
        if "rss_samples_mb" in row:
            curve = ", ".join(f"{n}:{mb}" for n, mb in row["rss_samples_mb"])  # type: ignore[attr-defined]
            print(f"  rss (files:MB) {row['backend']} x{row['files']}: {curve}")


if __name__ == "__main__":
    main()
