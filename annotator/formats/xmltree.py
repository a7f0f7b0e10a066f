"""A tiny XML tree with line numbers, parsed only through defusedxml.

ElementTree forgets where an element was; import errors must say which line to fix,
so this builds its own minimal tree from defusedxml's SAX parser, which refuses
entity declarations (billion laughs) and external references (XXE).
"""

from __future__ import annotations

import xml.sax
from dataclasses import dataclass, field
from xml.sax.handler import ContentHandler
from xml.sax.xmlreader import Locator

from defusedxml import DefusedXmlException
from defusedxml.sax import parseString

from .dataset import FormatError


@dataclass(slots=True)
class XmlNode:
    tag: str
    line: int
    text: str = ""
    children: list[XmlNode] = field(default_factory=list)

    def find(self, tag: str) -> XmlNode | None:
        for child in self.children:
            if child.tag == tag:
                return child
        return None

    def findall(self, tag: str) -> list[XmlNode]:
        return [child for child in self.children if child.tag == tag]

    def findtext(self, tag: str) -> str | None:
        child = self.find(tag)
        return None if child is None else child.text.strip()


class _TreeBuilder(ContentHandler):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[XmlNode] = []
        self.root: XmlNode | None = None
        self._text: list[list[str]] = []
        self._locator: Locator | None = None  # ContentHandler's own, set by setDocumentLocator

    def startElement(self, name: str, attrs: object) -> None:
        line = self._locator.getLineNumber() if self._locator else None
        node = XmlNode(name, line or 0)
        if self.stack:
            self.stack[-1].children.append(node)
        else:
            self.root = node
        self.stack.append(node)
        self._text.append([])

    def endElement(self, name: str) -> None:
        self.stack.pop().text = "".join(self._text.pop())

    def characters(self, content: str) -> None:
        if self._text:
            self._text[-1].append(content)


def parse_xml(data: bytes, file: str) -> XmlNode:
    """Parse `data` or raise FormatError: `bad_xml` with its line, or `unsafe_xml`."""
    builder = _TreeBuilder()
    try:
        parseString(data, builder, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise FormatError(
            "unsafe_xml", f"XML entities and external references are refused ({exc})", file=file
        ) from None
    except xml.sax.SAXParseException as exc:
        raise FormatError(
            "bad_xml", f"malformed XML: {exc.getMessage()}", file=file, line=exc.getLineNumber()
        ) from None
    if builder.root is None:
        raise FormatError("bad_xml", "the XML document is empty", file=file)
    return builder.root
