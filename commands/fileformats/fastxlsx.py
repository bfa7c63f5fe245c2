"""A small streaming ``.xlsx`` writer: one sheet, typed cells, header, panes, filter.

xlsxwriter and openpyxl build a Python object per cell; for 100k x 20 exports that
dominates. This writer formats each row straight into SpreadsheetML (inline strings,
numbers, date serials) and streams it into the zip, keeping only the first rows in
memory (to size the columns). Charts are small parts beside the sheet that refer to
its first rows (:mod:`commands.fileformats.xlsx_charts`).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from commands.fileformats.reading import Cell, neutralise

if TYPE_CHECKING:
    from commands.fileformats.xlsx_charts import ChartPlan

_EPOCH = date(1899, 12, 30).toordinal()
_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b-\x1f\r\ufffe\uffff]|_x[0-9A-Fa-f]{4}_")
_BUFFER_ROWS = 500
_FLUSH_ROWS = 2000

STYLE_MONEY, STYLE_DATE, STYLE_DATETIME, STYLE_HEADER = 1, 2, 3, 4


def _escape_match(m: re.Match[str]) -> str:
    s = m.group()
    if s == "&":
        return "&amp;"
    if s == "<":
        return "&lt;"
    if s == ">":
        return "&gt;"
    if s.startswith("_x"):
        return "_x005F" + s  # a literal "_x0041_" must not decode as "A"
    return f"_x{ord(s):04X}_"  # control characters and CR, as Excel writes them


def xml_text(text: str) -> str:
    """Escape text for a ``<t>`` element (XML entities plus OOXML ``_xHHHH_``)."""
    return _SPECIAL.sub(_escape_match, text) if _SPECIAL.search(text) else text


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def _string_cell(ref: str, text: str, style: str = "") -> str:
    text = neutralise(text)
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    return f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{xml_text(text)}</t></is></c>'


def _styles(exp: int) -> str:
    money = "#,##0." + "0" * exp if exp else "#,##0"
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<numFmts count="3">'
        f'<numFmt numFmtId="164" formatCode="{money}"/>'
        '<numFmt numFmtId="165" formatCode="yyyy\\-mm\\-dd"/>'
        '<numFmt numFmtId="166" formatCode="yyyy\\-mm\\-dd\\ hh:mm:ss"/>'
        "</numFmts>"
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        "</cellStyleXfs>"
        '<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
        "</cellXfs>"
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    )


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/styles" Target="styles.xml"/></Relationships>'
)


def _workbook(sheet_name: str, filter_ref: str) -> str:
    name = xml_text(sheet_name).replace('"', "&quot;")
    quoted = "'" + sheet_name.replace("'", "''") + "'"
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets>'
        '<definedNames><definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
        f"{xml_text(quoted)}!{filter_ref}</definedName></definedNames>"
        "</workbook>"
    )


def write_xlsx_fast(
    path: Path,
    headers: Sequence[str],
    rows: Iterable[Sequence[Cell | Decimal]],
    types: Sequence[str],
    exp: int,
    sheet_name: str,
    widths: object,
    charts: Sequence[ChartPlan] = (),
) -> int:
    """Write one typed sheet; ``widths`` is a ``_Widths`` fed with the first rows;
    ``charts`` draw the first rows (:mod:`commands.fileformats.xlsx_charts`)."""
    from commands.fileformats.writing import _Widths
    from commands.fileformats.xlsx_charts import (
        SHEET_DRAWING_RID,
        chart_parts,
        content_types,
        place,
    )

    assert isinstance(widths, _Widths)
    ncols = len(headers)
    letters = [column_letter(i) for i in range(ncols)]
    scale = 10**exp
    money = f' s="{STYLE_MONEY}"'
    sdate = f' s="{STYLE_DATE}"'
    sdt = f' s="{STYLE_DATETIME}"'
    plan = list(zip(range(ncols), letters, types, strict=True))

    def row_xml(r: int, row: Sequence[Cell | Decimal]) -> str:
        parts = [f'<row r="{r}">']
        append = parts.append
        for c, letter, t in plan:
            v = row[c]
            if v is None:
                continue
            tv = type(v)
            if tv is str:
                if v:
                    append(_string_cell(f"{letter}{r}", v))  # type: ignore[arg-type]
            elif tv is int:
                if t == "money":
                    append(f'<c r="{letter}{r}"{money}><v>{v / scale!r}</v></c>')  # type: ignore[operator]
                else:
                    append(f'<c r="{letter}{r}"><v>{v}</v></c>')
            elif tv is float or tv is Decimal:
                f = float(v)  # type: ignore[arg-type]
                if f != f or f in (float("inf"), float("-inf")):
                    continue
                style = money if t == "money" else ""
                append(f'<c r="{letter}{r}"{style}><v>{f!r}</v></c>')
            elif tv is bool:
                append(f'<c r="{letter}{r}" t="b"><v>{1 if v else 0}</v></c>')
            elif tv is date:
                append(f'<c r="{letter}{r}"{sdate}><v>{v.toordinal() - _EPOCH}</v></c>')  # type: ignore[union-attr]
            elif isinstance(v, datetime):
                serial = (
                    v.toordinal()
                    - _EPOCH
                    + (v.hour * 3600 + v.minute * 60 + v.second + v.microsecond / 1e6) / 86400
                )
                append(f'<c r="{letter}{r}"{sdt}><v>{serial!r}</v></c>')
            elif isinstance(v, date):
                append(f'<c r="{letter}{r}"{sdate}><v>{v.toordinal() - _EPOCH}</v></c>')
            else:
                append(_string_cell(f"{letter}{r}", str(v)))
        append("</row>")
        return "".join(parts)

    header_xml = (
        '<row r="1">'
        + "".join(
            _string_cell(f"{letters[i]}1", h, f' s="{STYLE_HEADER}"') for i, h in enumerate(headers)
        )
        + "</row>"
    )
    it = iter(rows)
    first: list[Sequence[Cell | Decimal]] = []
    for row in it:
        first.append(row)
        widths.feed(row)
        if len(first) >= _BUFFER_ROWS:
            break
    cols = "".join(
        f'<col min="{i + 1}" max="{i + 1}" width="{w:.2f}" customWidth="1"/>'
        for i, w in enumerate(widths.result())
    )
    n = 0
    # the first rows are all a chart draws (its points are at most the buffered rows)
    placed = place(charts, ncols, len(first))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        types = _CONTENT_TYPES.replace("</Types>", content_types(len(placed)) + "</Types>")
        zf.writestr("[Content_Types].xml", types)
        zf.writestr("_rels/.rels", _ROOT_RELS)
        zf.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        zf.writestr("xl/styles.xml", _styles(exp))
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(
                (
                    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                    'main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
                    'relationships">'
                    '<sheetViews><sheetView tabSelected="1" workbookViewId="0">'
                    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                    '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
                    "</sheetView></sheetViews>"
                    '<sheetFormatPr defaultRowHeight="15"/>'
                    + (f"<cols>{cols}</cols>" if cols else "")
                    + "<sheetData>"
                    + header_xml
                ).encode()
            )
            chunk: list[str] = []
            r = 1
            for row in first:
                r += 1
                chunk.append(row_xml(r, row))
            for row in it:
                r += 1
                chunk.append(row_xml(r, row))
                if len(chunk) >= _FLUSH_ROWS:
                    fh.write("".join(chunk).encode())
                    chunk.clear()
            fh.write("".join(chunk).encode())
            n = r - 1
            last = letters[-1] if letters else "A"
            filter_ref = f"$A$1:${last}${max(r, 2)}"
            drawing = f'<drawing r:id="{SHEET_DRAWING_RID}"/>' if placed else ""
            fh.write(
                f'</sheetData><autoFilter ref="A1:{last}{max(r, 2)}"/>'
                '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
                f'footer="0.3"/>{drawing}</worksheet>'.encode()
            )
        zf.writestr("xl/workbook.xml", _workbook(sheet_name, filter_ref))
        for name, xml in chart_parts(sheet_name, placed).items():
            zf.writestr(name, xml)
    return n
