"""Two senders racing on PostgreSQL: two ``recommender send`` processes started at once on one
database, in trials; what each printed on stderr, and what each exited with.

Each trial gets a fresh schema with one day of papers and N subscribers (their digests composed
in batches, so the two senders collide on a batch and one of them rolls it back), digests
written as files. A clean trial: both exit 0, nothing on stderr, each digest recorded once.

    python benchmarks/race_send.py --trials 10 --subscribers 60
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from recommender.store.models import Digest  # noqa: E402
from tests.catalogue import topical_dump  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def trial(admin_url: str, folder: Path, subscribers: int) -> tuple[list[int], list[str], int]:
    """One race: the two exit codes, the two stderrs, and the digests recorded."""
    schema = f"race_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{admin_url}?options=-csearch_path%3D{schema}"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        "RECOMMENDER_DATABASE_URL": url,
        "RECOMMENDER_HOME": str(folder / schema),
        "RECOMMENDER_EMBEDDING_MODEL": "none",
    }
    command = [sys.executable, "-m", "recommender"]
    try:
        profiles = folder / schema / "profiles"
        profiles.mkdir(parents=True)
        for n in range(subscribers):
            (profiles / f"r{n}.toml").write_text(
                f'email = "reader{n}@example.org"\ninterests = ["graph neural networks"]\n'
            )
        for args in (["ingest", str(topical_dump(folder / schema / "day.txt"))], ["subscribe"]):
            if args == ["subscribe"]:
                args.append(str(profiles))
            subprocess.run(command + args, env=env, check=True, capture_output=True)
        senders = [
            subprocess.Popen(
                [*command, "send"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        errors = [sender.communicate(timeout=600)[1] for sender in senders]
        engine = create_engine(url)
        with engine.connect() as connection:
            recorded = connection.scalar(select(func.count()).select_from(Digest))
        engine.dispose()
        return [s.returncode for s in senders], errors, int(recorded or 0)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--subscribers", type=int, default=60)
    parser.add_argument("--db", default=DEFAULT_URL, help="PostgreSQL URL (a schema per trial)")
    args = parser.parse_args()
    noisy = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for number in range(1, args.trials + 1):
            codes, errors, recorded = trial(args.db, Path(tmp), args.subscribers)
            said = [line for err in errors for line in err.splitlines()]
            noisy += bool(said)
            failed += any(codes)
            print(f"trial {number}: exit codes {codes}, {recorded} digests recorded", flush=True)
            for line in said:
                print(f"    stderr: {line[:160]}", flush=True)
    print(f"trials with anything on stderr: {noisy} of {args.trials}")
    print(f"trials with a sender exiting non-zero: {failed} of {args.trials}")
    return 1 if noisy or failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
