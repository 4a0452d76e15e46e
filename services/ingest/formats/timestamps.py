"""Timestamps in every shape the wires send them.

ISO 8601 extended (`2014-08-29T13:49:51Z`, `+00:00`, `+0100`, `+01`, fractional seconds) and
basic (`20140829T134951+0000`, NITF `norm` attributes), date-only (`2014-08-29`, `20140829`,
even `20080219+0100`), with `T` or a space between date and time. A timestamp without a zone is
read in the feed's configured zone, and that is recorded so the article can say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import InvalidField

_TIMESTAMP = re.compile(
    r"""
    (?P<year>\d{4}) -? (?P<month>\d{2}) -? (?P<day>\d{2})
    (?:
        [Tt\ ]
        (?P<hour>\d{2}) (?: :? (?P<minute>\d{2})
            (?: :? (?P<second>\d{2}) (?: [.,] (?P<fraction>\d+) )? )?
        )?
    )?
    \s*
    (?P<zone> [Zz] | [+-]\d{2} (?: :? \d{2} )? )?
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Stamp:
    """A parsed timestamp in UTC, and whether its zone had to be assumed."""

    value: datetime
    zone_assumed: bool


@lru_cache(maxsize=64)
def feed_zone(name: str) -> ZoneInfo:
    """The IANA zone a feed's zoneless timestamps are read in; a bad name is a config error."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        # Not a ParseError: a misconfigured feed must fail loudly, not dead-letter every story.
        raise ValueError(f"unknown time zone {name!r} for default_tz") from exc


def _zone_from(text: str) -> tzinfo:
    if text in ("Z", "z"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"offset {text} out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_timestamp(raw: str, default_tz: str, *, field: str) -> Stamp:
    """Read one wire timestamp; `field` names it in the error if it cannot be read."""
    text = raw.strip()
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise InvalidField(f"cannot read timestamp {raw!r}", field=field)
    parts = match.groupdict()
    fraction = (parts["fraction"] or "")[:6].ljust(6, "0")
    try:
        naive = datetime(
            int(parts["year"]),
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            int(fraction),
        )
        zone = _zone_from(parts["zone"]) if parts["zone"] else None
    except ValueError as exc:
        raise InvalidField(f"cannot read timestamp {raw!r}: {exc}", field=field) from exc
    if zone is None:
        return Stamp(naive.replace(tzinfo=feed_zone(default_tz)).astimezone(UTC), True)
    return Stamp(naive.replace(tzinfo=zone).astimezone(UTC), False)


def optional_timestamp(raw: object, default_tz: str, *, field: str) -> Stamp | None:
    """Like `parse_timestamp`, but absent or blank values are simply absent."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if not isinstance(raw, str):
        raise InvalidField(f"timestamp must be a string, got {type(raw).__name__}", field=field)
    return parse_timestamp(raw, default_tz, field=field)
