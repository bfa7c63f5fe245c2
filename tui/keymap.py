"""Key bindings as data: one registry for bindings, help and the palette.

Every binding has an id so the user can remap it in the config file's
``[keys]`` section (``focus_command = "ctrl+k"``); :func:`resolve_keymap`
turns that section into the mapping Textual's ``App.set_keymap`` takes.
The help screen and the command palette read the same registry, so what
they show is always what the keys do.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial

from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider


@dataclass(frozen=True)
class KeySpec:
    """One binding: ``id`` is stable, ``key`` is the default key(s)."""

    id: str
    key: str
    action: str
    description: str
    pane: str  # "global", "list", "command", "detail"
    show: bool = True
    palette: bool = True  # offered in the command palette
    priority: bool = False


#: the panes, in the order the help screen lists them
PANES = {
    "list": "Customer list",
    "detail": "Detail pane",
    "command": "Command bar",
    "global": "Everywhere",
}

REGISTRY: tuple[KeySpec, ...] = (
    # anywhere
    KeySpec("focus_command", "colon", "app.focus_command", "Command", "global"),
    KeySpec("search", "slash", "app.search", "Search", "global"),
    KeySpec("focus_list", "escape", "app.focus_list", "Back to list", "global", show=False),
    KeySpec("help", "question_mark,f1", "app.help", "Help", "global"),
    KeySpec("undo", "u", "app.undo", "Undo", "global"),
    KeySpec("add_customer", "a", "app.add_customer", "Add customer", "global"),
    KeySpec("edit_customer", "e", "app.edit_customer", "Edit customer", "global"),
    KeySpec("add_note", "n", "app.add_note", "Add note", "global"),
    KeySpec("edit_preferences", "p", "app.edit_preferences", "Edit preferences", "global"),
    KeySpec("select_all", "V", "app.select_all", "Select all matching", "global"),
    KeySpec("clear_selection", "ctrl+u", "app.clear_selection", "Clear selection", "global"),
    KeySpec("refresh", "ctrl+r", "app.refresh_list", "Refresh", "global", show=False),
    KeySpec("toggle_detail", "d", "app.toggle_detail", "Show/hide detail", "global", show=False),
    KeySpec("quit", "ctrl+q", "app.quit", "Quit", "global", priority=True),
    # customer list
    KeySpec("cursor_down", "j,down", "cursor_down", "Down", "list", show=False, palette=False),
    KeySpec("cursor_up", "k,up", "cursor_up", "Up", "list", show=False, palette=False),
    KeySpec("page_down", "pagedown", "page_down", "Page down", "list", show=False),
    KeySpec("page_up", "pageup", "page_up", "Page up", "list", show=False),
    KeySpec("first_row", "g,home", "first_row", "First row", "list", show=False),
    KeySpec("last_row", "G,end", "last_row", "Last row", "list", show=False),
    KeySpec("toggle_select", "space", "toggle_select", "Select", "list"),
    KeySpec("open_detail", "enter", "open_detail", "Open detail", "list"),
    KeySpec("sort_name", "1", "sort('name')", "Sort by name", "list", show=False),
    KeySpec("sort_company", "2", "sort('company')", "Sort by company", "list", show=False),
    KeySpec("sort_email", "3", "sort('email')", "Sort by email", "list", show=False),
    KeySpec("sort_revenue", "4", "sort('revenue')", "Sort by revenue", "list", show=False),
    KeySpec("sort_invoices", "5", "sort('invoice_count')", "Sort by invoices", "list", show=False),
    KeySpec(
        "sort_outstanding", "6", "sort('outstanding')", "Sort by outstanding", "list", show=False
    ),
    KeySpec(
        "sort_activity", "7", "sort('last_activity')", "Sort by last activity", "list", show=False
    ),
    KeySpec("sort_tags", "8", "sort('tags')", "Sort by tags", "list", show=False),
    # command bar
    KeySpec("accept_completion", "tab", "accept_completion", "Complete", "command"),
    KeySpec("history_back", "up", "history_back", "Previous", "command", show=False),
    KeySpec("history_forward", "down", "history_forward", "Next", "command", show=False),
    KeySpec("close_completions", "escape", "close_completions", "Close", "command", show=False),
    # detail pane
    KeySpec("next_tab", "right,l", "next_tab", "Next tab", "detail", show=False),
    KeySpec("previous_tab", "left,h", "previous_tab", "Previous tab", "detail", show=False),
    KeySpec("pm_default", "m", "pm_default", "Make default (payment method)", "detail"),
    KeySpec("pm_remove", "x,delete", "pm_remove", "Remove method", "detail"),
    KeySpec("pm_link", "L", "pm_link", "Link to Stripe", "detail"),
)

_BY_ID = {spec.id: spec for spec in REGISTRY}


def spec(binding_id: str) -> KeySpec:
    return _BY_ID[binding_id]


def bindings_for(pane: str) -> list[BindingType]:
    """Textual bindings (with ids) of one pane, for a widget's ``BINDINGS``."""
    return [
        Binding(
            s.key,
            s.action.removeprefix("app.") if pane == "global" else s.action,
            s.description,
            show=s.show,
            id=s.id,
            priority=s.priority,
        )
        for s in REGISTRY
        if s.pane == pane
    ]


