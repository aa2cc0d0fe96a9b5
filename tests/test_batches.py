"""Many subscribers at once: digests composed in batches, by worker processes, exactly once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from recommender import digests
from recommender.core import Recommender
from tests.conftest import Clock, at_once
from tests.mailserver import MailServer
from tests.test_digest import mailing, readers  # noqa: F401 - the fixture, and a helper


def test_many_subscribers_composed_by_worker_processes_each_get_one_digest(
    mailing: Recommender,  # noqa: F811 - the fixture
    mail_server: MailServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(digests, "BATCH", 2)  # six batches from eleven subscribers
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
    mailing: Recommender,  # noqa: F811 - the fixture
    mail_server: MailServer,
    clock: Clock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(digests, "BATCH", 3)
    readers(mailing, tmp_path, 10)

    def composer(ready: Callable[[], None]) -> list[str]:
        with Recommender(mailing.settings, clock=clock) as app:  # its own connections
            app.init()
            ready()
            return [c.status for c in app.compose(workers=1)]

    outcomes = at_once(composer)
    statuses = outcomes[0] + outcomes[1]
    assert statuses.count("recorded") == 11
    assert set(statuses) <= {"recorded", "nothing new", "already recorded"}
    sent = mailing.send(workers=1)
    assert {c.status for c in sent.composed} == {"nothing new"}
    assert sorted(d.state for d in sent.delivered) == ["sent"] * 11
    assert sorted(r.rcpt_tos[0] for r in mail_server.received) == sorted(
        {r.rcpt_tos[0] for r in mail_server.received}
    )


def test_a_pool_narrowed_without_losing_a_paper_keeps_its_vectors_and_similarities(
    mailing: Recommender,  # noqa: F811 - the fixture
) -> None:
    now = mailing.clock()
    space = mailing._space()
    with mailing._session() as session:
        pool = digests.PaperPool(session, now - digests.FIRST_DIGEST_LOOKBACK)
        # the batches of a worker, the jobs of the service: each narrows the kept pool
        vectors = pool.narrowed(pool.since).vectors(mailing.ranker, session, space)
        assert pool.narrowed(pool.since).vectors(mailing.ranker, session, space) is vectors
        assert pool.vectors(mailing.ranker, session, space) is vectors
        later = pool.narrowed(max(p.first_seen_at for p in pool.papers))  # every paper gone
        assert later.papers == []
        assert later.vectors(mailing.ranker, session, space) is not vectors
