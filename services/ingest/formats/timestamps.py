"""Timestamps in every shape the wires send them.

ISO 8601 extended (`2014-08-29T13:49:51Z`, `+00:00`, `+0100`, `+01`, fractional seconds) and
basic (`20140829T134951+0000`, NITF `norm` attributes), date-only (`2014-08-29`, `20140829`,
even `20080219+0100`), with `T` or a space between date and time. A timestamp without a zone is
read in the feed's configured zone, and that is recorded so the article can say so.

An embargo is read with `latest=True`: a zoneless local time the feed zone has twice (the hour
the clocks go back) is taken at its later instant, so a story is never released an hour early.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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


def parse_timestamp(raw: str, default_tz: str, *, field: str, latest: bool = False) -> Stamp:
    """Read one wire timestamp; `field` names it in the error if it cannot be read.

    `latest`: a zoneless time that is ambiguous in the feed zone is read at its later instant.
    """
    text = raw.strip()
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise InvalidField(f"cannot read timestamp {raw!r}", field=field)
    parts = match.groupdict()
    fraction = (parts["fraction"] or "")[:6].ljust(6, "0")
    # Looked up first: a bad zone name is a configuration error, not an unreadable timestamp.
    zone_assumed = not parts["zone"]
    fallback = feed_zone(default_tz) if zone_assumed else UTC
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
        local = naive.replace(tzinfo=fallback if zone_assumed else _zone_from(parts["zone"]))
        instants = [local.astimezone(UTC)]
        if latest and zone_assumed:
            instants.append(local.replace(fold=1).astimezone(UTC))
    except (ValueError, OverflowError) as exc:
        # OverflowError: a real local time whose UTC instant falls outside years 1-9999.
        raise InvalidField(f"cannot read timestamp {raw!r}: {exc}", field=field) from exc
    return Stamp(max(instants), zone_assumed)


def optional_timestamp(
    raw: object, default_tz: str, *, field: str, latest: bool = False
) -> Stamp | None:
    """Like `parse_timestamp`, but absent or blank values are simply absent."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if not isinstance(raw, str):
        raise InvalidField(f"timestamp must be a string, got {type(raw).__name__}", field=field)
    return parse_timestamp(raw, default_tz, field=field, latest=latest)


EMBARGOED = "embargoed"


def latest_of(stamps: Iterable[Stamp | None]) -> Stamp | None:
    """The latest of some timestamps, None if there are none."""
    present = [stamp for stamp in stamps if stamp is not None]
    return max(present, key=lambda stamp: stamp.value) if present else None


def embargo(values: Iterable[tuple[str, object]], default_tz: str) -> Stamp | None:
    """The embargo a wire states, from every (where, value) it gives one in; blank is none.

    Every one must be readable: an embargo that cannot be read is refused (as the article's
    `embargoed`), never dropped. A story that states several is held until the latest.
    """
    stamps = []
    for where, raw in values:
        try:
            stamps.append(optional_timestamp(raw, default_tz, field=EMBARGOED, latest=True))
        except InvalidField as exc:
            raise InvalidField(f"{exc.reason} (given as {where})", field=EMBARGOED) from exc
    return latest_of(stamps)