def resolve_keymap(config_keys: Mapping[str, object] | None) -> dict[str, str]:
    """The ``[keys]`` section as ``{binding id: keys}``; unknown ids are an error.

    Values may be a string (``"ctrl+k"``, ``"ctrl+k,f2"``) or a list of keys.
    """
    keymap: dict[str, str] = {}
    for binding_id, keys in (config_keys or {}).items():
        if binding_id not in _BY_ID:
            known = ", ".join(sorted(_BY_ID))
            raise ValueError(f"unknown key binding id {binding_id!r} (known: {known})")
        if isinstance(keys, str):
            keymap[binding_id] = keys
        elif isinstance(keys, Iterable):
            keymap[binding_id] = ",".join(str(k) for k in keys)
        else:
            raise ValueError(f"keys for {binding_id!r} must be a string or a list")
    return keymap


def effective_key(binding_id: str, keymap: Mapping[str, str] | None = None) -> str:
    """The key(s) bound to ``binding_id`` after remapping."""
    if keymap and binding_id in keymap:
        return keymap[binding_id]
    return _BY_ID[binding_id].key


def display_key(keys: str) -> str:
    """``"question_mark,f1"`` -> ``"? / F1"``."""
    names = {
        "question_mark": "?",
        "colon": ":",
        "slash": "/",
        "space": "Space",
        "escape": "Esc",
        "enter": "Enter",
        "pagedown": "PgDn",
        "pageup": "PgUp",
        "home": "Home",
        "end": "End",
        "up": "↑",
        "down": "↓",
        "left": "←",
        "right": "→",
        "tab": "Tab",
    }
    out = []
    for key in keys.split(","):
        key = key.strip()
        if key in names:
            out.append(names[key])
        elif key.startswith("f") and key[1:].isdigit():
            out.append(key.upper())
        elif "+" in key:
            out.append("+".join(part.capitalize() for part in key.split("+")))
        else:
            out.append(key)
    return " / ".join(out)


def help_rows(
    panes: Iterable[str], keymap: Mapping[str, str] | None = None
) -> Iterator[tuple[str, str, str, str]]:
    """``(pane title, keys, description, id)`` for the help screen."""
    for pane in panes:
        for s in REGISTRY:
            if s.pane == pane:
                keys = display_key(effective_key(s.id, keymap))
                yield PANES.get(pane, pane), keys, s.description, s.id


class KeymapCommands(Provider):
    """Command palette entries built from the registry (app-level actions)."""

    def _entries(self) -> list[KeySpec]:
        return [s for s in REGISTRY if s.palette and s.action.startswith("app.")]

    def _keymap(self) -> Mapping[str, str]:
        return getattr(self.app, "key_overrides", {}) or {}

    async def _run(self, action: str) -> None:
        await self.app.run_action(action)

    async def discover(self) -> Hits:
        for s in self._entries():
            yield DiscoveryHit(
                s.description,
                partial(self._run, s.action),
                help=display_key(effective_key(s.id, self._keymap())),
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for s in self._entries():
            score = matcher.match(s.description)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(s.description),
                    partial(self._run, s.action),
                    help=display_key(effective_key(s.id, self._keymap())),
                )
