"""APScheduler (3.x) jobs that call the facade, and keeping them in step with the subscribers.

Jobs live in the database (APScheduler's SQLAlchemy job store), so a restart keeps every
schedule; a run missed during downtime fires once when the service is back (coalesced, never
a burst). Each digest run is recorded under its slot — the scheduled time it stands for — and
the database refuses a second digest for one slot, so two services on one database never send
a digest twice.

Each source in the ``sources`` setting is fetched on its own schedule (``hf_schedule`` in UTC,
``arxiv_schedule`` in arXiv's time zone), one fetch at a time on an executor of its own. A
digest waits for a fetch that is running or due, so the papers a fetch brings are in the digest
that follows it; a fetch that fails is logged and tried again at its next run.

Jobs are stored as references to this module's functions; they reach the facade through
:func:`install`, which the service calls once.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING, STATE_STOPPED
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from recommender import profiles, schedules
from recommender.core import Recommender
from recommender.results import DeliveryOutcome
from recommender.sources.arxiv_parse import ARXIV_TZ
from recommender.sources.base import SourceError

log = logging.getLogger("recommender.scheduler")

INBOX_JOB = "ingest-inbox"
RETRY_JOB = "retry-deliveries"
SYNC_JOB = "sync-subscribers"
DIGEST_PREFIX = "digest:"
FETCH_PREFIX = "fetch:"
FETCH_EXECUTOR = "fetch"
RETRY_EVERY = timedelta(minutes=2)
SYNC_EVERY = timedelta(seconds=30)
# How long a digest waits for a fetch that is running or due before it goes without it: a
# source that cannot be reached gives up after its retries, well within this.
FETCH_WAIT = timedelta(minutes=10)
# The time zone each source's schedule is read in: Hugging Face lists papers by UTC day; arXiv
# announces at midnight in New York.
SOURCE_TIMEZONES = {"hf": UTC, "arxiv": ARXIV_TZ}

_app: Recommender | None = None
_profile_state: dict[str, float] = {}


def install(app: Recommender) -> None:
    """Make ``app`` the facade the stored jobs call; its first sync reads the profiles folder
    afresh, as a new process does."""
    global _app
    _app = app
    _profile_state.clear()


def _facade() -> Recommender:
    if _app is None:
        raise RuntimeError("scheduler.install(app) was not called")
    return _app


def make_jobstore(app: Recommender) -> SQLAlchemyJobStore:
    """APScheduler's job store in ``app``'s database (table ``apscheduler_jobs``)."""
    # The project's own engine settings: on SQLite, WAL, a 30 s wait for the write lock and
    # real transactions, so the scheduler's writes queue behind the digests' instead of
    # failing with "database is locked" when thousands of jobs are added at once.
    return SQLAlchemyJobStore(engine=app.new_engine(), tablename="apscheduler_jobs")


class _Scheduler(BackgroundScheduler):
    """APScheduler's background scheduler, minus its last look for due jobs at shutdown.

    Shutting down wakes the scheduler's loop once more, after the executor has stopped; a job
    due at that moment could not run, yet had its next run time moved on in the job store, so
    its run was lost rather than left for the next start (agronholm/apscheduler#285).
    """

    def _process_jobs(self) -> float | None:
        if self.state == STATE_STOPPED:
            return None
        return super()._process_jobs()


def make_scheduler(store: SQLAlchemyJobStore) -> BackgroundScheduler:
    """A scheduler whose jobs are kept in ``store``."""
    return _Scheduler(
        jobstores={"default": store},
        # Fetches have a thread of their own: digests waiting for a fetch must not hold every
        # thread the fetch could run on.
        executors={"default": ThreadPoolExecutor(4), FETCH_EXECUTOR: _FetchExecutor(1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=UTC,
    )


def add_service_jobs(scheduler: BackgroundScheduler, app: Recommender) -> None:
    """The jobs every service runs: the inbox, delivery retries, and the subscriber sync."""
    poll = timedelta(seconds=app.settings.inbox_poll_seconds)
    for job_id, function, every in (
        (INBOX_JOB, ingest_inbox_job, poll),
        (RETRY_JOB, retry_job, RETRY_EVERY),
        (SYNC_JOB, sync_job, SYNC_EVERY),
    ):
        scheduler.add_job(
            function,
            IntervalTrigger(seconds=int(every.total_seconds()), timezone=UTC),
            id=job_id,
            name=job_id,
            replace_existing=True,
            next_run_time=datetime.now(UTC),
        )


def add_source_jobs(scheduler: BackgroundScheduler, app: Recommender) -> dict[str, str]:
    """One fetch job per source in the ``sources`` setting, on its schedule; the jobs of
    sources no longer named are removed. A job whose schedule is unchanged keeps its next run
    time (and a run missed while the service was down). Return what changed, by source."""
    wanted = {name: source_trigger(app, name) for name in app.settings.source_names}
    return _match_jobs(scheduler, FETCH_PREFIX, wanted, fetch_job, FETCH_EXECUTOR, "fetching")


def _match_jobs(
    scheduler: BackgroundScheduler,
    prefix: str,
    wanted: dict[str, CronTrigger],
    function: Callable[[str], None],
    executor: str,
    what: str,
) -> dict[str, str]:
    """Make the jobs named ``prefix + key`` run ``function(key)`` on ``wanted[key]``: add the
    missing ones, reschedule those whose trigger changed (the others keep their next run
    time), remove those not wanted. Return what changed, by key."""
    changes: dict[str, str] = {}
    existing = {job.id: job for job in scheduler.get_jobs() if job.id.startswith(prefix)}
    for key, trigger in wanted.items():
        job_id = prefix + key
        job = existing.pop(job_id, None)
        if job is not None and repr(job.trigger) == repr(trigger):
            continue
        scheduler.add_job(
            function,
            trigger,
            args=[key],
            id=job_id,
            name=job_id,
            executor=executor,
            replace_existing=True,
        )
        changes[key] = "scheduled" if job is None else "rescheduled"
        log.info("%s %s %s: %s", what, key, changes[key], trigger)
    for job_id in existing:
        scheduler.remove_job(job_id)
        changes[job_id.removeprefix(prefix)] = "unscheduled"
        log.info("%s %s unscheduled", what, job_id.removeprefix(prefix))
    return changes


def source_trigger(app: Recommender, name: str) -> CronTrigger:
    schedule = {"hf": app.settings.hf_schedule, "arxiv": app.settings.arxiv_schedule}[name]
    return CronTrigger(
        **schedules.parse_schedule(schedule).cron_fields(), timezone=SOURCE_TIMEZONES[name]
    )


# -- the jobs ----------------------------------------------------------------------------------

# The fetch jobs handed to their executor and not finished yet, by job id. A job counts from the
# moment it is submitted (not from when its thread starts), so a digest due with it never slips
# in between.
_pending_fetches: set[str] = set()
_fetches_changed = threading.Condition()


def _fetch_started(job_id: str) -> None:
    with _fetches_changed:
        _pending_fetches.add(job_id)


def _fetch_finished(job_id: str) -> None:
    with _fetches_changed:
        _pending_fetches.discard(job_id)
        _fetches_changed.notify_all()


class _FetchExecutor(ThreadPoolExecutor):
    """The fetch jobs' thread, marking each fetch pending as it is handed over."""

    def submit_job(self, job: Job, run_times: list[datetime]) -> None:
        _fetch_started(job.id)
        try:
            super().submit_job(job, run_times)
        except BaseException:
            _fetch_finished(job.id)
            raise


def fetch_job(name: str) -> None:
    """Fetch a source as a scheduled run does: Hugging Face yesterday's and today's listing
    (papers are featured all day), arXiv today's announcement. A failure is logged; the next
    run tries again."""
    app = _facade()
    job_id = FETCH_PREFIX + name
    _fetch_started(job_id)
    try:
        today = app.clock().astimezone(SOURCE_TIMEZONES[name]).date()
        if name == "hf":
            report = app.fetch(name, since=today - timedelta(days=1))
        else:
            report = app.fetch(name, day=today)
    except SourceError as error:
        log.error("fetching %s failed, tried again at its next run: %s", name, error)
        return
    finally:
        _fetch_finished(job_id)
    for day in report.days:
        log.info(
            "fetched %s %s: %s, %d new, %d updated, %d skipped",
            name,
            day.day,
            day.status,
            day.papers_new,
            day.papers_updated,
            len(day.skipped),
        )


def wait_for_fetches(
    scheduler: BackgroundScheduler | None, sources: tuple[str, ...], timeout: float
) -> bool:
    """Wait while a fetch of ``sources`` is running, handed over, or due and not handed over
    yet; return False if one still is after ``timeout`` seconds, or the scheduler stops."""
    deadline = time.monotonic() + timeout
    job_ids = [FETCH_PREFIX + name for name in sources]
    while True:
        # The job store is read without holding _fetches_changed: the scheduler takes its own
        # lock and then ours when it hands a fetch over, so holding ours here could deadlock.
        due = scheduler is not None and any(_due(scheduler.get_job(job_id)) for job_id in job_ids)
        with _fetches_changed:
            busy = due or any(job_id in _pending_fetches for job_id in job_ids)
            left = deadline - time.monotonic()
            if not busy:
                return True
            if left <= 0 or (scheduler is not None and scheduler.state != STATE_RUNNING):
                return False
            # Woken when a fetch finishes; a due one is looked at again every 0.2 s.
            _fetches_changed.wait(min(0.2, left))


def _due(job: Job | None) -> bool:
    return (
        job is not None and job.next_run_time is not None and job.next_run_time <= datetime.now(UTC)
    )


def ingest_inbox_job() -> None:
    report = _facade().ingest_inbox()
    for outcome in report.files:
        # a name may hold a line break: shown escaped, it cannot fake a log line
        name = _printable(outcome.path.name)
        if outcome.status == "refused":
            log.error("quarantined %s: %s", name, _printable(outcome.error or ""))
        elif outcome.status == "ingested":
            log.info(
                "ingested %s: %d new, %d updated",
                name,
                outcome.papers_new,
                outcome.papers_updated,
            )
            for warning in outcome.warnings:
                log.warning("%s", _printable(warning))
        else:
            log.info("%s %s", outcome.status, name)


def _printable(text: str) -> str:
    """``text`` as it is, or escaped if it holds a line break or another control character."""
    return text if text.isprintable() else repr(text)


def digest_job(email: str) -> None:
    app = _facade()
    if not wait_for_fetches(_scheduler, app.settings.source_names, FETCH_WAIT.total_seconds()):
        log.warning("digest for %s goes without the fetch still running", email)
    subscriber = app.subscriber(email)
    slot = scheduled_slot(subscriber.schedule, subscriber.timezone, app.clock())
    report = app.send_scheduled(email, slot)
    for composed in report.composed:
        log.info("digest for %s (%s): %s", email, slot, composed.status)
    for delivered in report.delivered:
        level = logging.INFO if delivered.state == "sent" else logging.ERROR
        log.log(level, "delivery to %s: %s%s", email, delivered.state, _after(delivered))


def retry_job() -> None:
    for delivered in _facade().deliver():
        level = logging.INFO if delivered.state == "sent" else logging.ERROR
        log.log(level, "retry to %s: %s%s", delivered.email, delivered.state, _after(delivered))


def _after(delivered: DeliveryOutcome) -> str:
    """What a delivery's log line says after its state: when it is tried again, and why."""
    retry = f" (retry at {delivered.retry_at:%Y-%m-%d %H:%M} UTC)" if delivered.retry_at else ""
    return f"{retry} {delivered.error}" if delivered.error else retry


def sync_job() -> None:
    """Reload changed profile files (if a folder is set), then match jobs to subscribers.

    A file sets only the fields it changed since it was last applied, so a reload (or a
    restart) leaves what subscribers changed on their manage page, and never resubscribes.
    """
    app = _facade()
    folder = app.settings.profiles_dir
    if folder is not None and _profiles_changed(folder):
        try:
            # Files unchanged since they were applied touch nothing (see profile_sync).
            for outcome in app.subscribe(folder):
                if outcome.changed:
                    listed = outcome.fields and outcome.action != "created"
                    set_ = f" ({', '.join(outcome.fields)})" if listed else ""
                    log.info("profile %s: %s%s", outcome.email, outcome.action, set_)
        except profiles.ProfileError as exc:
            # all or nothing, as `subscribe FOLDER`: say that the others wait too
            log.error(
                "profiles not reloaded (none of the folder's changes is applied until this "
                "is fixed): %s",
                exc,
            )
    if _scheduler is not None:
        sync_digest_jobs(_scheduler, app)


def _profiles_changed(folder: Path) -> bool:
    state = {str(p): p.stat().st_mtime for p in sorted(folder.glob("*.toml")) if p.is_file()}
    if state == _profile_state or not state:
        return False
    _profile_state.clear()
    _profile_state.update(state)
    return True


_scheduler: BackgroundScheduler | None = None


def attach(scheduler: BackgroundScheduler) -> None:
    global _scheduler
    _scheduler = scheduler


_sync_lock = threading.Lock()


# What each scheduler's digest jobs were last matched to: (schedule, time zone) by address.
_synced: weakref.WeakKeyDictionary[BackgroundScheduler, dict[str, tuple[str, str]]] = (
    weakref.WeakKeyDictionary()
)


def sync_digest_jobs(scheduler: BackgroundScheduler, app: Recommender) -> dict[str, str]:
    """One digest job per active subscriber, on their schedule in their time zone.

    A job whose schedule is unchanged is left alone, so its next run time (and a run missed
    while the service was down) survives; return what changed, by email. One sync at a time:
    the one at start-up and the periodic job would otherwise add the same jobs side by side.
    While no subscriber's schedule has changed since the last sync of this scheduler, the
    jobs are not read at all (with 10,000 subscribers that read takes seconds).
    """
    with _sync_lock:
        wanted = app.schedules()
        if _synced.get(scheduler) == wanted:
            return {}
        changes = _sync_digest_jobs(scheduler, wanted)
        _synced[scheduler] = wanted
        return changes


def _sync_digest_jobs(
    scheduler: BackgroundScheduler, schedules: dict[str, tuple[str, str]]
) -> dict[str, str]:
    wanted = {email: trigger_for(*schedule) for email, schedule in schedules.items()}
    return _match_jobs(scheduler, DIGEST_PREFIX, wanted, digest_job, "default", "digest for")


def trigger_for(schedule: str, timezone: str) -> CronTrigger:
    """The cron trigger of a profile's schedule, in the subscriber's time zone."""
    return CronTrigger(**schedules.parse_schedule(schedule).cron_fields(), timezone=timezone)


def scheduled_slot(schedule: str, timezone: str, now: datetime) -> str:
    """The scheduled time the digest due at ``now`` stands for: the latest fire time of the
    schedule at or before ``now`` (UTC, ISO 8601). Runs late after downtime keep their slot.

    A local time that comes twice (when clocks go back) is one slot, the first of the two:
    APScheduler fires at both, and a daily digest should still go out once that day. A time
    that does not exist (clocks going forward) is fired an hour later, and that is its slot.
    """
    trigger = trigger_for(schedule, timezone)
    now = now.astimezone(UTC)
    for window in (timedelta(hours=1), timedelta(days=1), timedelta(days=8), timedelta(days=32)):
        previous: datetime | None = None
        fire = trigger.get_next_fire_time(None, now - window)
        while fire is not None and fire <= now:
            previous = fire
            # In UTC: local wall-clock arithmetic would lose the fold and go round in circles
            # in the repeated hour.
            fire = trigger.get_next_fire_time(fire, fire.astimezone(UTC) + timedelta(seconds=1))
        if previous is not None:
            return previous.replace(fold=0).astimezone(UTC).isoformat(timespec="minutes")
    return now.isoformat(timespec="minutes")
