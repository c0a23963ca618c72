"""Russian public holidays (non-working days of the Labour Code, art. 112) for the «без праздников» preset.

Only the fixed dates: the government's yearly moves of days off differ every year and are not included; a
seller who needs one excludes it as a skipped date.
"""

from __future__ import annotations

import datetime as dt

# (month, day): New Year holidays and Christmas, Defender of the Fatherland Day, Women's Day, Spring and
# Labour Day, Victory Day, Russia Day, Unity Day.
_FIXED = frozenset({(1, day) for day in range(1, 9)} | {(2, 23), (3, 8), (5, 1), (5, 9), (6, 12), (11, 4)})


def is_holiday(day: dt.date) -> bool:
    return (day.month, day.day) in _FIXED
