"""Widget-level tests of the TUI components.

These drive single widgets (and the app shell) with Pilot against
``DevBackend``, a *development double* kept in this file only: it lets the
widgets be built and tested before the real application layer exists. The
end-to-end tests of the finished app run against the real backend and a real
database (see the lead's tests), not against this double.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding

from commands.errors import UserError
from commands.results import (
    ConfirmationNeeded,
    CustomerDetail,
    CustomerRow,
    EmailView,
    InvoiceView,
    MessageResult,
    MutationResult,
    NoteView,
    PaymentView,
    Progress,
    QueryResult,
    Result,
    TableResult,
)
from tui.app import (
    OpenInvoiceApp,
    add_customer_sentence,
    note_sentence,
    quote,
)
from tui.backend import Backend, Completion
from tui.keymap import REGISTRY, bindings_for, display_key, help_rows, resolve_keymap
from tui.screens.confirm import ConfirmScreen
from tui.screens.customer_form import CustomerFormScreen, validate
from tui.screens.help import HelpScreen
from tui.screens.import_mapping import ImportMappingScreen
from tui.screens.note_form import NoteDraft, NoteFormScreen
from tui.widgets.command_bar import CommandBar, History, apply_completion
from tui.widgets.customer_table import PAGE_SIZE, CustomerTable, fit
from tui.widgets.detail_pane import DetailPane
from tui.widgets.transcript import Transcript


def sync(test: Callable[..., Coroutine[object, object, None]]) -> Callable[..., None]:
    """Run an async Pilot test without an asyncio pytest plugin."""

    @functools.wraps(test)
    def wrapper(*args: object, **kwargs: object) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


# -- the development double ----------------------------------------------------


def make_row(i: int) -> CustomerRow:
    return CustomerRow(
        id=i,
        name=f"Customer {i:06d}",
        email=f"c{i}@example.test",
        company=f"Company {i % 97}",
        status="active",
        tags=["vip"] if i % 3 == 0 else [],
        revenue=Decimal(i * 10),
        invoiced=Decimal(i * 12),
        outstanding=Decimal(i % 5),
        invoice_count=i % 7,
        average_invoice_value=Decimal("12.50"),
        last_invoice_date=date(2026, 1, 1),
        last_payment_date=date(2026, 2, 1) if i % 2 else None,
        invoice_frequency_days=30.0,
        average_days_to_pay=12.5,
        average_days_late=1.5,
        on_time_rate=0.8,
        segments=["active"],
        at_risk_reasons=["2 invoices overdue"] if i % 11 == 0 else [],
    )


@dataclass
class Preview:
    path: str
    mapping: dict[str, str | None]
    columns: list[str]
    rows: list[list[object]]
    errors: list[str]
    total_rows: int
    kind: str = "customers"
    fields: tuple[str, ...] = ("name", "email")
    missing_required: tuple[str, ...] = ()
    error_count: int = 0
    samples: dict[str, str] = field(default_factory=dict)


@dataclass
class DevBackend:
    """Development double of :class:`tui.backend.Backend` for widget tests only."""

    size: int = 1000
    history_path: Path = field(default_factory=lambda: Path("history.txt"))
    page_calls: list[tuple[int, int]] = field(default_factory=list)
    runs: list[tuple[str, bool, tuple[int, ...]]] = field(default_factory=list)

    def _matching(self, query_text: str) -> list[int]:
        if query_text.startswith("find "):
            needle = query_text.removeprefix("find ").strip()
            return [i for i in range(1, self.size + 1) if needle in f"Customer {i:06d}"]
        return list(range(1, self.size + 1))

    def count(self, query_text: str) -> int:
        if query_text and not query_text.startswith(("find ", "customers")):
            raise UserError("not a customer query", position=0)
        return len(self._matching(query_text))

    def page(
        self, query_text: str, sort_key: str | None, descending: bool, offset: int, limit: int
    ) -> Sequence[CustomerRow]:
        self.page_calls.append((offset, limit))
        ids = self.ids(query_text, sort_key, descending)
        return [make_row(i) for i in ids[offset : offset + limit]]

    def ids(self, query_text: str, sort_key: str | None, descending: bool) -> Sequence[int]:
        ids = self._matching(query_text)
        return list(reversed(ids)) if descending else ids

    def detail(self, customer_id: int) -> CustomerDetail:
        return make_detail(customer_id)

    def payment_methods(self, customer_id: int) -> MessageResult:
        return MessageResult("Configure a Stripe key to see payment methods.")

    def run(
        self,
        sentence: str,
        *,
        confirmed: bool = False,
        selection: Sequence[int] = (),
        progress: Callable[[Progress], None] | None = None,
        rows_shown: int | None = None,
    ) -> Result:
        self.runs.append((sentence, confirmed, tuple(selection)))
        if sentence.startswith("tag"):
            if not confirmed:
                return ConfirmationNeeded("tag", 212, "Tag 212 customers with at-risk", ["A", "B"])
            return MutationResult("tag", 212, "Tagged 212 customers with at-risk", audit_id=1)
        if sentence.startswith("find") or sentence.startswith("customers"):
            return QueryResult(self.count(sentence), [], description=sentence)
        if sentence == "undo":
            return MutationResult("undo", 212, "Undid: tagged 212 customers", undoable=False)
        raise UserError("I don't know the word 'frob'", position=0, suggestions=["find"])

    def complete(self, text: str) -> Sequence[Completion]:
        words = ["customers", "customer note", "find", "tag", "tagged"]
        last = text.rsplit(" ", 1)[-1]
        start = len(text) - len(last)
        return [(w, "keyword", start) for w in words if w.startswith(last)]

    def import_preview(self, sentence: str) -> Preview:
        return Preview("contacts.xlsx", {"Name": "name", "Mail": "email"}, [], [], [], 0)

    def remap_import(self, sentence: str, column: str, target: str | None) -> str:
        return f'{sentence} mapping "{column}" as {target or "nothing"}'


def make_detail(customer_id: int) -> CustomerDetail:
    return CustomerDetail(
        customer=make_row(customer_id),
        address="Main St 1, Berlin",
        preferences={"terms": "net 30", "billing_frequency": "monthly"},
        custom_fields={"industry": "retail"},
        invoices=[
            InvoiceView(
                1,
                "INV-1",
                date(2026, 1, 1),
                date(2026, 1, 31),
                Decimal(100),
                Decimal(40),
                Decimal(60),
                "sent",
                "partial",
                12,
                None,
            )
        ],
        payments=[PaymentView(1, "INV-1", date(2026, 1, 15), Decimal(40), "card")],
        emails=[
            EmailView(1, datetime(2026, 2, 1, 9, 0), "reminder", "Your invoice", "sent", ["INV-1"])
        ],
        engagement={"sent": 1, "opened": 0},
        notes=[
            NoteView(1, "internal", "Called about renewal", "ana", datetime(2026, 2, 2, 10, 0)),
            NoteView(2, "customer", "Net 30 per contract", None, datetime(2026, 2, 3, 10, 0)),
        ],
        monthly_revenue=[("2026-01", Decimal(40)), ("2026-02", Decimal(0))],
    )


def test_dev_backend_matches_the_protocol(tmp_path: Path) -> None:
    assert isinstance(DevBackend(history_path=tmp_path / "h"), Backend)


# -- customer table --------------------------------------------------------------


class TableApp(App[None]):
    def __init__(self, total: int, threaded: bool = False) -> None:
        super().__init__()
        self.total = total
        self.threaded = threaded
        self.calls: list[tuple[int, int, str | None, bool]] = []
        self.messages: list[object] = []

    def fetch(
        self, offset: int, limit: int, sort_key: str | None, descending: bool
    ) -> list[CustomerRow]:
        self.calls.append((offset, limit, sort_key, descending))
        end = min(offset + limit, self.total)
        ids = range(offset + 1, end + 1)
        if descending:
            ids = range(self.total - offset, self.total - end, -1)
        return [make_row(i) for i in ids]

    def compose(self) -> ComposeResult:
        yield CustomerTable(id="t", threaded=self.threaded)

    def on_mount(self) -> None:
        table = self.query_one(CustomerTable)
        table.load(self.total, self.fetch)
        table.focus()

    def on_customer_table_cursor_moved(self, message: CustomerTable.CursorMoved) -> None:
        self.messages.append(message)

    def on_customer_table_selection_changed(self, message: CustomerTable.SelectionChanged) -> None:
        self.messages.append(message)


def line_text(table: CustomerTable, y: int) -> str:
    return "".join(segment.text for segment in table.render_line(y))


@sync
async def test_a_new_row_count_updates_the_scrollbar_and_the_last_row() -> None:
    app = TableApp(5)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        table = app.query_one(CustomerTable)
        assert not table.show_vertical_scrollbar
        app.total = 100_000
        table.load(100_000, app.fetch)
        await pilot.pause()
        assert table.show_vertical_scrollbar
        assert table.vertical_scrollbar.window_virtual_size == 100_001
        assert table.max_scroll_y == 100_001 - table.scrollable_content_region.height
        await pilot.press("G")
        await pilot.pause()
        await pilot.pause()
        assert table.cursor_row == 99_999
        assert table.cursor_customer is not None and table.cursor_customer.id == 100_000
        assert "Customer 100000" in line_text(table, table.cursor_row - table.scroll_offset.y + 1)
        app.total = 3
        table.load(3, app.fetch)
        await pilot.pause()
        assert not table.show_vertical_scrollbar
        assert table.cursor_row == 0 and table.scroll_offset.y == 0


@sync
async def test_table_fetches_only_visible_windows() -> None:
    app = TableApp(100_000)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        table = app.query_one(CustomerTable)
        assert app.calls == [(0, PAGE_SIZE, None, False)]
        assert "Name" in line_text(table, 0)
        assert "Customer 000001" in line_text(table, 1)
        await pilot.press("G")
        await pilot.pause()
        assert table.cursor_row == 99_999
        # one more window (the last), nothing in between
        assert app.calls[-1] == (99_999 // PAGE_SIZE * PAGE_SIZE, PAGE_SIZE, None, False)
        assert len(app.calls) == 2
        assert table.cursor_customer is not None
        assert table.cursor_customer.id == 100_000
        await pilot.press("g")
        await pilot.pause()
        assert table.cursor_row == 0
        assert table.scroll_offset.y == 0
        assert len(app.calls) == 2  # still cached


@sync
async def test_table_keys_move_the_cursor_and_report_it() -> None:
    app = TableApp(1000)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        table = app.query_one(CustomerTable)
        await pilot.press("j", "j", "down", "k")
        await pilot.pause()
        assert table.cursor_row == 2
        moved = [m for m in app.messages if isinstance(m, CustomerTable.CursorMoved)]
        assert moved[-1].customer_id == 3
        await pilot.press("pagedown")
        await pilot.pause()
        assert table.cursor_row == 2 + table.visible_rows
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_row == 999
        await pilot.press("pageup", "home", "up")
        await pilot.pause()
        assert table.cursor_row == 0


@sync
async def test_table_space_toggles_selection() -> None:
    app = TableApp(50)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        table = app.query_one(CustomerTable)
        await pilot.press("space", "space", "k", "space")
        await pilot.pause()
        assert table.selected == {1}
        changes = [m for m in app.messages if isinstance(m, CustomerTable.SelectionChanged)]
        assert changes[-1].ids == frozenset({1})
        assert line_text(table, 1).startswith("●")
        table.select_ids(range(1, 51))
        assert len(table.selected) == 50
        table.clear_selection()
        assert table.selected == set()


@sync
async def test_table_sorts_by_key_and_method() -> None:
    app = TableApp(500)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        table = app.query_one(CustomerTable)
        await pilot.press("4")
        await pilot.pause()
        assert (table.sort_key, table.descending) == ("revenue", False)
        assert app.calls[-1] == (0, PAGE_SIZE, "revenue", False)
        assert "Revenue ▲" in line_text(table, 0)
        table.sort_by("revenue")  # same key again flips
        await pilot.pause()
        assert app.calls[-1] == (0, PAGE_SIZE, "revenue", True)
        assert "Customer 000500" in line_text(table, 1)


@sync
async def test_table_click_on_header_sorts_and_on_row_moves() -> None:
    app = TableApp(500)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        table = app.query_one(CustomerTable)
        await pilot.click(CustomerTable, offset=(5, 0))
        await pilot.pause()
        assert table.sort_key == "name"
        await pilot.click(CustomerTable, offset=(5, 4))
        await pilot.pause()
        assert table.cursor_row == 3


@sync
async def test_table_threaded_fetch_shows_placeholder_then_rows() -> None:
    app = TableApp(10_000, threaded=True)
    async with app.run_test(size=(120, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.query_one(CustomerTable)
        assert "Customer 000001" in line_text(table, 1)
        await pilot.press("G")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert table.cursor_customer is not None
        assert table.cursor_customer.id == 10_000
        assert len(app.calls) == 2


class FailingTableApp(TableApp):
    def fetch(
        self, offset: int, limit: int, sort_key: str | None, descending: bool
    ) -> list[CustomerRow]:
        raise UserError("database is gone")

    def on_customer_table_fetch_failed(self, message: CustomerTable.FetchFailed) -> None:
        self.messages.append(message)


@sync
async def test_table_reports_a_failed_fetch_without_crashing() -> None:
    app = FailingTableApp(1000, threaded=True)
    async with app.run_test(size=(120, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        failures = [m for m in app.messages if isinstance(m, CustomerTable.FetchFailed)]
        assert failures and str(failures[0].error) == "database is gone"
        assert "…" in line_text(app.query_one(CustomerTable), 1)


@sync
async def test_table_page_cache_is_bounded() -> None:
    app = TableApp(100_000)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        table = app.query_one(CustomerTable)
        for row in range(0, 100_000, 5_000):
            table.cursor_row = row
            await pilot.pause()
        assert len(table._pages) <= table.cache_pages
        # at most the two windows the view straddles, per place visited
        assert len(app.calls) <= 2 * 20


def test_fit_crops_and_pads() -> None:
    assert fit("abc", 5) == "abc  "
    assert fit("abc", 5, right=True) == "  abc"
    assert fit("abcdef", 4) == "abc…"


# -- command bar ---------------------------------------------------------------------


class BarApp(App[None]):
    def __init__(self, history: Path, complete: Callable[[str], Sequence[Completion]]) -> None:
        super().__init__()
        self.history = history
        self.complete = complete
        self.submitted: list[str] = []

    def compose(self) -> ComposeResult:
        yield CommandBar(self.complete, self.history, threaded=False, id="bar")

    def on_mount(self) -> None:
        self.query_one(CommandBar).focus_input()

    def on_command_bar_submitted(self, message: CommandBar.Submitted) -> None:
        self.submitted.append(message.sentence)


def test_history_file_is_deduplicated_and_capped(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "history"
    history = History(path, limit=3)
    for sentence in ["a", "b", "a", "c", "d"]:
        history.add(sentence)
    assert path.read_text().splitlines() == ["a", "c", "d"]
    again = History(path, limit=3)
    assert again.back("draft") == "d"
    assert again.back("") == "c"
    assert again.forward() == "d"
    assert again.forward() == "draft"
    assert again.forward() is None


@sync
async def test_command_bar_history_and_submit(tmp_path: Path) -> None:
    path = tmp_path / "history"
    path.write_text("customers\nlate payers\n")
    app = BarApp(path, DevBackend().complete)
    async with app.run_test() as pilot:
        bar = app.query_one(CommandBar)
        await pilot.press("up")
        assert bar.value == "late payers"
        await pilot.press("up")
        assert bar.value == "customers"
        await pilot.press("down", "down")
        assert bar.value == ""
        await pilot.press(*"find acme", "enter")
        await pilot.pause()
        assert app.submitted == ["find acme"]
        assert bar.value == ""
        assert path.read_text().splitlines() == ["customers", "late payers", "find acme"]


@sync
async def test_a_long_sentence_scrolls_in_the_input_without_relayout(tmp_path: Path) -> None:
    app = BarApp(tmp_path / "h", None)
    async with app.run_test(size=(40, 12)) as pilot:
        bar = app.query_one(CommandBar)
        field = bar.input
        layouts = 0
        refresh = field.refresh

        def counting(*regions: Any, **options: Any) -> Any:
            nonlocal layouts
            layouts += bool(options.get("layout"))
            return refresh(*regions, **options)

        field.refresh = counting  # type: ignore[method-assign]
        sentence = "note acme: " + "call back about the discount " * 3
        await pilot.press(*sentence)
        await pilot.pause()
        assert bar.value == sentence
        assert layouts <= 1  # once, when the text first overflows (Input: one per key)
        assert field.virtual_size.width > field.content_size.width
        assert field.scroll_x == field.max_scroll_x > 0  # the cursor's end is in view
        x = field.cursor_screen_offset.x
        assert field.content_region.x <= x <= field.content_region.right
        await pilot.press("home")
        await pilot.pause()
        assert field.scroll_x == 0
        await pilot.press("end", *["backspace"] * len(sentence))
        await pilot.pause()
        assert bar.value == "" and field.scroll_x == 0


@sync
async def test_command_bar_completes_as_you_type(tmp_path: Path) -> None:
    app = BarApp(tmp_path / "h", DevBackend().complete)
    async with app.run_test() as pilot:
        bar = app.query_one(CommandBar)
        await pilot.press("c", "u")
        await pilot.pause()
        assert bar.completing
        assert [c[0] for c in bar.completions] == ["customers", "customer note"]
        await pilot.press("down", "tab")
        await pilot.pause()
        assert bar.value == "customer note "
        await pilot.press("escape")
        assert not bar.completing


def test_apply_completion() -> None:
    assert apply_completion("tag ac", ("acme", "customer", 4)) == "tag acme "
    assert apply_completion("export to ~/", ("reports/", "path", 10)) == "export to reports/"


# -- transcript ------------------------------------------------------------------------


class TranscriptApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Transcript(id="log")


@sync
async def test_transcript_shows_results_undo_hint_and_caret() -> None:
    app = TranscriptApp()
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(Transcript)
        log.add_sentence("tag late payers with at-risk")
        log.add_result(MutationResult("tag", 212, "Tagged 212 customers with at-risk"))
        log.add_sentence("frob acme")
        log.add_error("frob acme", UserError("unknown word", position=0, suggestions=["find"]))
        log.add_result(QueryResult(3, [], description="late payers"))
        log.add_result(TableResult("Overdue", ["Invoice"], [["INV-1"]]))
        await pilot.pause()
        plain = log.plain
        assert plain[0] == "› tag late payers with at-risk"
        assert plain[1] == "Tagged 212 customers with at-risk — undo with `undo`"
        assert plain[3] == "  frob acme"
        assert plain[4] == "  ^"
        assert plain[5] == "✗ unknown word"
        assert plain[6] == "  Did you mean: find?"
        assert plain[7] == "3 customers — late payers"
        rendered = "\n".join("".join(s.text for s in line) for line in log.lines)
        assert "^" in rendered and "Did you mean" in rendered


# -- detail pane and screens -------------------------------------------------------------


class DetailApp(App[None]):
    def compose(self) -> ComposeResult:
        yield DetailPane(id="detail")


@sync
async def test_detail_pane_renders_every_tab() -> None:
    app = DetailApp()
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(DetailPane)
        pane.show(make_detail(33))
        await pilot.pause()
        assert pane.border_title == "Customer 000033 (#33)"
        for tab in ("invoices", "payments", "emails", "notes", "payment-methods", "preferences"):
            pane.show_tab(tab)
            await pilot.pause()
        pane.show_payment_methods(MessageResult("Configure a Stripe key"))
        pane.show(None)
        await pilot.pause()


class ScreenApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.results: list[object] = []

    def record(self, value: object) -> None:
        self.results.append(value)


@sync
async def test_confirm_screen_answers() -> None:
    app = ScreenApp()
    async with app.run_test() as pilot:
        confirmation = ConfirmationNeeded("tag", 212, "Tag 212 customers", ["A", "B"])
        app.push_screen(ConfirmScreen(confirmation), app.record)
        await pilot.pause()
        await pilot.press("y")
        app.push_screen(ConfirmScreen(confirmation), app.record)
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [True, False]


@sync
async def test_customer_form_validates_beside_the_field() -> None:
    app = ScreenApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(CustomerFormScreen(), app.record)
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        screen = app.screen
        assert "required" in str(screen.query_one("#error-name").render())
        await pilot.press(*"Acme GmbH", "tab", *"not-an-email")
        await pilot.pause()
        assert "email" in str(screen.query_one("#error-email").render()).lower()
        assert app.results == []
        screen.query_one("#field-email").value = "ops@acme.test"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await pilot.pause()
        (form,) = app.results
        assert form.values["name"] == "Acme GmbH"  # type: ignore[attr-defined]
        assert add_customer_sentence(form.values) == (  # type: ignore[attr-defined]
            'add customer "Acme GmbH" with email ops@acme.test'
        )


def test_validate_and_quote() -> None:
    assert validate("name", " ") == "A name is required."
    assert validate("email", "") is None
    assert validate("phone", "abc") is not None
    assert quote("acme") == "acme"
    assert quote('Say "hi"') == '"Say \\"hi\\""'


@sync
async def test_note_form_returns_a_draft() -> None:
    app = ScreenApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(NoteFormScreen("Acme", customer_id=7), app.record)
        await pilot.pause()
        await pilot.press(*"call back", "tab", "tab")
        await pilot.pause()
        app.screen.query_one("#note-follow-up").value = "2026-12-01"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await pilot.pause()
        (draft,) = app.results
        assert isinstance(draft, NoteDraft)
        assert draft.body == "call back"
        assert draft.kind == "internal"
        assert note_sentence(7, draft) == "note #7: call back, follow up on 2026-12-01"


@sync
async def test_help_and_import_screens_open() -> None:
    app = ScreenApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(HelpScreen("list", {"focus_command": "ctrl+k"}))
        await pilot.pause()
        keys = [row[1] for row in help_rows(["list", "global"], {"focus_command": "ctrl+k"})]
        assert "Ctrl+K" in keys
        await pilot.press("escape")
        preview = Preview(
            "contacts.xlsx",
            {"Name": "name", "Mail": "email", "Notes": None},
            ["name", "email"],
            [["Acme", "ops@acme.test"]],
            [],
            3,
        )
        sentence = "import customers from contacts.xlsx"
        app.push_screen(ImportMappingScreen(preview, sentence), app.record)
        await pilot.pause()
        await pilot.press("m")  # no backend: the mapping cannot change
        await pilot.pause()
        assert isinstance(app.screen, ImportMappingScreen)
        await pilot.press("y")
        await pilot.pause()
        # with a problem, an import is refused (all or nothing); n cancels
        broken = replace(preview, errors=["row 3: email 'x@' is not valid"])
        app.push_screen(ImportMappingScreen(broken, sentence), app.record)
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, ImportMappingScreen)
        await pilot.press("n")
        await pilot.pause()
        assert app.results == [sentence, None]


# -- keymap ----------------------------------------------------------------------------------


def test_keymap_registry_has_unique_ids_and_remaps() -> None:
    ids = [spec.id for spec in REGISTRY]
    assert len(ids) == len(set(ids))
    assert all(isinstance(b, Binding) and b.id for b in bindings_for("list"))
    assert resolve_keymap({"focus_command": ["ctrl+k", "f2"]}) == {"focus_command": "ctrl+k,f2"}
    with pytest.raises(ValueError, match="unknown key binding"):
        resolve_keymap({"nope": "x"})
    assert display_key("question_mark,f1") == "? / F1"


# -- the app shell (with the development double) -----------------------------------------------


async def settle(app: App[None], pilot: object) -> None:
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()  # type: ignore[attr-defined]


@sync
async def test_app_shell_flow(tmp_path: Path) -> None:
    backend = DevBackend(size=5000, history_path=tmp_path / "history")
    app = OpenInvoiceApp(backend, keys={"focus_command": "ctrl+k"})
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(app, pilot)
        browser = app.query_one("#browser")
        assert browser.border_title == "5,000 of 5,000 customers"
        # cursor rest -> detail loads
        await pilot.press("j")
        await asyncio.sleep(0.2)
        await settle(app, pilot)
        assert app.detail_id == 2
        # select, then bulk tag with confirmation
        await pilot.press("space")
        await pilot.press("ctrl+k")
        assert app.focused is app.command_bar.input
        app.command_bar.set_value("tag selected with at-risk")
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(app, pilot)
        assert backend.runs[-1] == ("tag selected with at-risk", True, (2,))
        assert any("undo with" in line for line in app.transcript.plain)
        # search narrows the list
        await pilot.press("escape", "slash")
        assert app.command_bar.value == "find "
        await pilot.press("0", "0")
        app.command_bar.set_value("find 00012")
        await pilot.press("enter")
        await settle(app, pilot)
        assert browser.border_title == "11 of 5,000 customers — find 00012"
        # an error shows the caret
        app.command_bar.set_value("frob")
        await pilot.press("enter")
        await settle(app, pilot)
        assert "  ^" in app.transcript.plain
        # undo, select all, help
        await pilot.press("escape", "u")
        await settle(app, pilot)
        assert backend.runs[-1][0] == "undo"
        await pilot.press("V")
        await settle(app, pilot)
        assert len(app.table.selected) == 11
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("enter")
        await settle(app, pilot)
        assert str(app.detail_pane.border_title).startswith("Customer")
        # the command palette offers the registry's actions
        await pilot.press("escape", "ctrl+p")
        await pilot.pause()
        await pilot.press(*"undo")
        await asyncio.sleep(0.3)
        await pilot.press("enter")
        await settle(app, pilot)
        assert [r[0] for r in backend.runs].count("undo") == 2
