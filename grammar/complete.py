"""What may come next at the end of a partial command line.

``complete(text, vocabulary)`` feeds everything before the word being typed
to the LALR parser (``parse_interactive``), asks which terminals are viable
next, and turns them into keyword completions, or into tag / segment /
field / customer names from the caller's :class:`Vocabulary` where the
grammar expects such a name. Only candidates starting with the partial word
(case-insensitive) are returned.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from grammar.parser import interactive_parser, keyword_map, viable

__all__ = ["Completion", "Vocabulary", "complete"]


@dataclass(frozen=True)
class Vocabulary:
    """Names the caller knows about (plain tuples, filled from the store)."""

    tags: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    customers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Completion:
    """One candidate: replace text[replace_from:] with ``text`` (kind: keyword, tag, ...)."""

    text: str
    kind: str
    replace_from: int


_PARTIAL_RE = re.compile(r"[^\s,:\"]*\Z")
_WORD_TERMS = ("NAME", "TAGNAME", "FIELDNAME", "TEXT", "STRING", "INT", "AMOUNT", "DATE")
# terminals the lexer makes from plain words (no keyword of their own)
_SPECIAL = {"_TAGWITH": "with", "_IN_STATUS": "in", "REST": ""}
_CACHE: dict[tuple[Any, ...], tuple[str, ...]] = {}
_CACHE_MAX = 4096


def _split(text: str) -> tuple[str, str, int, bool]:
    """Return (prefix, partial, replace_from, quoted)."""
    if text.count('"') % 2 == 1:
        start = text.rfind('"')
        return text[:start], text[start + 1 :], start, True
    m = _PARTIAL_RE.search(text)
    start = m.start() if m else len(text)
    return text[:start], text[start:], start, False


def _viable_terms(prefix: str) -> tuple[str, ...] | None:
    parser = interactive_parser()
    try:
        ip = parser.parse_interactive(prefix)
        ip.exhaust_lexer()
    except Exception:  # completion must never fail, whatever was typed
        return None
    ps = ip.parser_state
    stack = ps.state_stack
    key = tuple(stack)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    states = ps.parse_conf.parse_table.states
    kmap = keyword_map()
    terms = tuple(
        t
        for t in states[stack[-1]]
        if (t in kmap or t in _WORD_TERMS or t in _SPECIAL) and viable(states, stack, t)
    )
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[key] = terms
    return terms


def _quote(name: str) -> str:
    if not name or any(c.isspace() or c in ',:"' for c in name):
        return '"' + name.replace('"', "") + '"'
    return name


def complete(text: str, vocabulary: Vocabulary | None = None) -> list[Completion]:
    """Completions for the end of ``text`` (keywords first, then names)."""
    vocab = vocabulary or Vocabulary()
    prefix, partial, start, quoted = _split(text)
    terms = _viable_terms(prefix)
    if terms is None or "REST" in terms:
        return []
    low = partial.lower()
    out: list[Completion] = []
    if not quoted:
        kmap = keyword_map()
        words = {kmap[t] for t in terms if t in kmap}
        words.update(w for t, w in _SPECIAL.items() if w and t in terms)
        for w in sorted(words):
            if w[:1].isalpha() and w.startswith(low) and w != low:
                out.append(Completion(w, "keyword", start))
    pools: list[tuple[str, tuple[str, ...]]] = []
    if "NAME" in terms:
        pools += [("segment", vocab.segments), ("customer", vocab.customers)]
    if "TAGNAME" in terms:
        pools.append(("tag", vocab.tags))
    if "FIELDNAME" in terms:
        pools.append(("field", vocab.fields))
    seen: set[str] = set()
    for kind, names in pools:
        lowered, ordered = _name_index(names)
        i = bisect_left(lowered, low)
        taken = 0
        while i < len(lowered) and lowered[i].startswith(low) and taken < MAX_NAMES:
            name = ordered[i]
            i += 1
            if name not in seen:
                seen.add(name)
                taken += 1
                out.append(Completion(_quote(name), kind, start))
    return out


#: at most this many names of one kind per call (a menu, not a dump of 100k names)
MAX_NAMES = 100


@lru_cache(maxsize=16)
def _name_index(names: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Names sorted case-insensitively, with their lower-case forms for bisecting."""
    ordered = sorted(names, key=str.lower)
    return [n.lower() for n in ordered], ordered
