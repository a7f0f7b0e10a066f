"""Benchmark: parse a 10,000-image Pascal VOC dataset and export it to COCO and TFRecord.

The 400 labelImg XML files of the shared raccoon and playing-card datasets are
re-issued under new file names until there are 10,000, each paired with a symlink
to its real JPEG, in a temporary folder. Parsing reads every XML (sizes come from
the XML, so no image is opened); the exports write the real image bytes.

    .venv/bin/python bench/formats_voc_10k.py [--images 10000]
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from PIL import Image  # noqa: E402

from annotator.formats import DatasetImage, read_dataset, write_dataset  # noqa: E402

SHARED = REPO_ROOT.parent / "shared" / "data"
_FILENAME = re.compile(r"<filename>[^<]*</filename>")


def _sources() -> list[tuple[str, Path]]:
    """(XML text, image path) for every shared labelImg annotation."""
    pairs = []
    for xml in sorted((SHARED / "raccoon" / "annotations").glob("*.xml")):
        pairs.append((xml.read_text(), SHARED / "raccoon" / "images" / f"{xml.stem}.jpg"))
    for xml in sorted((SHARED / "playing-cards").glob("*/*.xml")):
        image = next(p for p in xml.parent.iterdir() if p.stem == xml.stem and p.suffix.lower() == ".jpg")
        pairs.append((xml.read_text(), image))
    return pairs


def synthesise(root: Path, count: int) -> None:
    sources = _sources()
    (root / "annotations").mkdir(parents=True)
    (root / "images").mkdir()
    for i in range(count):
        text, image = sources[i % len(sources)]
        name = f"img{i:05d}.jpg"
        (root / "annotations" / f"img{i:05d}.xml").write_text(_FILENAME.sub(f"<filename>{name}</filename>", text))
        (root / "images" / name).symlink_to(image)


def _tiny_jpeg() -> bytes:
    """A stand-in image, to time the encoding apart from checksumming large bytes."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "JPEG")
    return buffer.getvalue()


def timed(action: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    count = parser.parse_args().images
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "voc"
        synthesise(root, count)
        parse_times = []
        for _ in range(3):
            seconds, result = timed(lambda: read_dataset(root, "voc"))
            parse_times.append(seconds)
        dataset = result.dataset  # type: ignore[attr-defined]
        boxes = sum(len(image.boxes) for image in dataset.images)

        def real_bytes(image: DatasetImage) -> bytes:
            return image.source.read_bytes()  # type: ignore[union-attr]

        megabytes = sum(image.source.stat().st_size for image in dataset.images) / 1e6  # type: ignore[union-attr]
        coco_s, _ = timed(lambda: write_dataset(dataset, Path(tmp) / "coco", "coco", image_bytes=real_bytes))
        tfr_s, _ = timed(lambda: write_dataset(dataset, Path(tmp) / "tfr", "tfrecord", image_bytes=real_bytes))
        tiny = _tiny_jpeg()
        tiny_s, _ = timed(
            lambda: write_dataset(dataset, Path(tmp) / "tfr-tiny", "tfrecord", image_bytes=lambda _: tiny)
        )

    rows = [
        ("VOC parse (annotations only), best of 3", min(parse_times)),
        ("VOC parse, median of 3", sorted(parse_times)[1]),
        (f"COCO export with image bytes ({megabytes:,.0f} MB)", coco_s),
        (f"TFRecord export with image bytes ({megabytes:,.0f} MB)", tfr_s),
        (f"TFRecord export, {len(tiny)} B stand-in JPEG per image", tiny_s),
    ]
    print(f"{count:,} images, {boxes:,} boxes, {len(dataset.labels)} classes")
    print(f"{'step':<56} {'seconds':>8} {'images/s':>10}")
    for name, seconds in rows:
        print(f"{name:<56} {seconds:>8.2f} {count / seconds:>10,.0f}")


if __name__ == "__main__":
    main()
