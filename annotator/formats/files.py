"""Finding images in an extracted dataset, their sizes, and writing files safely.

Keys are POSIX paths relative to the dataset's image root: the `images/` (or
`JPEGImages/`) folder when every image sits under one, else the dataset root. So
`raccoon/images/raccoon-1.jpg` and `cards/train/IMG_1.JPG` get the keys a person
would expect (`raccoon-1.jpg`, `train/IMG_1.JPG`), and a writer that puts images
under `images/` reads back with the same keys.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

from PIL import Image, UnidentifiedImageError

from .checks import SkipLog
from .dataset import DatasetImage, FormatError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
IMAGE_DIR_NAMES = frozenset({"images", "jpegimages"})
_IGNORED_DIRS = frozenset({"__macosx"})
_EXIF_ORIENTATION = 0x0112
_TRANSPOSED_ORIENTATIONS = frozenset({5, 6, 7, 8})

ImageBytes = Callable[[DatasetImage], bytes]


def walk_files(root: Path) -> Iterator[Path]:
    """Every regular file under root, sorted, skipping hidden files and macOS debris."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d.lower() not in _IGNORED_DIRS)
        base = Path(dirpath)
        for name in sorted(filenames):
            if not name.startswith("."):
                yield base / name


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def relative_key(path: Path, base: Path) -> str:
    return path.relative_to(base).as_posix()


def image_root(root: Path, images: list[Path]) -> Path:
    """The folder keys are relative to: a shared `images/` folder, else root itself."""
    tops = {p.relative_to(root).parts[0] for p in images if len(p.relative_to(root).parts) > 1}
    flat = any(len(p.relative_to(root).parts) == 1 for p in images)
    if len(tops) == 1 and not flat:
        top = tops.pop()
        if top.lower() in IMAGE_DIR_NAMES:
            return root / top
    return root


class ImageIndex:
    """The images of a dataset, addressable by key, by file name and by stem.

    Formats name images loosely (VOC's `<filename>`, CSV's bare names, stems when the
    extension is missing or differs in case), so lookups try the exact key first and
    fall back to a name that matches exactly one image.
    """

    def __init__(self, root: Path, *, strip_image_dir: bool = True) -> None:
        paths = [p for p in walk_files(root) if is_image(p)]
        self.root = root
        self.base = image_root(root, paths) if strip_image_dir else root
        self.by_key: dict[str, Path] = {relative_key(p, self.base): p for p in paths}
        self._by_name: dict[str, list[str]] = {}
        self._by_stem: dict[str, list[str]] = {}
        for key in self.by_key:
            name = PurePosixPath(key).name
            self._by_name.setdefault(name.lower(), []).append(key)
            self._by_stem.setdefault(PurePosixPath(key).stem.lower(), []).append(key)

    def find(self, name: str, near: str = "") -> str | None:
        """The key for a file name or relative path, preferring images in folder `near`."""
        name = name.replace("\\", "/")
        if not name:
            return None
        if name in self.by_key:
            return name
        joined = f"{near}/{name}" if near else name
        if joined in self.by_key:
            return joined
        base = PurePosixPath(name).name.lower()
        return self._pick(self._by_name.get(base, []), name, near)

    def find_stem(self, stem: str, near: str = "") -> str | None:
        return self._pick(self._by_stem.get(stem.lower(), []), stem, near)

    @staticmethod
    def _pick(keys: list[str], name: str, near: str) -> str | None:
        if len(keys) <= 1:
            return keys[0] if keys else None
        exact = [k for k in keys if PurePosixPath(k).name == PurePosixPath(name).name]
        if len(exact) == 1:
            return exact[0]
        local = [k for k in keys if str(PurePosixPath(k).parent) == (near or ".")]
        return local[0] if len(local) == 1 else None


def with_unannotated(index: ImageIndex, annotated: dict[str, DatasetImage], log: SkipLog) -> list[DatasetImage]:
    """Every image of the index in key order: the annotated ones as read, the others as
    unlabelled at their header size (an unreadable one is rejected through `log`)."""
    images = []
    for key, source in sorted(index.by_key.items()):
        if key in annotated:
            images.append(annotated[key])
            continue
        try:
            images.append(DatasetImage(key, *image_size(source, key), source=source))
        except FormatError as error:
            log.reject(error)
    return images


def image_size(path: Path, file: str) -> tuple[int, int]:
    """Displayed (width, height) from the image header, without decoding the pixels.

    EXIF orientations 5-8 rotate by 90 degrees, and boxes are drawn on the image as
    displayed, so width and height are swapped for them.
    """
    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        raise FormatError("bad_image", f"cannot read the image header: {exc}", file=file) from None
    if orientation in _TRANSPOSED_ORIENTATIONS:
        return height, width
    return width, height


def safe_relpath(key: str) -> PurePosixPath:
    """A key as a relative path that cannot leave the output folder."""
    path = PurePosixPath(key)
    bad = (
        not key
        or "\\" in key
        or path.is_absolute()
        or any(part in ("", ".", "..") for part in key.split("/"))
        or any(ord(char) < 32 for char in key)
    )
    if bad:
        raise FormatError("unsafe_key", f"image key {key!r} is not a safe relative path", file=key)
    return path


def write_file(out: Path, relpath: PurePosixPath | str, data: bytes) -> None:
    target = out.joinpath(*PurePosixPath(relpath).parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def write_images(out: Path, images: list[DatasetImage], image_bytes: ImageBytes | None, folder: str = "") -> None:
    """Write each image's bytes at `<folder>/<key>` when the caller supplies bytes."""
    if image_bytes is None:
        return
    for image in images:
        write_file(out, PurePosixPath(folder, safe_relpath(image.key)), image_bytes(image))


def required_bytes(image: DatasetImage, image_bytes: ImageBytes | None) -> bytes:
    """Bytes for formats that embed the image itself: from the callback, else the source."""
    if image_bytes is not None:
        return image_bytes(image)
    if image.source is not None:
        return image.source.read_bytes()
    raise FormatError("missing_image", "this format needs the image bytes", file=image.key)


def dataset_root(path: Path) -> Path:
    """Step into wrapper folders: zips often hold one folder around the dataset.

    A lone folder is stepped into only when it holds no images itself; otherwise
    it is the single class of a class-folder dataset.
    """
    while True:
        entries = [
            entry
            for entry in path.iterdir()
            if not entry.name.startswith(".") and entry.name.lower() not in _IGNORED_DIRS
        ]
        if len(entries) != 1 or not entries[0].is_dir():
            return path
        if any(is_image(child) for child in entries[0].iterdir() if child.is_file()):
            return path
        path = entries[0]
