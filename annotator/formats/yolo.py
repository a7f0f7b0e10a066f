"""YOLO text labels: one `class x_center y_center width height` line per box (0..1).

Read in both common layouts: labelImg's (`.txt` next to each image plus
`classes.txt`) and Ultralytics' (`images/...` mirrored by `labels/...`, names in
`data.yaml`). An empty label file is a negative image; an image without one is
unlabelled. Image sizes come from the image headers, since YOLO does not store them.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

from .checks import SkipLog, Where, checked_label, normalised_box, number
from .dataset import Box, Dataset, DatasetImage, FormatError, ReadResult
from .files import ImageBytes, ImageIndex, image_size, relative_key, safe_relpath, walk_files, write_file
from .yamlnames import read_names

FORMAT_ID = "yolo"
CLASSES_FILE = "classes.txt"
_LINE_FIELDS = ("x_center", "y_center", "width", "height")
_EDGE_FIELDS = ("x_center-width/2", "y_center-height/2", "x_center+width/2", "y_center+height/2")


def read(path: Path, *, skip_invalid: bool = False) -> ReadResult:
    """Pair every image with its label file and size it from its header."""
    names = class_names(path)
    index = ImageIndex(path)
    log = SkipLog(skip_invalid)
    claimed: set[Path] = set()
    images = []
    for key, source in sorted(index.by_key.items()):
        try:
            size = image_size(source, key)
        except FormatError as error:
            log.reject(error)
            continue
        label_file = _label_file(source, path)
        if label_file is None:
            images.append(DatasetImage(key, *size, source=source))
            continue
        claimed.add(label_file)
        where = Where(relative_key(label_file, path))
        boxes, negative = _read_label_file(label_file, where, size, names, log)
        images.append(DatasetImage(key, *size, boxes, negative=negative, source=source))
    _reject_orphans(path, claimed, log)
    return ReadResult(Dataset("localization", list(dict.fromkeys(names)), images), log.skipped)


def class_names(path: Path) -> list[str]:
    """Names by class id, from `classes.txt` or else a YAML file with `names`."""
    files = list(walk_files(path))
    for file_path in files:
        if file_path.name.lower() == CLASSES_FILE:
            return _classes_txt(file_path, relative_key(file_path, path))
    for file_path in files:
        if file_path.suffix.lower() in (".yaml", ".yml"):
            text = _text(file_path, relative_key(file_path, path))
            if "names" in text:
                names = read_names(text, relative_key(file_path, path))
                where = Where(relative_key(file_path, path))
                return [checked_label(name, where, f"names[{i}]") for i, name in enumerate(names)]
    raise FormatError("missing_file", "YOLO needs classes.txt or a data.yaml with `names`")


def _classes_txt(file_path: Path, file: str) -> list[str]:
    lines = _text(file_path, file).split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    return [checked_label(line, Where(file, n), "class name") for n, line in enumerate(lines, 1)]


def _text(file_path: Path, file: str) -> str:
    try:
        return file_path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError("bad_encoding", f"not UTF-8 text: {exc.reason}", file=file) from None


def _label_file(image: Path, root: Path) -> Path | None:
    """`a.jpg` -> `a.txt` beside it, or the same path with `images/` swapped for `labels/`."""
    beside = image.with_suffix(".txt")
    if beside.is_file():
        return beside
    parts = list(image.relative_to(root).parts)
    for i in reversed(range(len(parts) - 1)):
        if parts[i].lower() == "images":
            mirrored = root.joinpath(*parts[:i], "labels", *parts[i + 1 :]).with_suffix(".txt")
            if mirrored.is_file():
                return mirrored
    return None


def _read_label_file(
    file_path: Path, where: Where, size: tuple[int, int], names: list[str], log: SkipLog
) -> tuple[list[Box], bool]:
    """Boxes of one label file and whether it is a negative (no lines at all)."""
    try:
        lines = _text(file_path, where.file).split("\n")
    except FormatError as error:
        log.reject(error)
        return [], False
    boxes, records = [], 0
    for number_, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        records += 1
        try:
            boxes.append(_parse_line(line, Where(where.file, number_), size, names))
        except FormatError as error:
            log.reject(error)
    return boxes, records == 0


def _parse_line(line: str, where: Where, size: tuple[int, int], names: list[str]) -> Box:
    tokens = line.split()
    if len(tokens) != 5:
        raise where.error("bad_value", f"expected `class x_center y_center width height`, got {line.strip()!r}")
    class_id = number(tokens[0], where, "class")
    if class_id != int(class_id) or not 0 <= class_id < len(names):
        raise where.error("unknown_class", f"class id {tokens[0]} is not in 0..{len(names) - 1}", "class")
    cx, cy, w, h = (number(t, where, f) for t, f in zip(tokens[1:], _LINE_FIELDS, strict=True))
    if w <= 0 or h <= 0:
        raise where.error("degenerate_box", f"box has no area: width={tokens[3]}, height={tokens[4]}", "width")
    coords = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    return normalised_box(names[int(class_id)], coords, size, where, _EDGE_FIELDS)


def _reject_orphans(root: Path, claimed: set[Path], log: SkipLog) -> None:
    """Label files that no image claims are boxes for missing images."""
    for file_path in walk_files(root):
        if file_path.suffix.lower() != ".txt" or file_path in claimed:
            continue
        if file_path.name.lower() == CLASSES_FILE:
            continue
        text = file_path.read_bytes().decode("utf-8", "replace")
        first = next((line for line in text.split("\n") if line.strip()), "")
        tokens = first.split()
        if len(tokens) == 5 and all(_is_number(token) for token in tokens):
            file = relative_key(file_path, root)
            log.reject(FormatError("missing_image", "label file has no matching image", file, 1))


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def write(dataset: Dataset, out: Path, *, image_bytes: ImageBytes | None = None) -> None:
    """Write Ultralytics layout: `images/`, `labels/`, `classes.txt` and `data.yaml`.

    YOLO pairs an image with its labels by stem, so of two keys that differ only by
    extension the later one is exported as `<stem>_<ext>.<ext>`.
    """
    if dataset.type != "localization":
        raise FormatError("unsupported_type", "YOLO labels hold boxes, not classification")
    ids = {label: i for i, label in enumerate(dataset.labels)}
    for image, exported in zip(dataset.images, _export_keys(dataset.images), strict=True):
        if image.labelled:
            lines = [_line(box, ids[box.label]) for box in image.boxes]
            text = "".join(f"{line}\n" for line in lines)
            write_file(out, PurePosixPath("labels", exported).with_suffix(".txt"), text.encode())
        if image_bytes is not None:
            write_file(out, PurePosixPath("images", exported), image_bytes(image))
    write_file(out, CLASSES_FILE, "".join(f"{label}\n" for label in dataset.labels).encode())
    write_file(out, "data.yaml", _data_yaml(dataset.labels).encode())


def _export_keys(images: list[DatasetImage]) -> list[PurePosixPath]:
    taken: set[str] = set()
    keys = []
    for image in images:
        key = safe_relpath(image.key)
        candidate, counter = key, 1
        while str(candidate.with_suffix("")).casefold() in taken:
            counter += 1
            tag = key.suffix.lstrip(".") if counter == 2 else f"{key.suffix.lstrip('.')}{counter}"
            candidate = key.with_name(f"{key.stem}_{tag}{key.suffix}")
        taken.add(str(candidate.with_suffix("")).casefold())
        keys.append(candidate)
    return keys


def _line(box: Box, class_id: int) -> str:
    cx, cy = (box.x + box.x2) / 2, (box.y + box.y2) / 2
    return f"{class_id} {cx:.6f} {cy:.6f} {box.x2 - box.x:.6f} {box.y2 - box.y:.6f}"


def _data_yaml(labels: list[str]) -> str:
    names = "".join(f"  {i}: {json.dumps(label, ensure_ascii=False)}\n" for i, label in enumerate(labels))
    return f"path: .\ntrain: images\nval: images\nnc: {len(labels)}\nnames:\n{names}"
