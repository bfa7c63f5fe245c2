"""A big .xlsx worksheet loaded on two cores: its rows cut in two halves, parsed at once.

calamine parses a whole worksheet before it gives the first row, on one core (an
import's writer has nothing to do meanwhile). calamine lets go of the GIL while it
parses, so two threads can parse two workbooks at once: the sheet's XML is inflated
as a stream and cut before the row nearest its middle, and each half becomes the
only sheet of a workbook with the original's workbook settings, styles and shared
strings (a private temporary file, deleted once parsed: calamine reads a file as it
parses, so memory stays what the whole load takes). The first half starts parsing
while the rest is still being inflated. Each row element keeps its ``r`` attribute,
so both halves know their row numbers and line numbers stay exact; the cut is only
ever before a row that has one.

:func:`load_halves` returns None for what it does not cut (a small sheet, an
unusual package layout, a chart sheet, rows without numbers): the caller then loads
the sheet whole, as before.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from python_calamine import CalamineSheet

#: sheets with less XML than this load whole (the halves would save little)
SPLIT_BYTES = 4 * 1024 * 1024
#: bytes inflated at a time until the middle
READ_BYTES = 1024 * 1024

_STRINGS = "xl/sharedStrings.xml"
_WORKBOOK = "xl/workbook.xml"
_RELS = "xl/_rels/workbook.xml.rels"
#: package parts calamine reads besides the sheet (at these fixed names)
_PACKAGE = ("[Content_Types].xml", "_rels/.rels", _WORKBOOK, _RELS, "xl/styles.xml", _STRINGS)
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_WORKSHEET = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
_NAME = rb"(?:[A-Za-z_][\w.-]*:)?"
_SHEET_DATA = re.compile(rb"<(" + _NAME + rb")sheetData\b[^>]*?(/?)>")
_ROOT = re.compile(rb"<(" + _NAME + rb"worksheet)\b")
_ROW_NUMBER = re.compile(rb"\sr=\"\d+\"")
_SHEETS = re.compile(rb"<(" + _NAME + rb")sheets\b[^>]*>.*?</\1sheets>", re.DOTALL)
_RELS_END = b"</Relationships>"
_HALF_SHEET = b"oi-half"


@dataclass
class Half:
    """One half of the sheet, as calamine holds it."""

    sheet: CalamineSheet

    @property
    def line(self) -> int:
        """The line (1-based row number) of the first row."""
        return (self.sheet.start or (0, 0))[0] + 1

    @property
    def col(self) -> int:
        """The first column (0-based): calamine starts each row there."""
        return (self.sheet.start or (0, 0))[1]

    @property
    def width(self) -> int:
        """Columns from :attr:`col` to the last used one: the length of each row."""
        return int(self.sheet.width) if self.sheet.start else 0

    def rows(self) -> Iterator[list[Any]]:
        """Every row of the half, from :attr:`line` ("" for an empty cell), one at a time."""
        if self.sheet.start is None:
            return iter(())
        # iter_rows() starts at the sheet's row 1 (the second half's first rows are empty)
        return islice(self.sheet.iter_rows(), self.line - 1, None)


@dataclass
class Halves:
    """A worksheet loaded as two halves (see the module)."""

    name: str
    halves: tuple[Half, Half]

    def height(self) -> int:
        """Rows from the sheet's first to its last."""
        first, last = self.halves
        if last.sheet.start is None:
            return int(first.sheet.height)
        return last.line + int(last.sheet.height) - first.line


