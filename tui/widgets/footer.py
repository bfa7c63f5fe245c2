"""Textual's Footer, rebuilt only when the keys it shows change.

The stock Footer recomposes (one widget per key) on every change of the
screen's bindings, e.g. each focus change, even when the same keys result;
at start-up that is several rebuilds of the same row. This one compares
what it would show with what it shows.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """A Footer that skips a rebuild when the shown bindings are unchanged."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shown: tuple[object, ...] | None = None

    def _signature(self) -> tuple[object, ...]:
        """Everything ``Footer.compose`` reads from the screen's bindings."""
        keys = tuple(
            (binding, enabled, tooltip, self.app.get_key_display(binding))
            for (_, binding, enabled, tooltip) in self.screen.active_bindings.values()
        )
        return (keys, self.show_command_palette, self.compact)

    def bindings_changed(self, screen: Screen[Any]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        if not self.is_attached:
            return
        signature = self._signature()
        if signature == self._shown:
            return
        self._shown = signature
        await self.recompose()
