"""Whole numbers from outside (URLs, query strings, bodies) held to what the database can store.

Ids are signed 64-bit integers in every database we run on; versions are 32-bit. A
larger number can name nothing, but handed to a query it overflows (SQLite raises
OverflowError, PostgreSQL "value out of range"): a 500 where a 404 or a 400 is due.
So every id that enters is checked here first. Only ASCII digits count: `str.isdigit`
also accepts "²" and "١٢", which `int()` then refuses or reads as another number.
"""

from __future__ import annotations

import re

MAX_ID = 2**63 - 1
MAX_VERSION = 2**31 - 1

_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_id(text: str | None, *, maximum: int = MAX_ID) -> int | None:
    """The number `text` spells in ASCII digits if it is 1..maximum, else None."""
    if text is None or not _DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if 1 <= number <= maximum else None


def parse_count(text: str | None, *, maximum: int) -> int | None:
    """Like `parse_id` for counts that may be 0 (versions, days)."""
    if text == "0":
        return 0
    return parse_id(text, maximum=maximum)


class IdConverter:
    """`<id:project_id>`: an id the database can hold; anything larger matches no URL (404).

    Registered in AnnotatorConfig.ready(). Django's `int` converter takes any number of
    digits and leaves the overflow to the first query.
    """

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValueError("id out of range")  # Django reads this as "no match"
        return number

    def to_url(self, value: int | str) -> str:
        return str(value)
