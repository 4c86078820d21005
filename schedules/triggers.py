"""Cron triggers that behave across daylight-saving changes.

APScheduler's CronTrigger already runs a job whose local time does not exist on the
spring-forward day once, at the equivalent instant. On the fall-back day it fires a fixed-time
job (``30 2 * * *``) in both occurrences of the repeated hour. We follow Vixie cron: a job with a
fixed hour runs in the first occurrence only; a job whose hour field is ``*`` (``*/30 * * * *``)
runs on real elapsed time, so both occurrences of the repeated hour get their runs.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

_HOUR_FIELD = 5  # CronTrigger.fields: year, month, day, week, day_of_week, hour, minute, second


def _is_second_occurrence(moment: dt.datetime) -> bool:
    """True for a wall time that happens twice, in its later (post fall-back) occurrence."""
    first = moment.replace(fold=0)
    return first.utcoffset() != moment.utcoffset() and moment.replace(fold=1) == moment


class DstSafeCronTrigger(CronTrigger):
    def _fixed_hour(self) -> bool:
        return str(self.fields[_HOUR_FIELD]) != "*"

    def get_next_fire_time(self, previous_fire_time: dt.datetime | None,
                           now: dt.datetime) -> dt.datetime | None:
        candidate = super().get_next_fire_time(previous_fire_time, now)
        while (candidate is not None and self._fixed_hour()
               and _is_second_occurrence(candidate.astimezone(self.timezone))):
            later = (candidate.astimezone(dt.UTC) + dt.timedelta(seconds=1)).astimezone(
                self.timezone)
            candidate = super().get_next_fire_time(candidate, later)
        return candidate


def cron_trigger(expression: str, timezone: str) -> DstSafeCronTrigger:
    """A trigger for a 5-field cron expression in an IANA time zone; ValueError if invalid."""
    return DstSafeCronTrigger.from_crontab(expression, timezone=ZoneInfo(timezone))


def last_fire_time(expression: str, timezone: str, now: dt.datetime,
                   lookback: dt.timedelta) -> dt.datetime | None:
    """The latest time the expression fired at or before ``now``, looking back ``lookback``
    at most: the slot a run started late (a misfire, a slow thread) belongs to."""
    trigger = cron_trigger(expression, timezone)
    fire = trigger.get_next_fire_time(None, now - lookback)
    last = None
    while fire is not None and fire <= now:
        last = fire
        fire = trigger.get_next_fire_time(fire, fire + dt.timedelta(seconds=1))
    return last
