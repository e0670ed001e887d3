"""The one spelling of a time stored in a database of a node or of the coordinating node.

Every stored time is RFC 3339 in UTC with exactly six fraction digits and `Z`:
`YYYY-MM-DDTHH:MM:SS.ffffffZ` (RFC 3339 §5.6, `date-time` with `time-secfrac`). Fixed width and
one zone make the text order the time order, so `ORDER BY` and `<` work on the column itself;
microseconds keep what `datetime` holds, so a time read back equals the time written.

Not covered, on purpose: times that are part of something signed or hashed keep the spelling of
their format (audit entries, `node.audit.entries`; directory notes, `protocol.directory`; the
cosignature time of tlog-cosignature, an integer of POSIX seconds), and a UTC day used as a quota
key (`YYYY-MM-DD`) is a day, not a time. Databases written before this format are rewritten by a
migration (`node.storage.schema`). A file opened read-only cannot be migrated, so `parse_time`
also reads the spellings those releases wrote (ISO 8601 with a zone: `+00:00`, or no fraction),
always as an aware UTC time; a time without a zone is refused, never guessed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

__all__ = ["format_time", "parse_time"]

_PATTERN: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")


def format_time(moment: datetime) -> str:
    """Return the stored spelling of `moment`, which must carry a time zone.

    Raises:
        ValueError: `moment` is naive (its zone would be a guess).
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected a time with a time zone, got {moment.isoformat()}")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """Return the aware UTC time `format_time` spelled as `text`.

    Raises:
        ValueError: `text` is neither the stored spelling nor an older one with a zone.
    """
    if _PATTERN.fullmatch(text) is not None:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)
    shown = repr(text) if len(text) <= 40 else repr(text[:37] + "...")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected a stored time YYYY-MM-DDTHH:MM:SS.ffffffZ, got {shown}")
    return moment.astimezone(UTC)