def load_halves(path: str, sheet: str | None) -> Halves | None:
    """The worksheet ``sheet`` (the first when None) of ``path`` loaded as two halves,
    or None when it is not cut (the caller loads it whole)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if not {_WORKBOOK, _RELS} <= names:
                return None
            found = [s for s in _worksheets(zf) if sheet is None or s[0] == sheet][:1]
            name, member = found[0] if found else ("", None)
            if member is None or member not in names:
                return None
            if zf.getinfo(member).file_size < SPLIT_BYTES:
                return None
            package = {n: zf.read(n) for n in _PACKAGE if n in names}
            if _SHEETS.search(package.get(_WORKBOOK, b"")) is None:
                return None
            if _RELS_END not in package.get(_RELS, b""):
                return None
            return _load(zf, member, zf.getinfo(member).file_size, package, name)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, SyntaxError):
        return None


def _load(
    zf: zipfile.ZipFile, member: str, size: int, package: dict[str, bytes], name: str
) -> Halves | None:
    from python_calamine import CalamineError

    with zf.open(member) as raw, ThreadPoolExecutor(1, thread_name_prefix="xlsx-half") as pool:
        data = b""
        while (m := _SHEET_DATA.search(data)) is None and (block := raw.read(READ_BYTES)):
            data += block
        root = _ROOT.search(data)
        if m is None or m.group(2) or root is None:  # <sheetData/>: no rows
            return None
        head = data[: m.end()]
        row = b"<" + m.group(1) + b"row"
        ending = b"</" + m.group(1) + b"sheetData></" + root.group(1) + b">"
        blocks = [data]
        read = len(data)
        while read < size // 2 and (block := raw.read(READ_BYTES)):
            blocks.append(block)
            read += len(block)
        data = b"".join(blocks)
        del blocks
        cut = _row_start(data, row, min(size // 2, len(data)))
        if cut <= m.end():
            return None
        # the pieces are written into each workbook as they are: no copy of a half
        body = memoryview(data)
        first = pool.submit(_open, package, (body[:cut], ending))
        rest = iter(lambda: raw.read(READ_BYTES), b"")
        try:
            second = _open(package, chain((head, body[cut:]), rest))
            return Halves(name, (first.result(), second))
        except CalamineError:  # the whole load says what is wrong
            return None


def _row_start(data: bytes, tag: bytes, end: int) -> int:
    """Where the last row element before ``end`` with an ``r`` attribute starts (-1: none)."""
    while (at := data.rfind(tag, 0, end)) >= 0:
        if data[at + len(tag) : at + len(tag) + 1] in (b" ", b"\t", b"\r", b"\n"):
            stop = data.find(b">", at)
            if stop > 0 and _ROW_NUMBER.search(data, at, stop):
                return at
        end = at
    return -1


def _open(package: dict[str, bytes], xml: Iterable[bytes | memoryview]) -> Half:
    """A workbook of the original's package parts with the pieces of ``xml``
    as its only sheet, loaded."""
    from python_calamine import CalamineWorkbook

    book = package[_WORKBOOK]
    sheets = _SHEETS.search(book)
    assert sheets is not None
    prefix = sheets.group(1)
    listed = b'<%ssheets><%ssheet name="%s" sheetId="1" r:id="%s"/></%ssheets>' % (
        prefix, prefix, _HALF_SHEET, _HALF_SHEET, prefix
    )  # fmt: skip
    link = b'<Relationship Id="%s" Type="%s" Target="/xl/worksheets/%s.xml"/>' % (
        _HALF_SHEET, _WORKSHEET, _HALF_SHEET
    )  # fmt: skip
    parts = dict(package)
    parts[_WORKBOOK] = book[: sheets.start()] + listed + book[sheets.end() :]
    parts[_RELS] = package[_RELS].replace(_RELS_END, link + _RELS_END)
    # a file, not bytes: calamine reads a path as it parses, and would copy bytes whole
    with tempfile.NamedTemporaryFile(prefix="openinvoice-half-", suffix=".xlsx") as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as out:
            for part_name, content in parts.items():
                out.writestr(part_name, content)
            sheet_name = f"xl/worksheets/{_HALF_SHEET.decode()}.xml"
            with out.open(sheet_name, "w", force_zip64=True) as sheet:
                for piece in xml:
                    sheet.write(piece)
        tmp.flush()
        with CalamineWorkbook.from_path(tmp.name) as wb:  # the sheet outlives its workbook
            return Half(wb.get_sheet_by_name(_HALF_SHEET.decode()))


def _worksheets(zf: zipfile.ZipFile) -> list[tuple[str, str | None]]:
    """The workbook's sheets in order: name and member (None for a chart sheet)."""
    from defusedxml import ElementTree

    book = ElementTree.fromstring(zf.read(_WORKBOOK))
    rels = ElementTree.fromstring(zf.read(_RELS))
    targets: dict[str, str | None] = {}
    for rel in rels.iter(f"{_PKG_REL_NS}Relationship"):
        target = rel.get("Target", "")
        if not rel.get("Type", "").endswith("/worksheet"):
            targets[rel.get("Id", "")] = None
        elif target.startswith("/"):
            targets[rel.get("Id", "")] = target.lstrip("/")
        else:
            targets[rel.get("Id", "")] = str(PurePosixPath("xl") / target)
    return [
        (el.get("name", ""), targets.get(el.get(f"{_REL_NS}id", "")))
        for el in book.iter()
        if el.tag.rsplit("}", 1)[-1] == "sheet"
    ]


__all__ = ["Half", "Halves", "load_halves"]
