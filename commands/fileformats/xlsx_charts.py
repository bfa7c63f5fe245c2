"""Chart parts (DrawingML) for the streaming ``.xlsx`` writer.

A chart only refers to cells of the sheet (the first data rows), so it is written
as a few small XML parts beside the streamed sheet: one drawing that anchors every
chart right of the table, one chart part each, their relationships and content
types. Spreadsheet programs draw the chart from the cells when they open the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from xml.sax.saxutils import escape

from commands.fileformats.fastxlsx import column_letter

ChartKind = Literal["bar", "column", "line", "pie"]

_NS_C = "http://schemas.openxmlformats.org/drawingml/2006/chart"
_NS_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
_NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
_NS_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_CAT_AXIS, _VAL_AXIS = 50010001, 50010002
#: a chart's size in cells (about 640 x 360 pixels at the default sizes)
_WIDTH_COLS, _HEIGHT_ROWS = 10, 18
#: series colours (Office's accents), given outright: the package has no theme to take
#: them from, and without one LibreOffice draws series and gridlines invisible
PALETTE = ("4472C4", "ED7D31", "A5A5A5", "FFC000", "5B9BD5", "70AD47")
_GRID, _AXIS = "D9D9D9", "BFBFBF"


def _fill(colour: str) -> str:
    return f'<c:spPr><a:solidFill><a:srgbClr val="{colour}"/></a:solidFill></c:spPr>'


def _line(colour: str, width: int = 9525) -> str:
    return (
        f'<c:spPr><a:ln w="{width}"><a:solidFill><a:srgbClr val="{colour}"/></a:solidFill>'
        "</a:ln></c:spPr>"
    )


DRAWING_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.drawing+xml"
CHART_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
#: the sheet's relationship to the drawing (``<drawing r:id="..."/>`` in the sheet)
SHEET_DRAWING_RID = "rId1"


@dataclass(frozen=True)
class ChartPlan:
    """A chart of ``values`` (column indexes) against ``category`` over the first
    ``max_points`` data rows (at most the writer's buffered first rows, 500)."""

    title: str
    kind: ChartKind
    category: int
    values: tuple[int, ...]
    max_points: int = 20


@dataclass(frozen=True)
class PlacedChart:
    """A :class:`ChartPlan` over sheet rows 2..``last_row``, anchored at the zero-based
    cell (``col``, ``row``)."""

    plan: ChartPlan
    last_row: int
    col: int
    row: int

    @property
    def kind(self) -> ChartKind:
        return self.plan.kind


def place(plans: Sequence[ChartPlan], columns: int, rows: int) -> list[PlacedChart]:
    """The charts right of a table of ``columns`` and ``rows`` data rows, one below
    the other (none when there is no data to draw)."""
    if rows < 1:
        return []
    return [
        PlacedChart(plan, 1 + min(rows, plan.max_points), columns + 1, 1 + i * (_HEIGHT_ROWS + 2))
        for i, plan in enumerate(plans)
    ]


def _ref(sheet: str, col: int, first: int, last: int | None = None) -> str:
    quoted = "'" + sheet.replace("'", "''") + "'"
    letter = column_letter(col)
    return escape(f"{quoted}!${letter}${first}" + (f":${letter}${last}" if last else ""))


def _series(sheet: str, chart: PlacedChart) -> str:
    out = []
    for i, col in enumerate(chart.plan.values):
        colour = PALETTE[i % len(PALETTE)]
        if chart.kind == "line":
            style = _line(colour, 28575) + '<c:marker><c:symbol val="none"/></c:marker>'
        elif chart.kind == "pie":  # a colour per slice
            style = "".join(
                f'<c:dPt><c:idx val="{n}"/><c:bubble3D val="0"/>'
                f"{_fill(PALETTE[n % len(PALETTE)])}</c:dPt>"
                for n in range(chart.last_row - 1)
            )
        else:
            style = _fill(colour)
        out.append(
            f'<c:ser><c:idx val="{i}"/><c:order val="{i}"/>'
            f"<c:tx><c:strRef><c:f>{_ref(sheet, col, 1)}</c:f></c:strRef></c:tx>{style}"
            f"<c:cat><c:strRef><c:f>{_ref(sheet, chart.plan.category, 2, chart.last_row)}"
            "</c:f></c:strRef></c:cat>"
            f"<c:val><c:numRef><c:f>{_ref(sheet, col, 2, chart.last_row)}</c:f></c:numRef>"
            "</c:val></c:ser>"
        )
    return "".join(out)


def _axes(kind: ChartKind) -> str:
    cat_pos, val_pos = ("l", "b") if kind == "bar" else ("b", "l")
    return (
        f'<c:catAx><c:axId val="{_CAT_AXIS}"/><c:scaling><c:orientation val="minMax"/>'
        f'</c:scaling><c:delete val="0"/><c:axPos val="{cat_pos}"/>'
        '<c:numFmt formatCode="General" sourceLinked="1"/><c:tickLblPos val="nextTo"/>'
        f'{_line(_AXIS)}<c:crossAx val="{_VAL_AXIS}"/><c:crosses val="autoZero"/><c:auto val="1"/>'
        '<c:lblAlgn val="ctr"/><c:lblOffset val="100"/></c:catAx>'
        f'<c:valAx><c:axId val="{_VAL_AXIS}"/><c:scaling><c:orientation val="minMax"/>'
        f'</c:scaling><c:delete val="0"/><c:axPos val="{val_pos}"/>'
        f"<c:majorGridlines>{_line(_GRID)}</c:majorGridlines>"
        '<c:numFmt formatCode="General" sourceLinked="1"/><c:tickLblPos val="nextTo"/>'
        f'{_line(_AXIS)}<c:crossAx val="{_CAT_AXIS}"/><c:crosses val="autoZero"/>'
        '<c:crossBetween val="between"/></c:valAx>'
    )


def chart_xml(sheet: str, chart: PlacedChart) -> str:
    """One chart part (``xl/charts/chartN.xml``)."""
    series = _series(sheet, chart)
    axis_ids = f'<c:axId val="{_CAT_AXIS}"/><c:axId val="{_VAL_AXIS}"/>'
    if chart.kind == "pie":
        plot = f'<c:pieChart><c:varyColors val="1"/>{series}<c:firstSliceAng val="0"/></c:pieChart>'
    elif chart.kind == "line":
        plot = (
            f'<c:lineChart><c:grouping val="standard"/><c:varyColors val="0"/>{series}'
            f'<c:marker val="1"/>{axis_ids}</c:lineChart>{_axes(chart.kind)}'
        )
    else:
        direction = "bar" if chart.kind == "bar" else "col"
        plot = (
            f'<c:barChart><c:barDir val="{direction}"/><c:grouping val="clustered"/>'
            f'<c:varyColors val="0"/>{series}<c:gapWidth val="150"/>{axis_ids}</c:barChart>'
            f"{_axes(chart.kind)}"
        )
    legend = (
        '<c:legend><c:legendPos val="b"/><c:overlay val="0"/></c:legend>'
        if len(chart.plan.values) > 1 or chart.kind == "pie"
        else ""
    )
    return (
        f'{_XML}<c:chartSpace xmlns:c="{_NS_C}" xmlns:a="{_NS_A}" xmlns:r="{_NS_R}">'
        '<c:roundedCorners val="0"/><c:chart><c:title><c:tx><c:rich><a:bodyPr/><a:lstStyle/>'
        f"<a:p><a:r><a:t>{escape(chart.plan.title)}</a:t></a:r></a:p></c:rich></c:tx>"
        '<c:overlay val="0"/></c:title><c:autoTitleDeleted val="0"/>'
        f"<c:plotArea><c:layout/>{plot}</c:plotArea>{legend}"
        '<c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/></c:chart></c:chartSpace>'
    )


def drawing_xml(charts: Sequence[PlacedChart]) -> str:
    """The sheet's drawing (``xl/drawings/drawing1.xml``): one anchor per chart."""
    anchors = []
    for i, chart in enumerate(charts, start=1):
        anchors.append(
            '<xdr:twoCellAnchor editAs="oneCell">'
            f"<xdr:from><xdr:col>{chart.col}</xdr:col><xdr:colOff>0</xdr:colOff>"
            f"<xdr:row>{chart.row}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>"
            f"<xdr:to><xdr:col>{chart.col + _WIDTH_COLS}</xdr:col><xdr:colOff>0</xdr:colOff>"
            f"<xdr:row>{chart.row + _HEIGHT_ROWS}</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>"
            f'<xdr:graphicFrame macro=""><xdr:nvGraphicFramePr><xdr:cNvPr id="{i + 1}" '
            f'name="Chart {i}"/><xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr>'
            '<xdr:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></xdr:xfrm>'
            f'<a:graphic><a:graphicData uri="{_NS_C}"><c:chart xmlns:c="{_NS_C}" '
            f'r:id="rId{i}"/></a:graphicData></a:graphic></xdr:graphicFrame>'
            "<xdr:clientData/></xdr:twoCellAnchor>"
        )
    return (
        f'{_XML}<xdr:wsDr xmlns:xdr="{_NS_XDR}" xmlns:a="{_NS_A}" xmlns:r="{_NS_R}">'
        + "".join(anchors)
        + "</xdr:wsDr>"
    )


def _relationships(kind: str, targets: Sequence[str]) -> str:
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{_NS_R}/{kind}" Target="{target}"/>'
        for i, target in enumerate(targets, start=1)
    )
    return f'{_XML}<Relationships xmlns="{_NS_PKG}">{rels}</Relationships>'


