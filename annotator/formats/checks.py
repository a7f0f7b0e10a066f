"""Validation shared by every reader, so each format rejects bad input the same way."""

from __future__ import annotations

import math
import reprlib
from dataclasses import dataclass

from .dataset import Box, FormatError, label_problem

# Other tools round pixel coordinates differently (0- or 1-based, float noise);
# anything within half a pixel of the image is theirs to round, beyond is an error.
EDGE_SLACK_PX = 0.5

# Messages quote the offending value, but a hostile one (900 nested lists, a 400-digit
# number, a megabyte string) is shown cut short: a full repr() would recurse past Python's
# limit or bloat the import report.
_SHOWN = reprlib.Repr()
_SHOWN.maxlevel, _SHOWN.maxstring, _SHOWN.maxlong, _SHOWN.maxother = 3, 80, 40, 80
_SHOWN.maxlist = _SHOWN.maxtuple = _SHOWN.maxdict = 6


def shown(value: object) -> str:
    """`repr(value)` for an error message, bounded in depth and length."""
    return _SHOWN.repr(value)


@dataclass(frozen=True, slots=True)
class Where:
    """The file and line a record came from; fields are added per complaint."""

    file: str
    line: int | None = None

    def error(self, code: str, message: str, field: str | None = None) -> FormatError:
        return FormatError(code, message, file=self.file, line=self.line, field=field)


class SkipLog:
    """Applies the atomic-or-skip policy in one place so every reader behaves alike.

    Atomic (the default) raises on the first bad record, so an import either fully
    happens or not at all; with `skip_invalid` every bad record is kept for the report.
    """

    def __init__(self, skip_invalid: bool) -> None:
        self.skip_invalid = skip_invalid
        self.skipped: list[FormatError] = []

    def reject(self, error: FormatError) -> None:
        if not self.skip_invalid:
            raise error
        self.skipped.append(error)


def number(value: object, where: Where, field: str) -> float:
    """A finite float from a JSON value or a text cell; NaN, inf and text are refused."""
    if isinstance(value, bool) or value is None:
        raise where.error("invalid_number", f"expected a number, got {shown(value)}", field)
    try:
        result = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise where.error("invalid_number", f"expected a number, got {shown(value)}", field) from None
    except OverflowError:  # an integer of hundreds of digits: no float holds it
        raise where.error("invalid_number", f"{shown(value)} is too large", field) from None
    if not math.isfinite(result):
        raise where.error("invalid_number", f"{shown(value)} is not a finite number", field)
    return result


def positive_int(value: object, where: Where, field: str) -> int:
    """An image dimension: a whole number above zero."""
    result = number(value, where, field)
    if result <= 0 or result != int(result):
        raise where.error("bad_size", f"expected a positive whole number, got {shown(value)}", field)
    return int(result)


def checked_label(value: object, where: Where, field: str) -> str:
    if not isinstance(value, str):
        raise where.error("bad_label", f"expected a class name, got {shown(value)}", field)
    label = value.strip()
    problem = label_problem(label)
    if problem:
        raise where.error("bad_label", f"{problem}: {shown(value)}", field)
    return label


def pixel_box(
    label: str,
    coords: tuple[float, float, float, float],
    size: tuple[int, int],
    where: Where,
    fields: tuple[str, str, str, str],
) -> Box:
    """Normalise a pixel box (xmin, ymin, xmax, ymax) after checking it lies in the image."""
    width, height = size
    limits = (width, height, width, height)
    clamped = [_within(v, lim, where, f) for v, lim, f in zip(coords, limits, fields, strict=True)]
    x, y, x2, y2 = clamped
    if not (x < x2 and y < y2):
        raise where.error(
            "degenerate_box",
            f"box has no area: xmin={coords[0]}, ymin={coords[1]}, xmax={coords[2]}, ymax={coords[3]}",
            fields[0],
        )
    return Box(label, x / width, y / height, x2 / width, y2 / height)


def normalised_box(
    label: str,
    coords: tuple[float, float, float, float],
    size: tuple[int, int],
    where: Where,
    fields: tuple[str, str, str, str],
) -> Box:
    """Check a box already in 0..1 (x, y, x2, y2), allowing the same half-pixel slack."""
    width, height = size
    pixels = (coords[0] * width, coords[1] * height, coords[2] * width, coords[3] * height)
    for value, pixel, limit, field in zip(coords, pixels, (width, height) * 2, fields, strict=True):
        _within(pixel, limit, where, field, shown=value)
    x, y, x2, y2 = (min(max(value, 0.0), 1.0) for value in coords)
    if not (x < x2 and y < y2):
        raise where.error("degenerate_box", f"box has no area: {coords}", fields[0])
    return Box(label, x, y, x2, y2)


def _within(value: float, limit: int, where: Where, field: str, shown: float | None = None) -> float:
    shown = value if shown is None else shown
    if value < -EDGE_SLACK_PX:
        raise where.error("negative_coordinate", f"coordinate {shown} is negative", field)
    if value > limit + EDGE_SLACK_PX:
        raise where.error("out_of_image", f"coordinate {shown} is outside the image (size {limit})", field)
    return min(max(value, 0.0), float(limit))


def pixel_text(value: float) -> str:
    """How writers spell a pixel coordinate: whole pixels as integers, as labelImg
    writes them, else three decimals (well inside the half-pixel promise)."""
    rounded = round(value, 3)
    if rounded == int(rounded):
        return str(int(rounded))
    return f"{rounded:.3f}".rstrip("0")
