"""Digest schedules: ``daily 07:30``, ``weekdays 08:00``, ``weekly mon 09:00`` or a cron line,
parsed into cron fields for APScheduler (read in the subscriber's time zone by the scheduler).

Pure apart from asking APScheduler's cron trigger whether a line is valid and when it fires.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Standard cron numbers days from Sunday = 0 (and 7); APScheduler 3 from Monday = 0, so
# numeric day-of-week fields are translated to names, which mean the same to both.
CRON_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A schedule must send something within this many years (a cron line may name a day that
# never comes, such as February 30).
FIRES_WITHIN_YEARS = 5


@dataclass(frozen=True)
class Schedule:
    """When digests go out, as cron fields in the subscriber's time zone."""

    text: str  # as written in the profile, normalized
    minute: str
    hour: str
    day: str = "*"
    month: str = "*"
    day_of_week: str = "*"

    def cron_fields(self) -> dict[str, str]:
        return {
            "minute": self.minute,
            "hour": self.hour,
            "day": self.day,
            "month": self.month,
            "day_of_week": self.day_of_week,
        }


_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_schedule(text: str) -> Schedule:
    """Parse ``daily HH:MM``, ``weekdays HH:MM``, ``weekly DAY HH:MM`` or a 5-field cron line."""
    words = text.lower().split()
    forms = (
        "use 'daily 07:30', 'weekdays 08:00', 'weekly mon 09:00' or a cron line like '30 7 * * 1-5'"
    )
    if not words:
        raise ValueError(f"empty schedule; {forms}")
    if words[0] == "daily" and len(words) == 2:
        hour, minute = _time(words[1])
        return Schedule(f"daily {hour:02d}:{minute:02d}", str(minute), str(hour))
    if words[0] == "weekdays" and len(words) == 2:
        hour, minute = _time(words[1])
        return Schedule(
            f"weekdays {hour:02d}:{minute:02d}", str(minute), str(hour), day_of_week="mon-fri"
        )
    if words[0] == "weekly" and len(words) == 3:
        day = words[1][:3]
        if day not in DAYS:
            raise ValueError(f"unknown day {words[1]!r}; use mon, tue, wed, thu, fri, sat or sun")
        hour, minute = _time(words[2])
        return Schedule(
            f"weekly {day} {hour:02d}:{minute:02d}", str(minute), str(hour), day_of_week=day
        )
    if len(words) == 5:
        return _cron(words)
    raise ValueError(f"cannot read schedule {text!r}; {forms}")


def _time(text: str) -> tuple[int, int]:
    match = _TIME.match(text)
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"invalid time {text!r}; use 24-hour HH:MM, such as 07:30")
    return int(match[1]), int(match[2])


def _cron(words: list[str]) -> Schedule:
    from apscheduler.triggers.cron import CronTrigger

    minute, hour, day, month, day_of_week = words
    day_of_week = _cron_days(day_of_week)
    schedule = Schedule(" ".join(words), minute, hour, day, month, day_of_week)
    try:
        CronTrigger(**schedule.cron_fields(), timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"invalid cron line {' '.join(words)!r}: {exc}") from exc
    return schedule


def check_fires(schedule: Schedule) -> None:
    """Refuse a schedule with no time in the next :data:`FIRES_WITHIN_YEARS` years."""
    from apscheduler.triggers.cron import CronTrigger

    now = datetime.now(UTC)
    # with an end date the search stops there, instead of running on to the year 9999
    end = now + timedelta(days=366 * FIRES_WITHIN_YEARS)
    trigger = CronTrigger(**schedule.cron_fields(), timezone="UTC", end_date=end)
    if trigger.get_next_fire_time(None, now) is None:
        raise ValueError(
            f"cron line {schedule.text!r} never fires: no time in the next "
            f"{FIRES_WITHIN_YEARS} years matches it"
        )


def _cron_days(field: str) -> str:
    """A cron line's day-of-week field as APScheduler's day names, each day spelled out.

    Cron numbers Sunday 0 (and 7), Monday 1; APScheduler numbers Monday 0, and its steps and
    ranges count from there, so the field is expanded here (lists, ranges, steps, ``*``,
    numbers or names) into the days it means, then written as names: ``1-5/2`` is
    ``mon,wed,fri``, ``0-6`` every day (``*``), ``5-7`` ``fri-sun``."""
    days: set[int] = set()
    for item in field.split(","):
        body, slash, step_text = item.partition("/")
        step = _cron_step(step_text, item) if slash else 1
        if body == "*":
            first, last = 0, 6
        else:
            start, dash, end = body.partition("-")
            first = _cron_day(start, item, end=False)
            last = _cron_day(end, item, end=True) if dash else (7 if slash else first)
            if first > last:
                raise ValueError(f"day range {item!r} runs backwards; write it low to high")
        days.update(day % 7 for day in range(first, last + 1, step))
    if len(days) == 7:
        return "*"
    ordered = sorted((day - 1) % 7 for day in days)  # APScheduler's week: Monday first
    runs: list[list[int]] = []
    for day in ordered:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(
        DAYS[run[0]] if len(run) == 1 else f"{DAYS[run[0]]}-{DAYS[run[-1]]}" for run in runs
    )


def _cron_step(text: str, item: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"invalid step in day of week {item!r}; use a whole number from 1")
    return int(text)


def _cron_day(text: str, item: str, *, end: bool) -> int:
    """A day of a cron day-of-week item as cron numbers it (0-7); Sunday ends a range as 7."""
    if text in CRON_DAY_NAMES:
        number = CRON_DAY_NAMES.index(text)
        return 7 if end and number == 0 else number
    if not text.isdigit() or int(text) > 7:
        raise ValueError(f"invalid day of week {item!r} in cron line; use 0-7 or names")
    return int(text)
