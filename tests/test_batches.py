"""Many subscribers at once: digests composed in batches, by worker processes, exactly once."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import threading
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from recommender.config import Settings
from recommender.core import DeliveryOutcome, Recommender
from recommender.digests import composer
from recommender.digests.pool import FIRST_DIGEST_LOOKBACK, PaperPool
from recommender.store import subscribers as subscriber_store
from tests.catalogue import readers, topical_day
from tests.clock import Clock
from tests.concurrency import at_once
from tests.mail import received_once
from tests.mailserver import MailServer


def test_many_subscribers_composed_by_worker_processes_each_get_one_digest(
    mailing: Recommender, mail_server: MailServer, tmp_path: Path
) -> None:
    mailing.compose_batch = 2  # six batches from eleven subscribers
    addresses = readers(mailing, tmp_path, 10)
    composed_seen: list[str] = []
    report = mailing.send(workers=2, on_composed=lambda c: composed_seen.append(c.email))
    assert sorted(c.status for c in report.composed) == ["recorded"] * 11
    assert composed_seen == [c.email for c in report.composed]  # in the subscribers' order
    assert sorted(d.state for d in report.delivered) == ["sent"] * 11
    received = sorted(r.rcpt_tos[0] for r in mail_server.received)
    assert set(addresses) < set(received) and len(received) == 11
    again = mailing.send(workers=2)
    assert {c.status for c in again.composed} == {"nothing new"}
    assert again.delivered == []
    assert len(mail_server.received) == 11


def test_two_senders_composing_the_same_batches_record_each_digest_once(
    mailing: Recommender, mail_server: MailServer, clock: Clock, tmp_path: Path
) -> None:
    mailing.compose_batch = 3
    readers(mailing, tmp_path, 10)

    def sender(ready: Callable[[], None]) -> list[str]:
        with Recommender(mailing.settings, clock=clock) as app:  # its own connections
            app.compose_batch = 3
            app.init()
            ready()
            return [c.status for c in app.compose(workers=1)]

    outcomes = at_once(sender)
    statuses = outcomes[0] + outcomes[1]
    assert statuses.count("recorded") == 11
    assert set(statuses) <= {"recorded", "nothing new", "already recorded"}
    sent = mailing.send(workers=1)
    assert {c.status for c in sent.composed} == {"nothing new"}
    assert sorted(d.state for d in sent.delivered) == ["sent"] * 11
    assert len(received_once(mail_server)) == 11


def test_a_pool_narrowed_without_losing_a_paper_keeps_its_vectors_and_similarities(
    mailing: Recommender,
) -> None:
    now = mailing.clock()
    space = mailing._space()
    with mailing._session() as session:
        pool = PaperPool(session, now - FIRST_DIGEST_LOOKBACK)
        # the batches of a worker, the jobs of the service: each narrows the kept pool
        vectors = pool.narrowed(pool.since).vectors(mailing.ranker, session, space)
        assert pool.narrowed(pool.since).vectors(mailing.ranker, session, space) is vectors
        assert pool.vectors(mailing.ranker, session, space) is vectors
        later = pool.narrowed(max(p.first_seen_at for p in pool.papers))  # every paper gone
        assert later.papers == []
        assert later.vectors(mailing.ranker, session, space) is not vectors


@pytest.fixture
def filing(settings: Settings, clock: Clock, tmp_path: Path) -> Iterator[Recommender]:
    """Digests to files, and no mail server: no thread runs beside the test's own."""
    with Recommender(settings, clock=clock) as app:
        yield topical_day(app, tmp_path)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_digests_composed_by_forked_or_spawned_workers_are_each_recorded_once(
    filing: Recommender, tmp_path: Path, method: str
) -> None:
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} on this platform")
    filing.worker_start_method = method
    filing.compose_batch = 2
    readers(filing, tmp_path, 10)
    composed = filing.compose(workers=2)
    assert [c.status for c in composed] == ["recorded"] * 11
    assert all(c.papers > 0 for c in composed)
    assert {c.status for c in filing.compose(workers=2)} == {"nothing new"}
    # the parent's own connections still work after forking (they were not the workers')
    assert len(filing.outbox()) == 11


def test_a_composer_built_from_plain_settings_records_what_the_facade_would(
    filing: Recommender, tmp_path: Path
) -> None:
    readers(filing, tmp_path, 4)
    s, now = filing.settings, filing.clock()
    plain = composer.ComposerSettings(
        s.database_url, s.embedding_model, s.mail_from, s.base_url, "s" * 32
    )
    built = composer.Composer.from_settings(plain, now)  # as a spawned worker builds its own
    built.batch = 2
    with filing._session() as session:
        subscribers = subscriber_store.digest_subscribers(session)
    try:
        batches = list(built.composing(subscribers, now))
    finally:
        built.engine.dispose()
    assert [len(b) for b in batches] == [2, 2, 1]
    assert [c.status for b in batches for c in b] == ["recorded"] * 5
    assert {c.status for c in filing.compose()} == {"nothing new"}
    assert len(filing.outbox()) == 5


FRESH_START_METHOD = (
    "import threading; from recommender.digests import composer; "
    "assert threading.active_count() == 1; print(composer.worker_start_method())"
)


def test_workers_are_forked_only_while_no_other_thread_runs_and_no_torch_is_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    # A fresh process runs one thread and has not loaded torch: it forks. (This one may still
    # run threads an earlier test left, so it is asked in a process of its own.)
    fresh = subprocess.run(
        [sys.executable, "-c", FRESH_START_METHOD], capture_output=True, text=True, check=True
    )
    assert fresh.stdout.strip() == "fork"
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    monkeypatch.setitem(sys.modules, "torch", types.ModuleType("torch"))
    assert composer.worker_start_method() == "spawn"
    monkeypatch.delitem(sys.modules, "torch")
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert composer.worker_start_method() == "spawn"
    finally:
        stop.set()
        other.join()


def test_digests_delivered_over_two_connections_arrive_each_once(
    mailing: Recommender,
    mail_server: MailServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    readers(mailing, tmp_path, 10)
    assert mailing.settings.smtp_connections == 2  # the default
    assert [c.status for c in mailing.compose()] == ["recorded"] * 11
    delivered = mailing.deliver()
    assert sorted(d.state for d in delivered) == ["sent"] * 11
    assert len(received_once(mail_server)) == 11
    assert len({r.peer for r in mail_server.received}) == 2
    assert mailing.deliver() == []


def test_a_delivery_stopped_by_an_error_leaves_each_digest_sent_once_or_due(
    mailing: Recommender,
    mail_server: MailServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    readers(mailing, tmp_path, 10)
    mailing.compose()
    seen: list[DeliveryOutcome] = []

    def fails_on_the_first(outcome: DeliveryOutcome) -> None:
        seen.append(outcome)
        raise RuntimeError("the caller's progress display broke")

    with pytest.raises(RuntimeError, match="progress display"):
        mailing.deliver(on_digest=fails_on_the_first)
    first_run = len(mail_server.received)
    assert 1 <= first_run < 11  # the lanes stopped after the chunks they were in
    # none is left claimed: the rest go out on the next run, and none twice
    rest = mailing.deliver()
    assert len(rest) == 11 - first_run and {d.state for d in rest} == {"sent"}
    assert len(received_once(mail_server)) == 11
