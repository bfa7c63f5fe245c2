"""The full-screen app: customer browser, detail pane, command bar.

``OpenInvoiceApp(backend)`` renders what a :class:`tui.backend.Backend`
returns and sends it what the user typed. Every backend call runs in a
thread worker that hands its result back to the UI thread, so the
screen never waits on the database, the mail server or Stripe.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import ProgressBar, TabbedContent, Tabs
from textual.worker import get_current_worker

from commands.errors import UserError
from commands.results import (
    ConfirmationNeeded,
    CustomerDetail,
    CustomerRow,
    MutationResult,
    Progress,
    QueryResult,
)
from tui.backend import Backend, ImportPreview
from tui.keymap import KeymapCommands, bindings_for, resolve_keymap
from tui.widgets.command_bar import CommandBar
from tui.widgets.customer_table import PAGE_SIZE, CustomerTable
from tui.widgets.detail_pane import DetailPane
from tui.widgets.footer import KeyFooter
from tui.widgets.transcript import TABLE_ROWS, Transcript

if TYPE_CHECKING:
    from tui.screens.customer_form import CustomerFormValues
    from tui.screens.note_form import NoteDraft
    from tui.screens.preferences_form import PreferencesValues

# The modal screens (and commands.detail) are imported when first opened: the
# first screen needs none of them (the note form alone pulls in TextArea).

DETAIL_DELAY = 0.12  # seconds the cursor must rest before the detail loads
HEAD_START_WAIT = 0.25  # seconds the first window may hold up the start (then it runs beside)


def quote(value: str) -> str:
    """A value as the command language takes it (quoted when it has to be)."""
    if value and all(ch.isalnum() or ch in "@.-_+" for ch in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def add_customer_sentence(values: Mapping[str, str]) -> str:
    clauses = [
        f"{field} {quote(values[field])}"
        for field in ("email", "company", "phone")
        if values.get(field)
    ]
    sentence = f"add customer {quote(values['name'])}"
    if clauses:
        sentence += " with " + " and ".join(clauses)
    return sentence


def edit_customer_sentences(customer_id: int, form: CustomerFormValues) -> list[str]:
    return [
        f"set {field} of #{customer_id} to {quote(form.values[field])}"
        for field in form.changed
        if form.values[field]
    ]


def note_sentence(customer_id: int, draft: NoteDraft) -> str:
    body = " ".join(draft.body.split())
    verb = "customer note" if draft.kind == "customer" else "note"
    sentence = f"{verb} #{customer_id}: {body}"
    if draft.follow_up_on:
        sentence += f", follow up on {draft.follow_up_on.isoformat()}"
    return sentence


def preferences_sentences(customer_id: int, form: PreferencesValues) -> list[str]:
    """One sentence per changed preference (each its own undoable command)."""
    ref = f"#{customer_id}"
    out: list[str] = []
    for name in form.changed:
        value = form.values[name]
        if name == "terms":
            out.append(f"set terms of {ref} to {value or quote('')}")
        elif name == "billing_frequency":
            out.append(f"set billing frequency of {ref} to {quote(value)}")
        elif name == "preferred_payment_method":
            out.append(f"set preferred payment method of {ref} to {quote(value)}")
        elif name == "paused_until":
            out.append(
                f"pause reminders for {ref} until {value}"
                if value
                else f"resume reminders for {ref}"
            )
    return out


def payment_method_sentence(customer_id: int, action: str, pm_id: str) -> str:
    """The sentence the Payment methods tab runs (``commands.detail`` spells them)."""
    from commands.detail import (
        link_stripe_sentence,
        remove_payment_method_sentence,
        set_default_payment_method_sentence,
    )

    if action == "link":
        return link_stripe_sentence(customer_id)
    if action == "default":
        return set_default_payment_method_sentence(customer_id, pm_id)
    return remove_payment_method_sentence(customer_id, pm_id)


class OpenInvoiceApp(App[None]):
    """The customer browser with detail pane, transcript and command bar."""

    TITLE = "OpenInvoice Customers"
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    BINDINGS = bindings_for("global")
    COMMANDS = App.COMMANDS | {KeymapCommands}

    # -- messages from workers ------------------------------------------------

    class QueryLoaded(Message):
        def __init__(
            self,
            query: str,
            total: int,
            all_total: int,
            keep_cursor: bool,
            first_page: Sequence[CustomerRow] | None = None,
            *,
            exact: bool = True,
        ) -> None:
            super().__init__()
            self.query = query
            self.total = total
            self.all_total = all_total
            self.keep_cursor = keep_cursor
            #: the first window, fetched with the count (new queries only)
            self.first_page = first_page
            #: False: ``total`` is only the first window (the count follows)
            self.exact = exact

    class RunDone(Message):
        def __init__(self, sentence: str, result: Any, confirmed: bool) -> None:
            super().__init__()
            self.sentence = sentence
            self.result = result
            self.confirmed = confirmed

    class RunFailed(Message):
        def __init__(self, sentence: str | None, error: BaseException) -> None:
            super().__init__()
            self.sentence = sentence
            self.error = error

    class DetailLoaded(Message):
        def __init__(self, customer_id: int, detail: CustomerDetail) -> None:
            super().__init__()
            self.customer_id = customer_id
            self.detail = detail

    class PaymentMethodsLoaded(Message):
        def __init__(self, customer_id: int, result: Any) -> None:
            super().__init__()
            self.customer_id = customer_id
            self.result = result

    class ImportPreviewLoaded(Message):
        def __init__(self, sentence: str, preview: ImportPreview) -> None:
            super().__init__()
            self.sentence = sentence
            self.preview = preview

    class SelectAllLoaded(Message):
        def __init__(self, ids: Sequence[int]) -> None:
            super().__init__()
            self.ids = ids

    class ProgressReported(Message):
        def __init__(self, progress: Progress | None) -> None:
            super().__init__()
            self.progress = progress

    # -- setup -----------------------------------------------------------------

    def __init__(
        self,
        backend: Backend,
        *,
        keys: Mapping[str, object] | None = None,
        initial_query: str = "",
        threaded: bool = True,
    ) -> None:
        super().__init__()
        self.backend = backend
        self.key_overrides = resolve_keymap(keys)
        self.initial_query = initial_query
        self.threaded = threaded
        self.query_text = initial_query
        self.total = 0
        self.total_exact = True
        #: the first window on screen (its exact count then only updates the total)
        self._shown_first_page: Sequence[CustomerRow] | None = None
        self._warmed = False
        #: the first screen's rows, fetched while Textual starts (threaded runs only)
        self._head_start: Future[tuple[int, Sequence[CustomerRow]]] | None = None
        if threaded:
            pool = ThreadPoolExecutor(1, thread_name_prefix="first-window")
            self._head_start = pool.submit(self._first_window, initial_query)
            pool.shutdown(wait=False)
            # Textual's start-up is pure Python: beside it the fetch, which lets go
            # of the GIL for every row it steps through, waits for it back each
            # time and takes several times as long (the "convoy effect"). So it
            # gets the interpreter to itself first, for a bounded time.
            wait([self._head_start], timeout=HEAD_START_WAIT)
        self.all_total = 0
        self.detail_id: int | None = None
        self._detail_timer: Timer | None = None
        self._searching = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="browser"):
                yield CustomerTable(id="customers", threaded=self.threaded)
            yield DetailPane(id="detail")
        yield Transcript(id="transcript")
        # (the progress bar, hidden until long work runs, is mounted by the first report)
        yield CommandBar(
            self.backend.complete,
            self.backend.history_path,
            id="command",
            threaded=self.threaded,
        )
        yield KeyFooter()

    def _first_window(self, query: str) -> tuple[int, Sequence[CustomerRow]]:
        """All customers (the M of "N of M") and the first page, before the screen exists."""
        all_total = self.backend.count("")
        return all_total, self.backend.page(query, None, False, 0, PAGE_SIZE)

    def on_mount(self) -> None:
        if self.key_overrides:
            self.set_keymap(self.key_overrides)
        self.query_one("#transcript", Transcript).border_title = "Transcript"
        self._set_title()
        self.table.focus()
        if not self._show_head_start():
            self.load_query(self.initial_query)

    def _show_head_start(self) -> bool:
        """The first window is here already: show it now, in the first frame (no worker)."""
        head_start = self._head_start
        if head_start is None or not head_start.done() or head_start.exception() is not None:
            return False
        all_total, rows = head_start.result()
        page_size = self.table.page_size
        if len(rows) < page_size:
            total = len(rows)
        elif not self.initial_query.strip():
            total = all_total  # every customer: the count is known
        else:
            return False  # the worker takes it from here (and counts)
        self._head_start = None
        self.on_open_invoice_app_query_loaded(
            self.QueryLoaded(self.initial_query, total, all_total, False, rows[:page_size])
        )
        return True

    @property
    def table(self) -> CustomerTable:
        return self.query_one("#customers", CustomerTable)

    @property
    def transcript(self) -> Transcript:
        return self.query_one("#transcript", Transcript)

    @property
    def command_bar(self) -> CommandBar:
        return self.query_one("#command", CommandBar)

    @property
    def detail_pane(self) -> DetailPane:
        return self.query_one("#detail", DetailPane)

    # -- the list ------------------------------------------------------------------

    def _set_title(self) -> None:
        browser = self.query_one("#browser")
        noun = "customer" if self.all_total == 1 else "customers"
        shown = f"{self.total:,}" + ("" if self.total_exact else "+")
        title = f"{shown} of {self.all_total:,} {noun}"
        if self.query_text:
            title += f" — {self.query_text}"
        browser.border_title = title
        selected = len(self.table.selected)
        browser.border_subtitle = f"{selected:,} selected" if selected else ""

    def load_query(
        self, query: str, *, keep_cursor: bool = False, quiet: bool = False, recount: bool = False
    ) -> None:
        """Count the query off the UI thread, then show it.

        A new query also brings its first window along, so the list repaints
        after one trip to the database. ``quiet`` drops errors (live search:
        half-typed sentences); ``recount`` counts all customers again (after
        a change).
        """
        new_query = query != self.query_text
        all_total = None if (recount or not self.all_total) else self.all_total
        self._load_query_worker(
            query,
            keep_cursor=keep_cursor,
            quiet=quiet,
            all_total=all_total,
            prefetch=new_query or not keep_cursor,
            page_size=self.table.page_size,
        )

    @work(thread=True, exclusive=True, group="query")
    def _load_query_worker(
        self,
        query: str,
        *,
        keep_cursor: bool,
        quiet: bool,
        all_total: int | None,
        prefetch: bool,
        page_size: int,
    ) -> None:
        """The first window first (an index walk that stops early), then the count.

        A window shorter than a page *is* the count. Otherwise the list is
        shown at once with a provisional total ("100+ of ...") and the exact
        count (a scan of every match) follows in a second message, so a
        keystroke in the search repaints the list without waiting for it.
        """
        worker = get_current_worker()
        head_start, self._head_start = self._head_start, None
        try:
            rows: Sequence[CustomerRow] | None = None
            first = query == self.initial_query and prefetch and page_size <= PAGE_SIZE
            if head_start is not None and first:
                with contextlib.suppress(Exception):  # asked again below, errors and all
                    all_total, rows = head_start.result()
                    rows = rows[:page_size]
            if all_total is None:
                all_total = self.backend.count("")
            if prefetch and rows is None:
                rows = self.backend.page(query, None, False, 0, page_size)
            if worker.is_cancelled:
                return
            if rows is not None and len(rows) < page_size:
                total = len(rows)
            elif not query.strip():
                total = all_total  # every customer: counted already
            else:
                if rows is not None:
                    self.post_message(
                        self.QueryLoaded(
                            query, len(rows), all_total, keep_cursor, rows, exact=False
                        )
                    )
                    keep_cursor = True
                total = self.backend.count(query)
        except Exception as error:
            if not quiet and not worker.is_cancelled:
                self.post_message(self.RunFailed(query, error))
            return
        if not worker.is_cancelled:
            self.post_message(self.QueryLoaded(query, total, all_total, keep_cursor, rows))

    def _fetch(
        self, query: str, offset: int, limit: int, sort_key: str | None, descending: bool
    ) -> Sequence[CustomerRow]:
        return self.backend.page(query, sort_key, descending, offset, limit)

    def on_open_invoice_app_query_loaded(self, message: QueryLoaded) -> None:
        new_query = message.query != self.query_text
        table = self.table
        # the exact count of the rows on screen already: nothing new to paint
        counted_only = (
            not new_query
            and message.first_page is not None
            and message.first_page is self._shown_first_page
            and table.sort_key is None
        )
        self.query_text = message.query
        self.total = message.total
        self.total_exact = message.exact
        self.all_total = message.all_total
        if counted_only:
            table.set_total(message.total)
            self._set_title()
            return
        self._shown_first_page = message.first_page
        reset_sort = new_query
        first_page = message.first_page
        if not reset_sort and table.sort_key is not None:
            first_page = None  # fetched in the query's own order, not the column's
        table.load(
            message.total,
            partial(self._fetch, message.query),
            keep_cursor=message.keep_cursor and not new_query,
            keep_selection=not new_query,
            reset_sort=reset_sort,
            first_page=first_page,
        )
        self._set_title()
        if not self._warmed:
            self._warmed = True
            self.set_timer(0.3, self._warm_up)  # once the first screen is painted

    @work(thread=True, exclusive=True, group="warm-up")
    def _warm_up(self) -> None:
        """After the first screen: load what the first sentence needs, off screen."""
        warm_up = getattr(self.backend, "warm_up", None)
        if warm_up is not None:
            with contextlib.suppress(Exception):  # a head start: real calls report problems
                warm_up()

    def on_customer_table_fetch_failed(self, message: CustomerTable.FetchFailed) -> None:
        self.post_message(self.RunFailed(self.query_text, message.error))

    def on_customer_table_selection_changed(self, _message: CustomerTable.SelectionChanged) -> None:
        self._set_title()

    # -- the detail -----------------------------------------------------------------

    def on_customer_table_cursor_moved(self, message: CustomerTable.CursorMoved) -> None:
        if self._detail_timer is not None:
            self._detail_timer.stop()
        customer_id = message.customer_id
        if customer_id is None or customer_id == self.detail_id:
            return
        self._detail_timer = self.set_timer(DETAIL_DELAY, partial(self.load_detail, customer_id))

    def on_customer_table_activated(self, message: CustomerTable.Activated) -> None:
        if message.customer_id != self.detail_id:
            self.load_detail(message.customer_id)
        self.detail_pane.query_one(Tabs).focus()

    @work(thread=True, exclusive=True, group="detail")
    def load_detail(self, customer_id: int) -> None:
        try:
            detail = self.backend.detail(customer_id)
        except Exception as error:
            self.post_message(self.RunFailed(None, error))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.DetailLoaded(customer_id, detail))

    def on_open_invoice_app_detail_loaded(self, message: DetailLoaded) -> None:
        self.detail_id = message.customer_id
        self.detail_pane.show(message.detail)
        if self.detail_pane.active_tab == "payment-methods":
            self.load_payment_methods(message.customer_id)

    @on(TabbedContent.TabActivated, "#detail-tabs")
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "payment-methods" and self.detail_id is not None:
            self.load_payment_methods(self.detail_id)

    @work(thread=True, exclusive=True, group="payment-methods")
    def load_payment_methods(self, customer_id: int) -> None:
        try:
            result: Any = self.backend.payment_methods(customer_id)
        except Exception as error:
            result = error
        if not get_current_worker().is_cancelled:
            self.post_message(self.PaymentMethodsLoaded(customer_id, result))

    def on_open_invoice_app_payment_methods_loaded(self, message: PaymentMethodsLoaded) -> None:
        if message.customer_id == self.detail_id:
            self.detail_pane.show_payment_methods(message.result)

    def on_detail_pane_payment_method_chosen(self, message: DetailPane.PaymentMethodChosen) -> None:
        from tui.screens.confirm import ConfirmScreen

        customer_id = self.detail_id
        if customer_id is None:
            return
        try:
            sentence = payment_method_sentence(customer_id, message.action, message.pm_id)
        except UserError as error:
            self.transcript.add_error(None, error)
            return
        if message.action in ("default", "link"):
            self.submit(sentence)
            return
        detail = self.detail_pane.detail
        name = detail.customer.name if detail is not None else f"#{customer_id}"
        confirmation = ConfirmationNeeded(
            "remove payment method", 1, f"Detach {message.description} from {name} on Stripe"
        )

        def answered(answer: bool | None) -> None:
            if answer:
                self.submit(sentence, confirmed=True)
            else:
                self.transcript.add_info("Cancelled — nothing changed.")

        self.push_screen(
            ConfirmScreen(confirmation, sentence=sentence, heading="Remove a payment method?"),
            answered,
        )

    # -- running sentences ----------------------------------------------------------

    @property
    def searching(self) -> bool:
        """True while the command bar is a live search (``/``): every edit filters the list."""
        return self._searching

    @searching.setter
    def searching(self, on: bool) -> None:
        self._searching = on
        with contextlib.suppress(NoMatches):  # (not composed yet)
            self.command_bar.suggesting = not on  # the list is the completion

    def on_command_bar_submitted(self, message: CommandBar.Submitted) -> None:
        self.searching = False
        self.submit(message.sentence)

    def on_command_bar_changed(self, message: CommandBar.Changed) -> None:
        """Live search: while ``/`` is on, every edit of ``find ...`` filters the list."""
        if not self.searching:
            return
        value = " ".join(message.value.split())
        if not (value + " ").startswith("find "):
            self.searching = False  # the user turned it into another command
            self.command_bar.request_completions(message.value)
            return
        query = value if value != "find" else ""
        if query != self.query_text:
            self.load_query(query, quiet=True)

    def submit(self, *sentences: str, confirmed: bool = False, echo: bool = True) -> None:
        """Run sentences one after the other in a worker, showing each in the transcript."""
        if echo:
            for sentence in sentences:
                self.transcript.add_sentence(sentence)
        selection = tuple(sorted(self.table.selected))
        self._run_worker(list(sentences), confirmed, selection)

    @work(thread=True, group="run")
    def _run_worker(
        self, sentences: list[str], confirmed: bool, selection: tuple[int, ...]
    ) -> None:
        for sentence in sentences:
            try:
                result = self.backend.run(
                    sentence,
                    confirmed=confirmed,
                    selection=selection,
                    progress=self._report_progress,
                    rows_shown=TABLE_ROWS,
                )
            except Exception as error:
                self.post_message(self.RunFailed(sentence, error))
                return
            finally:
                self.post_message(self.ProgressReported(None))
            self.post_message(self.RunDone(sentence, result, confirmed))
            if isinstance(result, ConfirmationNeeded):
                return  # the rest waits for the answer

    def _report_progress(self, progress: Progress) -> None:
        self.post_message(self.ProgressReported(progress))  # post_message is thread-safe

    def on_open_invoice_app_progress_reported(self, message: ProgressReported) -> None:
        try:
            bar = self.query_one("#progress", ProgressBar)
        except NoMatches:  # the first command: the bar goes above the command bar
            bar = ProgressBar(id="progress", show_eta=False)
            self.mount(bar, before=self.command_bar)
        progress = message.progress
        if progress is None:
            bar.remove_class("-busy")
            return
        bar.add_class("-busy")
        bar.update(total=progress.total, progress=progress.done)
        bar.tooltip = progress.label or None

    def on_open_invoice_app_run_failed(self, message: RunFailed) -> None:
        error = message.error
        if isinstance(error, UserError):
            self.transcript.add_error(message.sentence, error)
        else:
            self.transcript.add_error(None, f"Something went wrong: {error!r}")

    def on_open_invoice_app_run_done(self, message: RunDone) -> None:
        result = message.result
        self.transcript.add_result(result)
        if isinstance(result, ConfirmationNeeded):
            self._ask(message.sentence, result)
        elif isinstance(result, QueryResult):
            self.load_query(message.sentence)
        elif isinstance(result, MutationResult) and not result.dry_run:
            self.refresh_data()
        elif self._is_payment_method_change(message.sentence):
            self.refresh_data()  # Stripe changed: show the tab again

    @staticmethod
    def _is_payment_method_change(sentence: str) -> bool:
        words = sentence.lower().split()
        return (
            words[:4] == ["set", "default", "payment", "method"]
            or words[:3] == ["remove", "payment", "method"]
            or (words[:1] == ["link"] and words[-2:] == ["to", "stripe"])
        )

    def refresh_data(self) -> None:
        """Figures changed: count again, repaint the list, reload the detail."""
        self.load_query(self.query_text, keep_cursor=True, recount=True)
        if self.detail_id is not None:
            self.load_detail(self.detail_id)

    def _ask(self, sentence: str, confirmation: ConfirmationNeeded) -> None:
        from tui.screens.confirm import ConfirmScreen

        if confirmation.action == "import":
            self._load_import_preview(sentence)
            return
        self.push_screen(
            ConfirmScreen(confirmation, sentence=sentence), partial(self._answered, sentence)
        )

    def _answered(self, sentence: str, answer: bool | None) -> None:
        if answer:
            self.submit(sentence, confirmed=True, echo=False)
        else:
            self.transcript.add_info("Cancelled — nothing changed.")

    @work(thread=True, exclusive=True, group="import-preview")
    def _load_import_preview(self, sentence: str) -> None:
        try:
            preview = self.backend.import_preview(sentence)
        except Exception as error:
            self.post_message(self.RunFailed(sentence, error))
            return
        self.post_message(self.ImportPreviewLoaded(sentence, preview))

    def on_open_invoice_app_import_preview_loaded(self, message: ImportPreviewLoaded) -> None:
        from tui.screens.import_mapping import ImportMappingScreen

        self.push_screen(
            ImportMappingScreen(message.preview, message.sentence, self.backend),
            partial(self._import_answered, message.sentence),
        )

    def _import_answered(self, typed: str, sentence: str | None) -> None:
        """Run the import as the mapping screen left it (its sentence says the mapping)."""
        if sentence is None:
            self.transcript.add_info("Cancelled — nothing changed.")
            return
        if sentence != typed:  # Up brings back the import as mapped, to run it again
            self.command_bar.history.add(sentence)
        self.submit(sentence, confirmed=True, echo=sentence != typed)

    # -- actions (ids in tui.keymap.REGISTRY) ----------------------------------------

    def action_focus_command(self) -> None:
        self.command_bar.focus_input()

    def action_search(self) -> None:
        self.searching = True
        self.command_bar.focus_input("find ")

    def action_focus_list(self) -> None:
        self.searching = False
        self.table.focus()

    def action_toggle_detail(self) -> None:
        self.detail_pane.toggle_class("-hidden")
        focused = self.focused
        hidden = self.detail_pane.has_class("-hidden")
        if hidden and focused is not None and self.detail_pane in focused.ancestors_with_self:
            self.table.focus()

    def _focused_pane(self) -> str:
        focused: Widget | None = self.focused
        while focused is not None:
            if isinstance(focused, CustomerTable):
                return "list"
            if isinstance(focused, CommandBar):
                return "command"
            if isinstance(focused, DetailPane):
                return "detail"
            parent = focused.parent
            focused = parent if isinstance(parent, Widget) else None
        return "global"

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        self.push_screen(HelpScreen(self._focused_pane(), self.key_overrides))

    def action_undo(self) -> None:
        self.submit("undo")

    def action_select_all(self) -> None:
        self._select_all_worker(self.query_text, self.table.sort_key, self.table.descending)

    @work(thread=True, exclusive=True, group="select-all")
    def _select_all_worker(self, query: str, sort_key: str | None, descending: bool) -> None:
        try:
            ids = self.backend.ids(query, sort_key, descending)
        except Exception as error:
            self.post_message(self.RunFailed(None, error))
            return
        self.post_message(self.SelectAllLoaded(ids))

    def on_open_invoice_app_select_all_loaded(self, message: SelectAllLoaded) -> None:
        self.table.select_ids(message.ids)
        self.transcript.add_info(f"Selected {len(message.ids):,} customers — use `selected`.")

    def action_clear_selection(self) -> None:
        self.table.clear_selection()

    def action_refresh_list(self) -> None:
        self.refresh_data()

    def action_add_customer(self) -> None:
        from tui.screens.customer_form import CustomerFormScreen

        def done(form: CustomerFormValues | None) -> None:
            if form is not None:
                self.submit(add_customer_sentence(form.values))

        self.push_screen(CustomerFormScreen(), done)

    def action_edit_customer(self) -> None:
        from tui.screens.customer_form import CustomerFormScreen

        customer = self.table.cursor_customer
        if customer is None:
            self.bell()
            return
        initial = {
            "name": customer.name,
            "email": customer.email,
            "company": customer.company,
            "phone": customer.phone,
        }

        def done(form: CustomerFormValues | None) -> None:
            if form is not None and form.customer_id is not None:
                sentences = edit_customer_sentences(form.customer_id, form)
                if sentences:
                    self.submit(*sentences)

        self.push_screen(CustomerFormScreen(initial, customer_id=customer.id), done)

    def action_edit_preferences(self) -> None:
        from tui.screens.preferences_form import PreferencesFormScreen

        detail = self.detail_pane.detail
        customer = self.table.cursor_customer
        if detail is None or customer is None or detail.customer.id != customer.id:
            self.bell()  # the detail of the row under the cursor is still loading
            return
        prefs = {" ".join(k.replace("_", " ").split()): v for k, v in detail.preferences.items()}
        paused = detail.reminders.get("paused until") or detail.reminders.get("paused_until")
        initial = {
            "terms": prefs.get("payment terms") or prefs.get("terms"),
            "billing_frequency": prefs.get("billing frequency"),
            "preferred_payment_method": prefs.get("preferred payment method"),
            "paused_until": paused.isoformat() if isinstance(paused, date) else paused,
        }
        initial = {k: (None if v is None else str(v)) for k, v in initial.items()}

        def done(form: PreferencesValues | None) -> None:
            if form is not None and form.customer_id is not None:
                sentences = preferences_sentences(form.customer_id, form)
                if sentences:
                    self.submit(*sentences)

        self.push_screen(
            PreferencesFormScreen(customer.name, initial, customer_id=customer.id), done
        )

    def action_add_note(self) -> None:
        from tui.screens.note_form import NoteFormScreen

        customer = self.table.cursor_customer
        if customer is None:
            self.bell()
            return

        def done(draft: NoteDraft | None) -> None:
            if draft is not None and draft.customer_id is not None:
                self.submit(note_sentence(draft.customer_id, draft))

        self.push_screen(NoteFormScreen(customer.name, customer_id=customer.id), done)


def run_app(backend: Backend, **options: Any) -> None:
    """Open the full-screen app (``keys=`` the config's ``[keys]`` section)."""
    OpenInvoiceApp(backend, **options).run()