def chart_parts(sheet: str, charts: Sequence[PlacedChart]) -> dict[str, str]:
    """Every part the charts need, by name in the package (besides the sheet's
    ``<drawing r:id="rId1"/>`` and the content types of :func:`content_types`)."""
    if not charts:
        return {}
    parts = {
        "xl/worksheets/_rels/sheet1.xml.rels": _relationships(
            "drawing", ["../drawings/drawing1.xml"]
        ),
        "xl/drawings/drawing1.xml": drawing_xml(charts),
        "xl/drawings/_rels/drawing1.xml.rels": _relationships(
            "chart", [f"../charts/chart{i}.xml" for i in range(1, len(charts) + 1)]
        ),
    }
    for i, chart in enumerate(charts, start=1):
        parts[f"xl/charts/chart{i}.xml"] = chart_xml(sheet, chart)
    return parts


def content_types(count: int) -> str:
    """``<Override>`` entries of the drawing and ``count`` charts (none for none)."""
    if not count:
        return ""
    out = f'<Override PartName="/xl/drawings/drawing1.xml" ContentType="{DRAWING_CONTENT_TYPE}"/>'
    for i in range(1, count + 1):
        out += f'<Override PartName="/xl/charts/chart{i}.xml" ContentType="{CHART_CONTENT_TYPE}"/>'
    return out
