"""Text in, typed command objects out.

Public API:

- :func:`grammar.parser.parse` (``parse(text) -> Command``) and
  :class:`grammar.parser.ParseError`; :func:`grammar.parser.suggest` for
  did-you-mean matching of tag/segment names.
- :func:`grammar.complete.complete` with :class:`grammar.complete.Vocabulary`
  and :class:`grammar.complete.Completion`.
- :func:`grammar.serialize.to_dict` for JSON output.
- The command and filter dataclasses in :mod:`grammar.ast`, plus
  :func:`grammar.ast.resolve_date`.

The package is pure: no database, no I/O except reading ``commands.lark``.
"""

from grammar.ast import Command, Query, resolve_date
from grammar.complete import Completion, Vocabulary, complete
from grammar.parser import ParseError, parse, suggest
from grammar.serialize import to_dict

__all__ = [
    "Command",
    "Completion",
    "ParseError",
    "Query",
    "Vocabulary",
    "complete",
    "parse",
    "resolve_date",
    "suggest",
    "to_dict",
]
