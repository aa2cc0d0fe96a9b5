"""The scheduler: schedules across daylight saving, restarts, downtime, signals, processes."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select

from recommender import scheduler as jobs
from recommender.config import Settings
from recommender.core import Recommender
from recommender.service import Service
from recommender.store.models import Subscriber
from tests import processes
from tests.builders import Entry, dump_text
from tests.catalogue import ABSTRACTS, EMAIL, TOPICS, profile, topical_dump
from tests.clock import Clock
from tests.concurrency import wait_for
from tests.loopback import Reply, Seen, serving
from tests.mailserver import MailServer, free_port

DIGEST_JOB = jobs.DIGEST_PREFIX + EMAIL


def fire_times(trigger: CronTrigger, start: datetime, end: datetime) -> list[datetime]:
    """The times APScheduler runs a job on ``trigger`` between ``start`` and ``end``.

    As the scheduler does: the next fire time is computed from the last one, "now" being the
    moment it ran.
    """
    times = []
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire < end:
        times.append(fire)
        fire = trigger.get_next_fire_time(fire, fire.astimezone(UTC))
    return times


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def hhmm(times: list[datetime]) -> list[str]:
    return [t.astimezone(UTC).strftime("%m-%d %H:%M") for t in times]


def scheduled_profile(tmp_path: Path, schedule: str, timezone: str) -> Path:
    path = profile(tmp_path)
    path.write_text(path.read_text() + f'schedule = "{schedule}"\ntimezone = "{timezone}"\n')
    return path


def new_papers(tmp_path: Path, name: str) -> Path:
    """A dump of nine papers not seen before (titles carry ``name``)."""
    entries = [
        Entry(f"{title}: {name}", f"{ABSTRACTS[topic]} {name} {n}.")
        for topic, titles in TOPICS.items()
        for n, title in enumerate(titles)
    ]
    path = tmp_path / f"{name}.txt"
    path.write_text(dump_text(entries, "Mar 20"))
    return path


@pytest.fixture
def configured(settings: Settings, mail_server: MailServer, tmp_path: Path) -> Settings:
    """Settings that send through the test's SMTP server, as the service would."""
    (tmp_path / "profiles").mkdir()
    return replace(
        settings,
        smtp_host=mail_server.host,
        smtp_port=mail_server.port,
        smtp_security="none",
        inbox_dir=tmp_path / "inbox",
        profiles_dir=tmp_path / "profiles",
    )


@contextmanager
def running(
    configured: Settings, clock: Clock, before_start: Callable[[Service], None] | None = None
) -> Iterator[Service]:
    """A real service (scheduler and web server on a free loopback port) until the block ends."""
    port = free_port()
    with Recommender(replace(configured, base_url=f"http://127.0.0.1:{port}"), clock=clock) as app:
        service = Service(app, "127.0.0.1", port)
        if before_start is not None:
            before_start(service)
        service.start_in_background()
        try:
            yield service
        finally:
            service.stop()


def quiet_periodic_sync(service: Service) -> None:
    """Pause the service's own sync every :data:`jobs.SYNC_EVERY`, for a test that syncs by
    hand and checks what each sync changed (on a slow machine the periodic one may come first).

    The sync's first run is due at start-up; if the scheduler handed it to its executor before
    the pause, it may still be going (and take the test's change), so wait for it to end. The
    scheduler hands jobs over under the lock that pausing takes, so after the pause the
    executor's count of running instances can only go down.
    """
    service.scheduler.pause_job(jobs.SYNC_JOB)
    executor = service.scheduler._lookup_executor("default")
    wait_for(lambda: not executor._instances.get(jobs.SYNC_JOB))


# -- daylight saving ---------------------------------------------------------------------------


