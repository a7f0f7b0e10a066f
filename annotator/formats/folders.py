"""Classification as one folder per class.

Layout (read and written):
    <class folder>/<key>      the image has that class
    _negative/<key>           negative (none of the classes)
    _unlabelled/<key>         not labelled yet; images loose at the root count too
    _labels.json              optional: [{"label", "folder"}] in label order

Class names become folder names through `names.unique_names` (safe on every OS);
`_labels.json` records the exact label of each folder so the export reads back
unchanged, and without it folder names are the labels. Keys are relative to the
class folder, so an image with several classes is written once per class and read
back as one image. If two *different* files would share a key (`cat/1.jpg` and
`dog/1.jpg` in a dataset made elsewhere), every key keeps its folder instead.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath
from typing import Any

from .checks import SkipLog, Where, checked_label, shown
from .dataset import Dataset, DatasetImage, FormatError, ReadResult
from .files import ImageBytes, image_size, is_image, relative_key, required_bytes, safe_relpath, walk_files, write_file
from .jsonfile import load_json
from .names import unique_names

FORMAT_ID = "folders"
NEGATIVE_DIR = "_negative"
UNLABELLED_DIR = "_unlabelled"
LABELS_FILE = "_labels.json"
_RESERVED = (NEGATIVE_DIR, UNLABELLED_DIR, LABELS_FILE)

# (folder or "" for the root, key within the folder, file)
_Entry = tuple[str, str, Path]


def read(path: Path, *, skip_invalid: bool = False) -> ReadResult:
    """Read class folders under `path`; image sizes come from the headers."""
    folder_labels = _folder_labels(path)
    log = SkipLog(skip_invalid)
    entries: list[_Entry] = []
    bad_folders: set[str] = set()
    for file_path in walk_files(path):
        if not is_image(file_path):
            continue
        parts = file_path.relative_to(path).parts
        folder = parts[0] if len(parts) > 1 else ""
        if folder not in ("", NEGATIVE_DIR, UNLABELLED_DIR, *folder_labels, *bad_folders):
            try:
                folder_labels[folder] = checked_label(folder, Where(folder), "folder name")
            except FormatError as error:
                log.reject(error)
                bad_folders.add(folder)
        if folder not in bad_folders:
            entries.append((folder, "/".join(parts[1:]) if folder else parts[0], file_path))
    labels = list(dict.fromkeys(folder_labels.values()))
    images = []
    for key, group in sorted(_keyed(entries).items()):
        try:
            images.append(_image(key, group, folder_labels, labels, path))
        except FormatError as error:
            log.reject(error)
    return ReadResult(Dataset("classification", labels, images), log.skipped)


def _folder_labels(path: Path) -> dict[str, str]:
    """Folder -> label from `_labels.json`, in label order (empty when absent)."""
    if not (path / LABELS_FILE).is_file():
        return {}
    doc: Any = load_json(path / LABELS_FILE, LABELS_FILE)
    where = Where(LABELS_FILE)
    if not isinstance(doc, list):
        raise where.error("bad_json", "expected a list of {label, folder}")
    mapping: dict[str, str] = {}
    for i, item in enumerate(doc):
        folder = item.get("folder") if isinstance(item, dict) else None
        if not isinstance(folder, str) or folder in _RESERVED or "/" in folder or not folder:
            raise where.error("bad_value", f"bad folder name {shown(folder)}", f"[{i}].folder")
        mapping[folder] = checked_label(item.get("label"), where, f"[{i}].label")
    return mapping


def _keyed(entries: list[_Entry]) -> dict[str, list[_Entry]]:
    """Group entries by key; fall back to folder-qualified keys if names clash."""
    groups: dict[str, list[_Entry]] = {}
    for entry in entries:
        groups.setdefault(entry[1], []).append(entry)
    if all(_same_file(group) for group in groups.values()):
        return groups
    return {f"{folder}/{key}" if folder else key: [(folder, key, path)] for folder, key, path in entries}


def _same_file(group: list[_Entry]) -> bool:
    if len(group) == 1:
        return True
    sizes = {path.stat().st_size for _, _, path in group}
    if len(sizes) > 1:
        return False
    return len({hashlib.sha256(path.read_bytes()).digest() for _, _, path in group}) == 1


def _image(key: str, group: list[_Entry], folder_labels: dict[str, str], labels: list[str], root: Path) -> DatasetImage:
    folders = {folder for folder, _, _ in group}
    source = group[0][2]
    size = image_size(source, relative_key(source, root))
    names = {folder_labels[f] for f in folders if f in folder_labels}
    negative = NEGATIVE_DIR in folders
    if negative and names:
        raise FormatError("duplicate_image", f"{key} is both negative and labelled", file=key)
    ordered = [label for label in labels if label in names]
    return DatasetImage(key, *size, labels=ordered, negative=negative, source=source)


def write(dataset: Dataset, out: Path, *, image_bytes: ImageBytes | None = None) -> None:
    """Write each image into its class folders (bytes from `image_bytes` or the source)."""
    if dataset.type != "classification":
        raise FormatError("unsupported_type", "class folders hold classification datasets")
    folders = unique_names(dataset.labels, reserved=_RESERVED)
    for image in dataset.images:
        key = safe_relpath(image.key)
        data = required_bytes(image, image_bytes)
        targets = [folders[label] for label in image.labels]
        if not targets:
            targets = [NEGATIVE_DIR if image.negative else UNLABELLED_DIR]
        for folder in targets:
            write_file(out, PurePosixPath(folder, key), data)
    mapping = [{"label": label, "folder": folders[label]} for label in dataset.labels]
    write_file(out, LABELS_FILE, json.dumps(mapping, ensure_ascii=False, indent=1).encode())
