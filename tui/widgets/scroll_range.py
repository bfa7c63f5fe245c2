"""Changing a scrolling widget's content size without a layout pass over the screen."""

from __future__ import annotations

from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.widget import Widget


def set_virtual_size(view: ScrollView, size: Size) -> None:
    """Give ``view`` a new virtual (scrollable) size, updating only its own scroll range.

    Assigning ``virtual_size`` makes Textual lay out every widget again, the
    biggest cost of a keystroke in the search. Where the widget's box keeps its
    size (the customer table, the command line), updating its scrollbars is
    enough; they ask for a layout themselves when one appears or disappears.
    """
    if size != view.virtual_size:
        view.set_reactive(Widget.virtual_size, size)
        view._scroll_update(size)
