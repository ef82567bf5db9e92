"""The calling-hours window for outbound calls: a call is only placed inside it (local time)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sip_config.schema import OutboundSettings

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def next_allowed(when: float, settings: OutboundSettings) -> float:
    """`when` if it is inside the calling hours, else the start of the next window (epoch seconds)."""
    start_s, end_s = settings.calling_hours.split("-")
    start, end = _minutes(start_s), _minutes(end_s)
    moment = datetime.fromtimestamp(when)
    for offset in range(8):
        day = (moment + timedelta(days=offset)).date()
        if _DAYS[day.weekday()] not in settings.calling_days:
            continue
        opens = datetime.combine(day, datetime.min.time()) + timedelta(minutes=start)
        closes = datetime.combine(day, datetime.min.time()) + timedelta(minutes=end)
        if moment < opens:
            return opens.timestamp()
        if moment < closes:
            return when
    raise ValueError("outbound.calling_days has no day to call on")
