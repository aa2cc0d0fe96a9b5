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
    day_of_week = re.sub(r"\d+", lambda m: _cron_day(m[0]), day_of_week)
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


def _cron_day(number: str) -> str:
    if int(number) > 7:
        raise ValueError(f"invalid day of week {number!r} in cron line; use 0-7 or names")
    return CRON_DAY_NAMES[int(number)]
