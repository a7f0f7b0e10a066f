"""Pascal VOC XML, as labelImg writes it.

Two layouts are read: XML in its own folder (`annotations/` + `images/`) and XML
next to each image. An XML file names its image with `<filename>`; when that does
not match (renamed files, missing extension) the XML's stem is tried. `<path>` is
ignored: it holds the labeller's own absolute path. Pixel coordinates are taken as
written (labelImg writes them as-is), so imported boxes are within half a pixel of
the XML. An XML with no `<object>` is a negative (background) image; an image with
no XML is unlabelled.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath

from .checks import SkipLog, Where, checked_label, number, pixel_box, pixel_text, positive_int
from .dataset import Box, Dataset, DatasetImage, FormatError, ReadResult
from .files import (
    ImageBytes,
    ImageIndex,
    image_size,
    relative_key,
    safe_relpath,
    walk_files,
    with_unannotated,
    write_file,
    write_images,
)
from .xmltree import XmlNode, parse_xml

FORMAT_ID = "voc"
_ANNOTATION_DIRS = frozenset({"annotations", "xml", "xmls", "labels"})
_BOX_FIELDS = ("xmin", "ymin", "xmax", "ymax")


def read(path: Path, *, skip_invalid: bool = False) -> ReadResult:
    """Read every `*.xml` under `path` and pair it with its image."""
    index = ImageIndex(path)
    log = SkipLog(skip_invalid)
    annotated: dict[str, DatasetImage] = {}
    for xml_path in walk_files(path):
        if xml_path.suffix.lower() != ".xml":
            continue
        file = relative_key(xml_path, path)
        try:
            image = _read_xml(xml_path, file, index, log)
            if image.key in annotated:
                raise FormatError("duplicate_image", f"{image.key} has two XML files", file=file)
        except FormatError as error:
            log.reject(error)
            continue
        annotated[image.key] = image
    images = with_unannotated(index, annotated, log)
    labels = sorted({box.label for image in images for box in image.boxes})
    return ReadResult(Dataset("localization", labels, images), log.skipped)


def _read_xml(xml_path: Path, file: str, index: ImageIndex, log: SkipLog) -> DatasetImage:
    root = parse_xml(xml_path.read_bytes(), file)
    if root.tag != "annotation":
        raise FormatError("bad_xml", f"root element is <{root.tag}>, not <annotation>", file, 1)
    key = _match_image(root, xml_path, file, index)
    source = index.by_key[key]
    width, height = _size(root, file, source)
    objects = root.findall("object")
    boxes: list[Box] = []
    for number_, obj in enumerate(objects):
        try:
            boxes.append(_object_box(obj, f"object[{number_}]", (width, height), file))
        except FormatError as error:
            log.reject(error)
    return DatasetImage(key, width, height, boxes, negative=not objects, source=source)


def _match_image(root: XmlNode, xml_path: Path, file: str, index: ImageIndex) -> str:
    near = _near(xml_path, index)
    filename = root.findtext("filename") or ""
    key = index.find(filename, near) if filename else None
    for stem in (PurePosixPath(filename.replace("\\", "/")).stem, xml_path.stem):
        if key is None and stem:
            key = index.find_stem(stem, near)
    if key is None:
        node = root.find("filename")
        raise FormatError(
            "missing_image",
            f"no image found for <filename>{filename}</filename> or the stem {xml_path.stem!r}",
            file=file,
            line=None if node is None else node.line,
            field="filename",
        )
    return key


def _near(xml_path: Path, index: ImageIndex) -> str:
    """The key folder where this XML's image should be: its own folder, mirrored."""
    folder = xml_path.parent
    if folder.is_relative_to(index.base):
        near = relative_key(folder, index.base)
        return "" if near == "." else near
    parts = folder.relative_to(index.root).parts
    if parts and parts[0].lower() in _ANNOTATION_DIRS:
        parts = parts[1:]
    return "/".join(parts)


def _size(root: XmlNode, file: str, source: Path) -> tuple[int, int]:
    size = root.find("size")
    if size is None or not size.findtext("width") or size.findtext("width") == "0":
        return image_size(source, file)
    where = Where(file, size.line)
    width = positive_int(size.findtext("width"), where, "size.width")
    height = positive_int(size.findtext("height"), where, "size.height")
    return width, height


def _object_box(obj: XmlNode, field: str, size: tuple[int, int], file: str) -> Box:
    name_node = obj.find("name")
    name_line = obj.line if name_node is None else name_node.line
    label = checked_label(obj.findtext("name"), Where(file, name_line), f"{field}.name")
    bndbox = obj.find("bndbox")
    if bndbox is None:
        raise FormatError("missing_field", "object has no <bndbox>", file, obj.line, field)
    coords, lines = [], {}
    for name in _BOX_FIELDS:
        node = bndbox.find(name)
        where = Where(file, bndbox.line if node is None else node.line)
        text = None if node is None else node.text.strip()
        coords.append(number(text, where, f"{field}.bndbox.{name}"))
        lines[f"{field}.bndbox.{name}"] = where.line
    x, y, x2, y2 = coords
    try:
        return pixel_box(label, (x, y, x2, y2), size, Where(file, bndbox.line), tuple(lines))  # type: ignore[arg-type]
    except FormatError as error:
        error.line = lines.get(error.field or "", error.line)
        raise


def write(dataset: Dataset, out: Path, *, image_bytes: ImageBytes | None = None) -> None:
    """Write `annotations/<stem>.xml` per labelled image (and `images/<key>` with bytes)."""
    if dataset.type != "localization":
        raise FormatError("unsupported_type", "Pascal VOC holds boxes, not classification")
    labelled = [image for image in dataset.images if image.labelled]
    for image, relpath in zip(labelled, _xml_paths(labelled), strict=True):
        write_file(out, PurePosixPath("annotations", relpath), _to_xml(image))
    write_images(out, dataset.images, image_bytes, "images")


def _xml_paths(images: list[DatasetImage]) -> list[PurePosixPath]:
    """`a.jpg` -> `a.xml`, unless another image shares the stem: then `a.jpg.xml`."""
    stems = [safe_relpath(image.key).with_suffix(".xml") for image in images]
    counts: dict[str, int] = {}
    for stem in stems:
        counts[str(stem).casefold()] = counts.get(str(stem).casefold(), 0) + 1
    return [
        stem if counts[str(stem).casefold()] == 1 else PurePosixPath(f"{image.key}.xml")
        for stem, image in zip(stems, images, strict=True)
    ]


def _to_xml(image: DatasetImage) -> bytes:
    key = PurePosixPath(image.key)
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = key.parent.name or "images"
    ET.SubElement(root, "filename").text = key.name
    ET.SubElement(ET.SubElement(root, "source"), "database").text = "Unknown"
    size = ET.SubElement(root, "size")
    for name, value in (("width", image.width), ("height", image.height), ("depth", 3)):
        ET.SubElement(size, name).text = str(value)
    ET.SubElement(root, "segmented").text = "0"
    for box in image.boxes:
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = box.label
        for name, text in (("pose", "Unspecified"), ("truncated", "0"), ("difficult", "0")):
            ET.SubElement(obj, name).text = text
        bndbox = ET.SubElement(obj, "bndbox")
        values = (box.x * image.width, box.y * image.height, box.x2 * image.width, box.y2 * image.height)
        for name, pixels in zip(_BOX_FIELDS, values, strict=True):
            ET.SubElement(bndbox, name).text = pixel_text(pixels)
    ET.indent(root, "\t")
    return ET.tostring(root, encoding="utf-8", xml_declaration=False) + b"\n"
