"""What delivering costs the sending process beyond the mail server: CPU and time a digest.

Records N short digests, then times ``Recommender.deliver`` over a transport that takes each
message at once and keeps nothing, so what is left is the claiming, the recording of outcomes
and the reading of envelopes (one connection).

    python benchmarks/delivery_cost.py --digests 2000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.kill_send import record_short_digests, subscribe_readers  # noqa: E402
from recommender.config import Settings  # noqa: E402
from recommender.core import Recommender  # noqa: E402
from recommender.mailer import Outgoing  # noqa: E402


class Nowhere:
    """A transport that takes every message at once."""

    def send(self, outgoing: Outgoing) -> str:
        return "nowhere"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--digests", type=int, default=2000)
    parser.add_argument("--db", help="database URL (default: a SQLite file in a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = args.db or f"sqlite:///{folder / 'cost.db'}"
        settings = Settings(home=folder / "home", database_url=url, embedding_model="none")
        with Recommender(settings) as app:
            app.init()
            record_short_digests(app, subscribe_readers(app, folder, args.digests))
            app.transport = Nowhere()
            cpu, wall = time.process_time(), time.perf_counter()
            delivered = app.deliver()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{'digests':>16}: {len(delivered)}")
    print(f"{'CPU a digest':>16}: {1000 * cpu / len(delivered):.2f} ms")
    print(f"{'time a digest':>16}: {1000 * wall / len(delivered):.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