def test_a_daily_digest_keeps_its_local_time_across_a_daylight_saving_change() -> None:
    trigger = jobs.trigger_for("daily 07:30", "Europe/Berlin")
    # Berlin moves from UTC+1 to UTC+2 on 29 March 2026 and back on 25 October.
    spring = fire_times(trigger, utc(2026, 3, 27), utc(2026, 3, 31))
    assert hhmm(spring) == ["03-27 06:30", "03-28 06:30", "03-29 05:30", "03-30 05:30"]
    autumn = fire_times(trigger, utc(2026, 10, 24), utc(2026, 10, 27))
    assert hhmm(autumn) == ["10-24 05:30", "10-25 06:30", "10-26 06:30"]

    slot = lambda now: jobs.scheduled_slot("daily 07:30", "Europe/Berlin", now)  # noqa: E731
    assert slot(utc(2026, 3, 28, 12)) == "2026-03-28T06:30+00:00"
    assert slot(utc(2026, 3, 29, 5, 15)) == "2026-03-28T06:30+00:00"  # not yet 07:30 in Berlin
    assert slot(utc(2026, 3, 29, 5, 45)) == "2026-03-29T05:30+00:00"
    assert slot(utc(2026, 10, 25, 6, 45)) == "2026-10-25T06:30+00:00"


def test_a_time_skipped_by_spring_forward_fires_an_hour_later_that_day() -> None:
    # New York skips 02:00-03:00 on 8 March 2026; APScheduler runs a 02:30 schedule at 03:30.
    trigger = jobs.trigger_for("daily 02:30", "America/New_York")
    times = fire_times(trigger, utc(2026, 3, 7), utc(2026, 3, 10))
    assert hhmm(times) == ["03-07 07:30", "03-08 07:30", "03-09 06:30"]
    assert times[1].astimezone(UTC).astimezone(trigger.timezone).strftime("%H:%M %Z") == (
        "03:30 EDT"
    )


def test_a_time_repeated_by_fall_back_is_one_slot() -> None:
    # New York has 01:00-02:00 twice on 1 November 2026; APScheduler fires at both 01:30s.
    trigger = jobs.trigger_for("daily 01:30", "America/New_York")
    times = fire_times(trigger, utc(2026, 10, 31), utc(2026, 11, 3))
    assert hhmm(times) == ["10-31 05:30", "11-01 05:30", "11-01 06:30", "11-02 06:30"]
    slots = {jobs.scheduled_slot("daily 01:30", "America/New_York", t) for t in times}
    assert slots == {
        "2026-10-31T05:30+00:00",
        "2026-11-01T05:30+00:00",
        "2026-11-02T06:30+00:00",
    }


@pytest.mark.parametrize(
    ("schedule", "timezone", "start"),
    [
        # 02:30 does not exist on 8 March; 01:30 comes twice on 1 November.
        pytest.param("daily 02:30", "America/New_York", utc(2026, 3, 7), id="spring-forward"),
        pytest.param("daily 01:30", "America/New_York", utc(2026, 10, 31), id="fall-back"),
    ],
)
def test_the_digest_job_sends_one_digest_a_day_across_a_daylight_saving_change(
    configured: Settings,
    mail_server: MailServer,
    clock: Clock,
    tmp_path: Path,
    schedule: str,
    timezone: str,
    start: datetime,
) -> None:
    trigger = jobs.trigger_for(schedule, timezone)
    with Recommender(configured, clock=clock) as app:
        jobs.install(app)
        app.subscribe(scheduled_profile(tmp_path, schedule, timezone))
        days = fire_times(trigger, start, start + timedelta(days=3))
        for n, fire in enumerate(days):
            # Papers arrive before every run, so no run is silent for want of news.
            clock.now = fire.astimezone(UTC) - timedelta(minutes=10)
            # saved now: its listing day is not after the clock's today
            app.ingest([new_papers(tmp_path, f"batch{n}")], reference_date=clock.now.date())
            clock.now = fire.astimezone(UTC) + timedelta(seconds=5)
            jobs.digest_job(EMAIL)
    local_days = {fire.astimezone(trigger.timezone).date() for fire in days}
    assert len(local_days) == 3
    assert len(mail_server.received) == 3


# -- restarts and downtime ---------------------------------------------------------------------


