"""CSV boxes in the TensorFlow Object Detection API convention.

Columns `filename,width,height,class,xmin,ymin,xmax,ymax`, pixels, one row per box.
A row with an empty class and empty coordinates marks a negative image. These files
get opened in spreadsheets, so text cells that a spreadsheet would run as a formula
are written with a leading apostrophe and read back without it.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .checks import SkipLog, Where, checked_label, number, pixel_box, pixel_text, positive_int
from .dataset import Box, Dataset, DatasetImage, FormatError, ReadResult
from .files import ImageBytes, ImageIndex, image_size, relative_key, walk_files, write_file, write_images

FORMAT_ID = "csv"
FILENAME = "annotations.csv"
COLUMNS = ("filename", "width", "height", "class", "xmin", "ymin", "xmax", "ymax")
_BOX_COLUMNS = COLUMNS[4:]
_FORMULA_STARTS = frozenset("=+-@\t\r")


def neutralise(cell: str) -> str:
    """Prefix an apostrophe where a spreadsheet would see a formula.

    Cells that already start with an apostrophe before such a character get one
    more, so `unneutralise` restores every cell exactly.
    """
    if cell[:1] in _FORMULA_STARTS or (cell[:1] == "'" and cell[1:2] in _FORMULA_STARTS | {"'"}):
        return f"'{cell}"
    return cell


def unneutralise(cell: str) -> str:
    if cell[:1] == "'" and cell[1:2] in _FORMULA_STARTS | {"'"}:
        return cell[1:]
    return cell


def read(path: Path, *, skip_invalid: bool = False) -> ReadResult:
    """Read every CSV under `path` that has the TF Object Detection API columns."""
    index = ImageIndex(path)
    log = SkipLog(skip_invalid)
    rows: dict[str, _ImageRows] = {}
    tables = [p for p in walk_files(path) if p.suffix.lower() == ".csv"]
    if not tables:
        raise FormatError("missing_file", f"no CSV file with columns {','.join(COLUMNS)} found")
    for table in tables:
        try:
            _read_table(table, relative_key(table, path), index, rows, log)
        except FormatError as error:
            log.reject(error)
    images = []
    for key, source in sorted(index.by_key.items()):
        if key in rows:
            images.append(rows[key].image(key, source))
            continue
        try:
            images.append(DatasetImage(key, *image_size(source, key), source=source))
        except FormatError as error:
            log.reject(error)
    labels = sorted({box.label for image in images for box in image.boxes})
    return ReadResult(Dataset("localization", labels, images), log.skipped)


class _ImageRows:
    """The rows seen so far for one image."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size
        self.boxes: list[Box] = []
        self.records = 0

    def image(self, key: str, source: Path) -> DatasetImage:
        negative = self.records == 0 and not self.boxes
        return DatasetImage(key, *self.size, self.boxes, negative=negative, source=source)


def _read_table(table: Path, file: str, index: ImageIndex, rows: dict[str, _ImageRows], log: SkipLog) -> None:
    try:
        text = table.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError("bad_encoding", f"not UTF-8 text: {exc.reason}", file=file) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise FormatError("missing_field", f"CSV lacks columns {', '.join(missing)}", file, 1, missing[0])
    for row in reader:
        where = Where(file, reader.line_num)
        try:
            _read_row(row, where, index, rows)
        except FormatError as error:
            log.reject(error)


def _read_row(row: dict[str, str], where: Where, index: ImageIndex, rows: dict[str, _ImageRows]) -> None:
    name = unneutralise(row["filename"] or "")
    key = index.find(name)
    if key is None:
        raise where.error("missing_image", f"no image file {name!r}", "filename")
    size = (positive_int(row["width"], where, "width"), positive_int(row["height"], where, "height"))
    entry = rows.setdefault(key, _ImageRows(size))
    if entry.size != size:
        raise where.error("bad_size", f"{key} was {entry.size[0]}x{entry.size[1]} in an earlier row", "width")
    cells = [(row[column] or "").strip() for column in _BOX_COLUMNS]
    label_cell = unneutralise(row["class"] or "")
    if not label_cell.strip() and not any(cells):
        return
    entry.records += 1
    label = checked_label(label_cell, where, "class")
    x, y, x2, y2 = (number(cell, where, column) for cell, column in zip(cells, _BOX_COLUMNS, strict=True))
    entry.boxes.append(pixel_box(label, (x, y, x2, y2), size, where, _BOX_COLUMNS))


def write(dataset: Dataset, out: Path, *, image_bytes: ImageBytes | None = None) -> None:
    """Write `annotations.csv` (and `images/<key>` with bytes)."""
    if dataset.type != "localization":
        raise FormatError("unsupported_type", "CSV boxes hold localization datasets")
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for image in dataset.images:
        if not image.labelled:
            continue
        head = [neutralise(image.key), image.width, image.height]
        if image.negative:
            writer.writerow([*head, "", "", "", "", ""])
        for box in image.boxes:
            pixels = (box.x * image.width, box.y * image.height, box.x2 * image.width, box.y2 * image.height)
            writer.writerow([*head, neutralise(box.label), *(pixel_text(v) for v in pixels)])
    write_file(out, FILENAME, buffer.getvalue().encode())
    write_images(out, dataset.images, image_bytes, "images")
