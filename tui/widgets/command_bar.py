"""The command bar: an input with completion as you type and a history.

- Completions come from a ``complete(text)`` callable (the backend's) in a
  thread worker, shown in a dropdown above the input; ``Tab`` accepts the
  highlighted one, ``Up``/``Down`` move in the dropdown, ``Esc`` closes it.
- With the dropdown closed, ``Up``/``Down`` walk the history, which is kept
  in a file across runs (one sentence a line, deduplicated, capped).
- ``Enter`` posts :class:`CommandBar.Submitted` with the sentence.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from tui.keymap import bindings_for
from tui.widgets.scroll_range import set_virtual_size

Completion = tuple[str, str, int]
Complete = Callable[[str], Sequence[Completion]]

HISTORY_LIMIT = 1000


class History:
    """Sentences typed before, oldest first, kept in a text file."""

    def __init__(self, path: Path | None, limit: int = HISTORY_LIMIT) -> None:
        self.path = path
        self.limit = limit
        self.entries: list[str] = []
        self.position: int | None = None  # index into entries while browsing
        self.draft = ""
        self.load()

    def load(self) -> None:
        if self.path is None:
            return
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except (FileNotFoundError, OSError, UnicodeDecodeError):
            lines = []
        entries: list[str] = []
        for line in lines:
            line = line.strip()
            if line:
                if line in entries:
                    entries.remove(line)
                entries.append(line)
        self.entries = entries[-self.limit :]

    def add(self, sentence: str) -> None:
        sentence = " ".join(sentence.split())
        self.position = None
        if not sentence:
            return
        if sentence in self.entries:
            self.entries.remove(sentence)
        self.entries.append(sentence)
        del self.entries[: -self.limit]
        self.save()

    def save(self) -> None:
        if self.path is None:
            return
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text("".join(f"{e}\n" for e in self.entries), encoding="utf-8")
            tmp.replace(self.path)

    def back(self, current: str) -> str | None:
        """The previous sentence (``None``: nothing older)."""
        if not self.entries:
            return None
        if self.position is None:
            self.draft = current
            self.position = len(self.entries)
        if self.position == 0:
            return None
        self.position -= 1
        return self.entries[self.position]

    def forward(self) -> str | None:
        """The next sentence, then the draft; ``None`` when not browsing."""
        if self.position is None:
            return None
        self.position += 1
        if self.position >= len(self.entries):
            self.position = None
            return self.draft
        return self.entries[self.position]

    @property
    def browsing(self) -> bool:
        return self.position is not None


def apply_completion(value: str, completion: Completion) -> str:
    """``value`` with the completion put in (and a space to go on typing)."""
    text, _kind, replace_from = completion
    replace_from = max(0, min(replace_from, len(value)))
    new = value[:replace_from] + text
    if not new.endswith((" ", "/")):
        new += " "
    return new


class SentenceInput(Input):
    """Textual's Input, without a layout pass over the whole screen on every key.

    Input keeps its text's width in ``virtual_size``, which Textual treats as a
    layout change; the box itself never changes size here (full width, fixed
    height), so only the input's own scroll range is updated.
    """

    def _watch_value(self, value: str) -> None:
        set_virtual_size(self, Size(self.content_width, 1))
        super()._watch_value(value)  # sets the same size again: no layout


class CommandBar(Vertical):
    """Completion dropdown + input; posts :class:`Submitted`."""

    BINDINGS = bindings_for("command")

    DEFAULT_CSS = """
    CommandBar {
        height: auto;
    }
    CommandBar > OptionList {
        display: none;
        max-height: 8;
        border: none;
        padding: 0 1;
    }
    CommandBar.-completing > OptionList {
        display: block;
    }
    """

    class Submitted(Message):
        def __init__(self, sentence: str) -> None:
            super().__init__()
            self.sentence = sentence

    class Changed(Message):
        """The user edited the text (typing, completion, history; not clearing)."""

        def __init__(self, value: str) -> None:
            super().__init__()
            self.value = value

    def __init__(
        self,
        complete: Complete | None = None,
        history_path: Path | None = None,
        *,
        threaded: bool = True,
        max_completions: int = 50,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.complete = complete
        self.history = History(history_path)
        self.threaded = threaded
        self.max_completions = max_completions
        self.completions: list[Completion] = []
        self._quiet = False  # True while the value is being set by us
        #: off during a live search: the list itself is the answer, and a
        #: dropdown opening and closing on every key would re-lay out the screen
        self.suggesting = True
        self._dropdown: OptionList | None = None

    def compose(self) -> ComposeResult:
        # (the completion dropdown is mounted when first needed: ``dropdown``)
        yield SentenceInput(
            placeholder="Type a command — e.g. late payers sorted by revenue",
            id="input",
            select_on_focus=False,
        )

    @property
    def input(self) -> Input:
        return self.query_one("#input", Input)

    @property
    def dropdown(self) -> OptionList:
        """The completion dropdown above the input (made on first use)."""
        if self._dropdown is None:
            self._dropdown = OptionList(id="completions")
            self._dropdown.can_focus = False
            self.mount(self._dropdown, before=self.input)
        return self._dropdown

    @property
    def value(self) -> str:
        return self.input.value

    def set_value(self, value: str, *, complete: bool = False) -> None:
        """Put text in the input (cursor at the end) without opening the dropdown."""
        self._quiet = not complete and value != self.input.value
        self.input.value = value
        self.input.cursor_position = len(value)
        if not complete:
            self.close_completions()

    def focus_input(self, prefill: str | None = None) -> None:
        if prefill is not None:
            self.set_value(prefill, complete=True)
        self.input.focus()

    # -- completion -----------------------------------------------------------

    @property
    def completing(self) -> bool:
        return self.has_class("-completing")

    def close_completions(self) -> None:
        self.completions = []
        if self._dropdown is not None:
            self._dropdown.clear_options()
        self.remove_class("-completing")

    def show_completions(self, value: str, completions: Sequence[Completion]) -> None:
        if value != self.input.value:
            return  # stale: the user typed on
        self.completions = list(completions)[: self.max_completions]
        dropdown = self.dropdown
        dropdown.clear_options()
        if not self.completions:
            self.remove_class("-completing")
            return
        options = []
        for text, kind, _ in self.completions:
            label = Text(text)
            label.append(f"  {kind}", style="dim italic")
            options.append(Option(label))
        dropdown.add_options(options)
        dropdown.highlighted = 0
        self.add_class("-completing")

    @on(Input.Changed, "#input")
    def _input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self._quiet:
            self._quiet = False
            if event.value:
                self.post_message(self.Changed(event.value))
            return
        self.history.position = None
        self.post_message(self.Changed(event.value))
        self.request_completions(event.value)

    def request_completions(self, value: str) -> None:
        if self.complete is None or not value.strip() or not self.suggesting:
            self.close_completions()
            return
        if self.threaded:
            self._complete_worker(value)
        else:
            self.show_completions(value, self.complete(value))

    @work(thread=True, exclusive=True, group="command-bar-complete")
    def _complete_worker(self, value: str) -> None:
        assert self.complete is not None
        try:
            completions = self.complete(value)
        except Exception:  # completion must never break typing
            completions = []
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self.show_completions, value, completions)

    def action_accept_completion(self) -> None:
        if not self.completing or not self.completions:
            raise SkipAction()
        index = self.dropdown.highlighted or 0
        new = apply_completion(self.input.value, self.completions[index])
        self.set_value(new, complete=True)

    def action_close_completions(self) -> None:
        if not self.completing:
            raise SkipAction()
        self.close_completions()

    # -- history -----------------------------------------------------------------

    def action_history_back(self) -> None:
        if self.completing and not self.history.browsing:
            self.dropdown.action_cursor_up()
            return
        sentence = self.history.back(self.input.value)
        if sentence is not None:
            self.set_value(sentence)

    def action_history_forward(self) -> None:
        if self.completing and not self.history.browsing:
            self.dropdown.action_cursor_down()
            return
        sentence = self.history.forward()
        if sentence is not None:
            self.set_value(sentence)

    # -- submit ------------------------------------------------------------------

    @on(Input.Submitted, "#input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        sentence = event.value.strip()
        self.close_completions()
        if not sentence:
            return
        self.history.add(sentence)
        self.set_value("")
        self.post_message(self.Submitted(sentence))

    @on(OptionList.OptionSelected, "#completions")
    def _option_clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if 0 <= event.option_index < len(self.completions):
            new = apply_completion(self.input.value, self.completions[event.option_index])
            self.set_value(new, complete=True)
        self.input.focus()
