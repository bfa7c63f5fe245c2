"""The customer list: a virtual table that renders only what is on screen.

Built on Textual's Line API (``ScrollView`` + ``render_line``): the virtual
height is the row count, and only the lines in view are rendered. Rows come
from a ``fetch(offset, limit, sort_key, descending)`` callback in windows of
:data:`PAGE_SIZE`, kept in a small LRU page cache, so a 100,000-row result
costs one ~100-row query per window the user actually looks at.

Why not textual-fastdatatable: its backends want the whole result as an
Arrow table / list up front (100k rows with every figure), and its cursor,
selection and sort live on that in-memory data; here the database sorts and
pages, so a Line API view over a page cache is both smaller and faster.

Windows missing from the cache are fetched in a thread worker (when
``threaded``) and drawn as placeholder lines until they arrive, so a jump
with ``G`` never blocks the screen.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events, work
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import get_current_worker

from commands.results import CustomerRow
from tui.keymap import bindings_for
from tui.widgets.scroll_range import set_virtual_size

#: rows per window fetched together: about two screens, so a keystroke in the
#: search fetches and builds only what is about to be shown
PAGE_SIZE = 100
#: windows kept (1,600 rows)
CACHE_PAGES = 16

Fetch = Callable[[int, int, str | None, bool], Sequence[CustomerRow]]


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _date(value: date | None) -> str:
    return "" if value is None else value.isoformat()


@dataclass(frozen=True)
class Column:
    """One column: ``width`` is its minimum; ``grow`` its share of spare room."""

    key: str  # the sort key (see tui.backend.SORT_KEYS)
    label: str
    width: int
    right: bool
    text: Callable[[CustomerRow], str]
    grow: int = 0
    max_width: int = 0  # 0: ``width`` (fixed)


COLUMNS: tuple[Column, ...] = (
    Column("name", "Name", 14, False, lambda r: r.name, 3, 32),
    Column("company", "Company", 8, False, lambda r: r.company or "", 2, 24),
    Column("email", "Email", 12, False, lambda r: r.email or "", 3, 34),
    Column("revenue", "Revenue", 11, True, lambda r: _money(r.revenue)),
    Column("invoice_count", "Invoices", 8, True, lambda r: str(r.invoice_count)),
    Column("outstanding", "Outstanding", 11, True, lambda r: _money(r.outstanding)),
    Column("last_activity", "Activity", 10, False, lambda r: _date(r.last_activity)),
    Column("tags", "Tags", 6, False, lambda r: ", ".join(r.tags), 2, 30),
)
MARK_WIDTH = 2  # the selection mark column
GAP = 1
ROW_WIDTH = MARK_WIDTH + sum(c.width + GAP for c in COLUMNS)  # the narrowest row


def column_widths(available: int) -> tuple[int, ...]:
    """Widths that fill ``available`` cells: spare room goes to the text
    columns by their ``grow`` share, up to their ``max_width``; below the
    minimum the row is wider than the view and scrolls sideways."""
    widths = [column.width for column in COLUMNS]
    spare = available - ROW_WIDTH
    while spare > 0:
        growing = [
            i for i, column in enumerate(COLUMNS) if column.grow and widths[i] < column.max_width
        ]
        if not growing:
            break
        shares = sum(COLUMNS[i].grow for i in growing)
        given = 0
        for i in growing:
            column = COLUMNS[i]
            extra = min(max(spare * column.grow // shares, 1), column.max_width - widths[i])
            extra = min(extra, spare - given)
            widths[i] += extra
            given += extra
        if given == 0:
            break
        spare -= given
    return tuple(widths)


def fit(text: str, width: int, right: bool = False) -> str:
    """``text`` cropped (with an ellipsis) or padded to exactly ``width`` cells."""
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…"
    if right:
        return " " * (width - length) + text
    return text + " " * (width - length)


class CustomerTable(ScrollView, can_focus=True):
    """A scrolling window onto a (possibly huge) list of customers."""

    BINDINGS = bindings_for("list")

    COMPONENT_CLASSES = {
        "customer-table--header",
        "customer-table--header-sorted",
        "customer-table--cursor",
        "customer-table--selected",
        "customer-table--loading",
        "customer-table--empty",
    }

    DEFAULT_CSS = """
    CustomerTable {
        background: $surface;
    }
    CustomerTable > .customer-table--header {
        text-style: bold;
        background: $panel;
    }
    CustomerTable > .customer-table--header-sorted {
        text-style: bold underline;
        background: $panel;
    }
    CustomerTable > .customer-table--cursor {
        background: $secondary 40%;
    }
    CustomerTable:focus > .customer-table--cursor {
        background: $accent;
        color: $text;
    }
    CustomerTable > .customer-table--selected {
        color: $warning;
        text-style: bold;
    }
    CustomerTable > .customer-table--loading {
        color: $text-muted;
    }
    CustomerTable > .customer-table--empty {
        color: $text-muted;
        text-style: italic;
    }
    """

    cursor_row: reactive[int] = reactive(0, always_update=True, init=False)

    # -- messages ---------------------------------------------------------

    class CursorMoved(Message):
        """The cursor is on another customer (``None``: nothing, or not loaded yet)."""

        def __init__(self, customer_id: int | None, row: int) -> None:
            super().__init__()
            self.customer_id = customer_id
            self.row = row

    class SelectionChanged(Message):
        def __init__(self, ids: frozenset[int]) -> None:
            super().__init__()
            self.ids = ids

    class SortChanged(Message):
        def __init__(self, sort_key: str | None, descending: bool) -> None:
            super().__init__()
            self.sort_key = sort_key
            self.descending = descending

    class Activated(Message):
        """Enter on a row: open its detail."""

        def __init__(self, customer_id: int) -> None:
            super().__init__()
            self.customer_id = customer_id

    class FetchFailed(Message):
        """A window could not be fetched (the error is the backend's)."""

        def __init__(self, generation: int, page: int, error: Exception) -> None:
            super().__init__()
            self.generation = generation
            self.page = page
            self.error = error

    class _PageLoaded(Message):
        def __init__(self, generation: int, page: int, rows: Sequence[CustomerRow]) -> None:
            super().__init__()
            self.generation = generation
            self.page = page
            self.rows = rows

    # -- setup --------------------------------------------------------------

    def __init__(
        self,
        *,
        threaded: bool = True,
        page_size: int = PAGE_SIZE,
        cache_pages: int = CACHE_PAGES,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.threaded = threaded
        self.page_size = page_size
        self.cache_pages = cache_pages
        self.total = 0
        self.sort_key: str | None = None
        self.descending = False
        self.selected: set[int] = set()
        self.empty_message = "No customers match."
        self._fetch: Fetch | None = None
        self._pages: OrderedDict[int, Sequence[CustomerRow]] = OrderedDict()
        self._pending: set[int] = set()
        self._generation = 0
        #: styles looked up during the repaint in progress (``render_lines``)
        self._styles_now: dict[str, Style] | None = None
        self._last_reported: int | object | None = object()
        self.widths = column_widths(0)
        self.row_width = ROW_WIDTH
        self.virtual_size = Size(ROW_WIDTH, 1)

    def load(
        self,
        total: int,
        fetch: Fetch,
        *,
        keep_cursor: bool = False,
        keep_selection: bool = True,
        reset_sort: bool = False,
        first_page: Sequence[CustomerRow] | None = None,
    ) -> None:
        """Show a new result: ``total`` rows, windows from ``fetch``.

        ``reset_sort`` goes back to the query's own order (a new query);
        ``first_page`` is window 0 when the caller already has it.
        """
        if reset_sort:
            self.sort_key = None
            self.descending = False
        self._generation += 1
        self._fetch = fetch
        self.total = total
        self._pages.clear()
        self._pending.clear()
        if first_page is not None:
            self._store(0, first_page)
        if not keep_selection:
            self.selected.clear()
            self.post_message(self.SelectionChanged(frozenset()))
        set_virtual_size(self, Size(self.row_width, total + 1))
        cursor = min(self.cursor_row, max(total - 1, 0)) if keep_cursor else 0
        if not keep_cursor:
            self.scroll_to(y=0, animate=False, immediate=True)
        self._last_reported = object()
        self.cursor_row = cursor
        self.refresh()

    def set_total(self, total: int) -> None:
        """The exact row count of the result shown (its rows stay as they are)."""
        self.total = total
        set_virtual_size(self, Size(self.row_width, total + 1))
        if self.cursor_row >= total:
            self.cursor_row = max(total - 1, 0)

    def reload(self) -> None:
        """Drop the cache and fetch again (figures changed), keeping the cursor."""
        if self._fetch is not None:
            self.load(self.total, self._fetch, keep_cursor=True)

    # -- data -------------------------------------------------------------

    def row(self, index: int) -> CustomerRow | None:
        """The row at ``index`` if its window is loaded (never fetches)."""
        page, within = divmod(index, self.page_size)
        rows = self._pages.get(page)
        if rows is None or within >= len(rows):
            return None
        return rows[within]

    @property
    def cursor_customer(self) -> CustomerRow | None:
        return self.row(self.cursor_row) if self.total else None

    def _ensure_page(self, page: int) -> Sequence[CustomerRow] | None:
        rows = self._pages.get(page)
        if rows is not None:
            self._pages.move_to_end(page)
            return rows
        if self._fetch is None or page in self._pending:
            return None
        if page * self.page_size >= self.total:
            return None
        if self.threaded:
            self._pending.add(page)
            self._fetch_page_worker(
                self._generation, page, self._fetch, self.sort_key, self.descending
            )
            return None
        rows = self._fetch(self.page_size * page, self.page_size, self.sort_key, self.descending)
        self._store(page, rows)
        return rows

    def _store(self, page: int, rows: Sequence[CustomerRow]) -> None:
        self._pages[page] = rows
        self._pages.move_to_end(page)
        while len(self._pages) > self.cache_pages:
            self._pages.popitem(last=False)

    @work(thread=True, group="customer-table-pages")
    def _fetch_page_worker(
        self, generation: int, page: int, fetch: Fetch, sort_key: str | None, descending: bool
    ) -> None:
        try:
            rows = fetch(self.page_size * page, self.page_size, sort_key, descending)
        except Exception as error:  # shown by the app; the window is asked for again later
            self.post_message(self.FetchFailed(generation, page, error))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self._PageLoaded(generation, page, rows))

    def on_customer_table_fetch_failed(self, message: FetchFailed) -> None:
        self._pending.discard(message.page)  # bubbles on to the app

    def on_customer_table__page_loaded(self, message: _PageLoaded) -> None:
        message.stop()
        if message.generation != self._generation:
            return
        self._pending.discard(message.page)
        self._store(message.page, message.rows)
        self.refresh()
        self._report_cursor()

    # -- rendering ----------------------------------------------------------

    @property
    def visible_rows(self) -> int:
        return max(self.scrollable_content_region.height - 1, 1)

    def render_lines(self, crop: Region) -> list[Strip]:
        self._styles_now = {}  # one look-up of each style per repaint, not per line
        try:
            return super().render_lines(crop)
        finally:
            self._styles_now = None

    def _style(self, component: str = "") -> Style:
        """The widget's style (``""``) or a component's, cached while a repaint lasts."""
        cache = self._styles_now
        if cache is not None and component in cache:
            return cache[component]
        style = self.get_component_rich_style(component) if component else self.rich_style
        if cache is not None:
            cache[component] = style
        return style

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        if y == 0:
            strip = self._header_strip()
        else:
            index = scroll_y + y - 1
            strip = self._row_strip(index)
        return strip.crop(scroll_x, scroll_x + width).extend_cell_length(width)

    def _header_strip(self) -> Strip:
        base = self._style("customer-table--header")
        sorted_style = self._style("customer-table--header-sorted")
        segments = [Segment(" " * MARK_WIDTH, base)]
        for column, width in zip(COLUMNS, self.widths, strict=True):
            label = column.label
            style = base
            if column.key == self.sort_key:
                label += " ▼" if self.descending else " ▲"
                style = sorted_style
            segments.append(Segment(fit(label, width, column.right), style))
            segments.append(Segment(" " * GAP, base))
        return Strip(segments, self.row_width)

    def _row_strip(self, index: int) -> Strip:
        if index >= self.total:
            if index == 0 and self.total == 0 and self._fetch is not None:
                style = self._style("customer-table--empty")
                return Strip([Segment("  " + self.empty_message, style)])
            return Strip.blank(self.row_width)
        page, within = divmod(index, self.page_size)
        rows = self._ensure_page(page)
        base = self._style()
        if index == self.cursor_row:
            base = base + self._style("customer-table--cursor")
        if rows is None or within >= len(rows):
            style = base + self._style("customer-table--loading")
            return Strip([Segment(fit("  …", self.row_width), style)], self.row_width)
        row = rows[within]
        segments: list[Segment] = []
        if row.id in self.selected:
            mark_style = base + self._style("customer-table--selected")
            segments.append(Segment("● ", mark_style))
            base = mark_style
        else:
            segments.append(Segment("  ", base))
        gap = Segment(" " * GAP, base)
        for column, width in zip(COLUMNS, self.widths, strict=True):
            segments.append(Segment(fit(column.text(row), width, column.right), base))
            segments.append(gap)
        return Strip(segments, self.row_width)

    # -- cursor ---------------------------------------------------------------

    def validate_cursor_row(self, value: int) -> int:
        return max(0, min(value, self.total - 1)) if self.total else 0

    def watch_cursor_row(self, _old: int, new: int) -> None:
        self._scroll_to_cursor(new)
        self.refresh()
        self._report_cursor()

    def _scroll_to_cursor(self, row: int) -> None:
        top = int(self.scroll_offset.y)
        visible = self.visible_rows
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + visible:
            self.scroll_to(y=row - visible + 1, animate=False, immediate=True)

    def _report_cursor(self) -> None:
        customer = self.cursor_customer
        customer_id = customer.id if customer else None
        if customer_id != self._last_reported:
            self._last_reported = customer_id
            self.post_message(self.CursorMoved(customer_id, self.cursor_row))

    def action_cursor_down(self) -> None:
        self.cursor_row += 1

    def action_cursor_up(self) -> None:
        self.cursor_row -= 1

    def action_page_down(self) -> None:
        step = self.visible_rows
        self.scroll_to(y=self.scroll_offset.y + step, animate=False, immediate=True)
        self.cursor_row += step

    def action_page_up(self) -> None:
        step = self.visible_rows
        self.scroll_to(y=max(self.scroll_offset.y - step, 0), animate=False, immediate=True)
        self.cursor_row -= step

    def action_first_row(self) -> None:
        self.cursor_row = 0

    def action_last_row(self) -> None:
        self.cursor_row = self.total - 1

    def action_open_detail(self) -> None:
        customer = self.cursor_customer
        if customer is not None:
            self.post_message(self.Activated(customer.id))

    # -- selection ----------------------------------------------------------

    def action_toggle_select(self) -> None:
        customer = self.cursor_customer
        if customer is None:
            return
        if customer.id in self.selected:
            self.selected.discard(customer.id)
        else:
            self.selected.add(customer.id)
        self.post_message(self.SelectionChanged(frozenset(self.selected)))
        self.cursor_row += 1

    def select_ids(self, ids: Iterable[int]) -> None:
        self.selected = set(ids)
        self.refresh()
        self.post_message(self.SelectionChanged(frozenset(self.selected)))

    def clear_selection(self) -> None:
        self.select_ids(())

    # -- sorting --------------------------------------------------------------

    def sort_by(self, key: str | None, descending: bool | None = None) -> None:
        """Sort by a column key; the same key again flips the direction."""
        if descending is None:
            descending = (not self.descending) if key == self.sort_key else False
        self.sort_key = key
        self.descending = descending
        self.post_message(self.SortChanged(key, descending))
        if self._fetch is not None:
            self.load(self.total, self._fetch)
        else:
            self.refresh()

    def action_sort(self, key: str) -> None:
        self.sort_by(key)

    # -- mouse ------------------------------------------------------------------

    def column_at(self, x: int) -> Column | None:
        x -= MARK_WIDTH
        for column, width in zip(COLUMNS, self.widths, strict=True):
            if 0 <= x < width + GAP:
                return column
            x -= width + GAP
        return None

    def on_resize(self, _event: events.Resize) -> None:
        # keep room for the vertical scrollbar so the layout does not flip-flop
        available = self.size.width - self.styles.scrollbar_size_vertical
        widths = column_widths(available)
        if widths != self.widths:
            self.widths = widths
            self.row_width = MARK_WIDTH + sum(w + GAP for w in widths)
            self.virtual_size = Size(self.row_width, self.total + 1)
            self.refresh()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        self.focus()
        if offset.y == 0:
            column = self.column_at(offset.x + int(self.scroll_offset.x))
            if column is not None:
                self.sort_by(column.key)
            return
        index = int(self.scroll_offset.y) + offset.y - 1
        if 0 <= index < self.total:
            if event.chain == 2 and index == self.cursor_row:
                self.action_open_detail()
            self.cursor_row = index

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.refresh()


__all__ = ["COLUMNS", "PAGE_SIZE", "CustomerTable", "column_widths", "fit"]