def test_a_restart_keeps_every_schedule(
    configured: Settings, clock: Clock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Noon on 29 February: a time that does not come while the test runs.
    subscriber = scheduled_profile(tmp_path, "0 12 29 2 *", "Europe/Berlin")
    with running(configured, clock) as service:
        quiet_periodic_sync(service)
        service.app.subscribe(subscriber)
        assert jobs.sync_digest_jobs(service.scheduler, service.app) == {EMAIL: "scheduled"}
        before = service.scheduler.get_job(DIGEST_JOB)
        assert before is not None
    caplog.set_level(logging.INFO, logger="recommender.service")
    with running(configured, clock) as service:
        after = service.scheduler.get_job(DIGEST_JOB)
        assert after is not None
        assert after.next_run_time == before.next_run_time
        assert str(after.trigger) == str(before.trigger)
    # The job came back from the database: nothing was scheduled afresh.
    assert "scheduler started: 0 digest jobs changed" in caplog.messages


def test_a_sync_with_no_schedule_changed_changes_nothing_and_later_changes_still_count(
    configured: Settings, clock: Clock, tmp_path: Path
) -> None:
    with running(configured, clock) as service:
        quiet_periodic_sync(service)
        service.app.subscribe(scheduled_profile(tmp_path, "0 12 29 2 *", "Europe/Berlin"))
        assert jobs.sync_digest_jobs(service.scheduler, service.app) == {EMAIL: "scheduled"}
        assert jobs.sync_digest_jobs(service.scheduler, service.app) == {}
        service.app.subscribe(scheduled_profile(tmp_path, "0 12 28 2 *", "Europe/Berlin"))
        assert jobs.sync_digest_jobs(service.scheduler, service.app) == {EMAIL: "rescheduled"}
        job = service.scheduler.get_job(DIGEST_JOB)
        assert job is not None and "day='28'" in str(job.trigger)
        service.app.unsubscribe(EMAIL)
        assert jobs.sync_digest_jobs(service.scheduler, service.app) == {EMAIL: "unscheduled"}
        assert service.scheduler.get_job(DIGEST_JOB) is None


def test_runs_missed_during_downtime_send_one_digest_not_a_burst(
    configured: Settings, mail_server: MailServer, clock: Clock, tmp_path: Path
) -> None:
    with running(configured, clock) as service:
        service.app.ingest([topical_dump(tmp_path / "d.txt")])
        service.app.subscribe(scheduled_profile(tmp_path, "daily 07:30", "Europe/Berlin"))
        jobs.sync_digest_jobs(service.scheduler, service.app)
        # The service goes down, and its digest job was last run four days ago.
        service.scheduler.pause()
        service.scheduler.modify_job(
            DIGEST_JOB, next_run_time=datetime.now(UTC) - timedelta(days=4)
        )
    assert mail_server.received == []

    runs: list[JobExecutionEvent] = []

    def listen(service: Service) -> None:
        service.scheduler.add_listener(runs.append, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)

    with running(configured, clock, before_start=listen) as service:
        wait_for(lambda: any(run.job_id == DIGEST_JOB for run in runs))
        job = service.scheduler.get_job(DIGEST_JOB)
        assert job is not None and job.next_run_time > datetime.now(UTC)
    digest_runs = [run for run in runs if run.job_id == DIGEST_JOB]
    assert [run.exception for run in digest_runs] == [None]
    assert len(mail_server.received) == 1
    assert mail_server.received[0].rcpt_tos == [EMAIL]


# -- the process -------------------------------------------------------------------------------


@contextmanager
def serving_process(
    command: list[str], database_url: str, tmp_path: Path
) -> Iterator[subprocess.Popen[str]]:
    """``serve`` (``command``) in a process of its own over ``database_url``, killed at the end
    if it is still running."""
    env = os.environ | {
        "RECOMMENDER_HOME": str(tmp_path / "home"),
        "RECOMMENDER_DATABASE_URL": database_url,
        "RECOMMENDER_EMBEDDING_MODEL": "none",
    }
    serve = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        yield serve
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.communicate()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_shuts_down_cleanly_on_a_signal(
    database_url: str, tmp_path: Path, signum: signal.Signals
) -> None:
    port = free_port()
    command = [sys.executable, "-m", "recommender", "serve", "--host", "127.0.0.1"]
    with serving_process([*command, "--port", str(port)], database_url, tmp_path) as serve:

        def answers() -> bool:
            assert serve.poll() is None, serve.communicate()
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(answers)
        serve.send_signal(signum)
        out, err = serve.communicate(timeout=10)
    assert serve.returncode == 0, err
    assert "recommender.service: stopped" in err
    assert "Traceback" not in err


# Runs ``serve`` with its standard error a buffered stream whose raw writes raise SIGTERM in
# the middle of writing the line that says the scheduler started, as a signal that arrives
# while the process writes to a slow pipe does.
SIGNAL_WHILE_LOGGING = """
import io, os, signal, sys

class Raw(io.RawIOBase):
    fired = False

    def writable(self):
        return True

    def write(self, data):
        if not Raw.fired and b"scheduler started" in bytes(data):
            Raw.fired = True
            signal.raise_signal(signal.SIGTERM)
        return os.write(2, data)

sys.stderr = io.TextIOWrapper(io.BufferedWriter(Raw()), write_through=True)
from recommender.cli import main
sys.argv = ["recommender", "serve", "--host", "127.0.0.1", "--port", sys.argv[1]]
main()
"""


def test_serve_stops_on_a_signal_that_comes_while_it_writes_a_log_line(
    database_url: str, tmp_path: Path
) -> None:
    command = [sys.executable, "-c", SIGNAL_WHILE_LOGGING, str(free_port())]
    with serving_process(command, database_url, tmp_path) as serve:
        out, err = serve.communicate(timeout=60)
    assert serve.returncode == 0, err
    assert "SIGTERM received: stopping" in err and "recommender.service: stopped" in err
    assert "Logging error" not in err and "Traceback" not in err


def test_two_sender_processes_on_one_database_send_a_scheduled_digest_once(
    configured: Settings, mail_server: MailServer, clock: Clock, tmp_path: Path
) -> None:
    with Recommender(configured, clock=clock) as setup:
        setup.ingest([topical_dump(tmp_path / "d.txt")])
        setup.subscribe(profile(tmp_path))
        setup.init()
    slot = jobs.scheduled_slot("daily 07:30", "UTC", clock())
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(2, timeout=60)
    senders = [
        spawn.Process(
            target=processes.send_scheduled, args=(configured, clock(), EMAIL, slot, barrier)
        )
        for _ in range(2)
    ]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(timeout=60)
    assert [sender.exitcode for sender in senders] == [0, 0]
    assert len(mail_server.received) == 1
    with Recommender(configured, clock=clock) as app:
        assert app.outbox() == []


# -- fetching sources --------------------------------------------------------------------------

GRAPH_PAPER = "Equivariant Message Passing for Protein Graphs"


def hf_listing(delay: float = 0.0) -> Callable[[Seen], Reply]:
    """Hugging Face Daily Papers with one graph paper on the clock's day (21 March 2026)."""
    item = {
        "paper": {
            "id": "2603.19999",
            "title": GRAPH_PAPER,
            "summary": ABSTRACTS["graphs"],
            "authors": [{"name": "Ana Souza"}],
            "upvotes": 12,
        },
        "publishedAt": "2026-03-21T06:00:00.000Z",
    }

    def handle(request: Seen) -> Reply:
        today = request.query.get("date") == "2026-03-21" and request.query.get("p") == "0"
        body = json.dumps([item] if today else []).encode()
        return Reply(200, body, {"Content-Type": "application/json"}, delay=delay)

    return handle


def due_at_once(service: Service, *job_ids: str) -> datetime:
    """Make the jobs due now, together: the scheduler is paused while they are moved, so it
    finds them due in one look (as when their schedules meet), not one by one."""
    now = datetime.now(UTC)
    service.scheduler.pause()
    for job_id in job_ids:
        service.scheduler.modify_job(job_id, next_run_time=now)
    service.scheduler.resume()
    return now


def test_serve_fetches_each_source_on_its_schedule_in_its_time_zone(
    configured: Settings, clock: Clock
) -> None:
    with running(configured, clock) as service:
        hf = service.scheduler.get_job(jobs.FETCH_PREFIX + "hf")
        arxiv = service.scheduler.get_job(jobs.FETCH_PREFIX + "arxiv")
        assert hf is not None and arxiv is not None
        assert str(hf.trigger.timezone) == "UTC" and "hour='*/4'" in str(hf.trigger)
        assert str(arxiv.trigger.timezone) == "America/New_York"
        assert "day_of_week='1-5'" in str(arxiv.trigger) or "mon-fri" in str(arxiv.trigger)
        assert hf.executor == arxiv.executor == jobs.FETCH_EXECUTOR
    with running(replace(configured, sources="hf"), clock) as service:
        assert service.scheduler.get_job(jobs.FETCH_PREFIX + "arxiv") is None
        assert service.scheduler.get_job(jobs.FETCH_PREFIX + "hf") is not None


def test_a_digest_due_with_a_fetch_waits_for_it_and_carries_its_papers(
    configured: Settings, mail_server: MailServer, clock: Clock, tmp_path: Path
) -> None:
    with serving(hf_listing(delay=1.5)) as (url, seen):
        settings = replace(configured, sources="hf", hf_api_url=url)
        with running(settings, clock) as service:
            service.app.subscribe(scheduled_profile(tmp_path, "daily 07:30", "Europe/Berlin"))
            jobs.sync_digest_jobs(service.scheduler, service.app)
            due_at_once(service, DIGEST_JOB, jobs.FETCH_PREFIX + "hf")
            wait_for(lambda: len(mail_server.received) == 1, timeout=30)
    assert [request.query["date"] for request in seen] == ["2026-03-20", "2026-03-21"]
    text = mail_server.received[0].message.get_body(("plain",))
    assert text is not None and GRAPH_PAPER in text.get_content()


def test_a_fetch_that_fails_is_logged_and_the_digest_goes_out_without_it(
    configured: Settings,
    mail_server: MailServer,
    clock: Clock,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="recommender.scheduler")
    with serving(lambda request: Reply(404)) as (url, _):
        settings = replace(configured, sources="hf", hf_api_url=url)
        with running(settings, clock) as service:
            service.app.ingest([topical_dump(tmp_path / "d.txt")])
            service.app.subscribe(scheduled_profile(tmp_path, "daily 07:30", "Europe/Berlin"))
            jobs.sync_digest_jobs(service.scheduler, service.app)
            now = due_at_once(service, DIGEST_JOB, jobs.FETCH_PREFIX + "hf")
            wait_for(lambda: len(mail_server.received) == 1, timeout=30)
            job = service.scheduler.get_job(jobs.FETCH_PREFIX + "hf")
            assert job is not None and job.next_run_time > now  # tried again at its next run
    (failure,) = [r for r in caplog.records if "fetching hf failed" in r.getMessage()]
    assert failure.levelno == logging.ERROR and url in failure.getMessage()


# -- profiles reloaded by serve ----------------------------------------------------------------

BOB = "bob@example.org"
# Noon on 29 February and 30 February: times that do not come while the tests run.
NEVER = "0 12 29 2 *"


def write_profile(folder: Path, email: str, **fields: str | int) -> None:
    """``email``'s profile in the watched folder, its time stamp moved on so a sync sees it."""
    values = {"interests": '["graphs"]', "schedule": f'"{NEVER}"', "digest_size": 10, **fields}
    path = folder / f"{email.split('@')[0]}.toml"
    moved_on = path.stat().st_mtime + 1 if path.exists() else None
    lines = [f'email = "{email}"', *(f"{k} = {v}" for k, v in values.items())]
    path.write_text("\n".join(lines) + "\n")
    if moved_on is not None:
        os.utime(path, (moved_on, moved_on))


def manage_token(app: Recommender, email: str) -> str:
    """The token of the manage link in ``email``'s digests."""
    with app.engine.connect() as connection:
        subscriber_id = connection.scalar(select(Subscriber.id).where(Subscriber.email == email))
    assert subscriber_id is not None
    return app.signer().manage(subscriber_id)


def fire(service: Service, job_id: str) -> None:
    service.scheduler.modify_job(job_id, next_run_time=datetime.now(UTC))


def digest_trigger(service: Service) -> str:
    job = service.scheduler.get_job(DIGEST_JOB)
    return "" if job is None else str(job.trigger)


def reloaded(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What each reload of the profiles folder logged, one line per subscriber changed."""
    return [m for m in caplog.messages if m.startswith("profile ")]


def test_serve_keeps_web_changes_when_another_profile_is_edited_and_across_a_restart(
    configured: Settings, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="recommender.scheduler")
    folder = configured.profiles_dir
    assert folder is not None
    write_profile(folder, EMAIL)
    write_profile(folder, BOB)
    web = {"schedule": "0 9 29 2 *", "timezone": "Europe/Berlin", "digest_size": "5"}
    with running(configured, clock) as service:
        app = service.app
        wait_for(lambda: len(app.subscribers()) == 2)  # the sync at start
        assert reloaded(caplog) == [f"profile {EMAIL}: created", f"profile {BOB}: created"]
        app.pages.change_settings(manage_token(app, EMAIL), web)

        write_profile(folder, BOB, digest_size=20)
        fire(service, jobs.SYNC_JOB)
        wait_for(lambda: app.subscriber(BOB).digest_size == 20, timeout=60)
        ada = app.subscriber(EMAIL)
        assert (ada.schedule, ada.timezone, ada.digest_size) == ("0 9 29 2 *", "Europe/Berlin", 5)
        assert reloaded(caplog)[2:] == [f"profile {BOB}: updated (digest_size)"]
        # Her digests follow her own schedule, in her time zone.
        wait_for(lambda: "hour='9'" in digest_trigger(service), timeout=60)

    # Bob's file edited while serve was down: the restart applies it, and only it.
    write_profile(folder, BOB, digest_size=30)
    with running(configured, clock) as service:
        app = service.app
        wait_for(lambda: app.subscriber(BOB).digest_size == 30)
        ada = app.subscriber(EMAIL)
        assert (ada.schedule, ada.timezone, ada.digest_size) == ("0 9 29 2 *", "Europe/Berlin", 5)
        assert reloaded(caplog)[3:] == [f"profile {BOB}: updated (digest_size)"]

        # Her own file edited: what the operator edited is set, the rest of hers stands.
        write_profile(folder, EMAIL, digest_size=7)
        fire(service, jobs.SYNC_JOB)
        wait_for(lambda: app.subscriber(EMAIL).digest_size == 7, timeout=60)
        ada = app.subscriber(EMAIL)
        assert (ada.schedule, ada.timezone) == ("0 9 29 2 *", "Europe/Berlin")
        assert reloaded(caplog)[4:] == [f"profile {EMAIL}: updated (digest_size)"]


def test_serve_never_resubscribes_someone_who_unsubscribed_on_the_web(
    configured: Settings, clock: Clock
) -> None:
    folder = configured.profiles_dir
    assert folder is not None
    write_profile(folder, EMAIL)
    with running(configured, clock) as service:
        app = service.app
        wait_for(lambda: service.scheduler.get_job(DIGEST_JOB) is not None)
        app.pages.subscribe_from_manage_link(manage_token(app, EMAIL), subscribed=False)
        write_profile(folder, EMAIL, digest_size=20)
        fire(service, jobs.SYNC_JOB)
        wait_for(lambda: app.subscriber(EMAIL).digest_size == 20, timeout=60)
        wait_for(lambda: service.scheduler.get_job(DIGEST_JOB) is None, timeout=60)
        assert app.subscriber(EMAIL).active is False
    write_profile(folder, EMAIL, digest_size=30)  # edited while serve was down
    with running(configured, clock) as service:
        wait_for(lambda: service.app.subscriber(EMAIL).digest_size == 30)
        assert service.app.subscriber(EMAIL).active is False
        assert service.scheduler.get_job(DIGEST_JOB) is None
