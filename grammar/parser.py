"""Text in, typed command out: ``parse(text) -> Command``.

The LALR grammar lives in ``commands.lark``. Words are lexed by a small
state-aware lexer (:class:`_Lexer`): a word becomes a keyword only where the
parser state accepts that keyword, otherwise a name/tag/field/text token.
This lets ``tag`` be a verb at the start and a plain tag name after ``with``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from lark import Lark, Token, Transformer
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedToken
from lark.lexer import Lexer, LexerState
from lark.parsers.lalr_analysis import Shift

from grammar import ast as A

__all__ = ["ParseError", "keywords", "parse", "suggest"]

GRAMMAR_FILE = Path(__file__).with_name("commands.lark")

# ---------------------------------------------------------------- errors


class ParseError(Exception):
    """A sentence the grammar does not understand, with a friendly message."""

    def __init__(
        self,
        message: str,
        line: str,
        position: int,
        suggestions: list[str] | None = None,
        expected: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.position = max(0, min(position, len(line)))
        self.caret = " " * self.position + "^"
        self.suggestions = suggestions or []
        self.expected = expected or []

    def __str__(self) -> str:
        return f"{self.message}\n{self.line}\n{self.caret}"


class _LexError(Exception):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


# ---------------------------------------------------------------- lexer

_TOKEN_RE = re.compile(
    r"""
    \s*(?:
    (?P<str>"[^"]*"|'[^']*')
  | (?P<op>>=|<=|!=|<>|==|[<>=])
  | (?P<comma>,)
  | (?P<colon>:)
  | (?P<num>-?\$?\d{1,3}(?:,\d{3})+(?:\.\d+)?[kKmM]?(?=[\s,:]|$))
  | (?P<word>[^\s,:"'<>=][^\s,:"<>=]*)
    )""",
    re.VERBOSE,
)
_WS_RE = re.compile(r"\s*")
_INT_RE = re.compile(r"\d+\Z")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_AMOUNT_RE = re.compile(r"-?\$?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?[kKmM]?\Z")
_LATER_WITH_RE = re.compile(r"(?i)(?<![^\s,])with(?![^\s,:])")

# words after which a bare word at the start of an item is a field name
_CMP_WORDS = frozenset(
    {
        *("is", "over", "above", "under", "below", "more", "less", "greater", "fewer"),
        *("at", "between", "before", "after", "within", "equals", "equal", "exceeding"),
        *("min", "max", ">", "<", ">=", "<=", "=", "==", "!=", "<>"),
    }
)
_WORD_TERMINALS = ("NAME", "TAGNAME", "FIELDNAME", "TEXT")


def viable(states: Any, stack: list[Any], term: str) -> bool:
    """True when the LALR parser, with this state stack, can shift ``term``.

    A merged LALR state may list a terminal as a reduce lookahead although
    the reductions end in an error; this simulates them (states only, no
    values) to be sure.
    """
    action = states[stack[-1]].get(term)
    if action is None:
        return False
    if action[0] is Shift:
        return True
    stack = list(stack)
    while True:
        action = states[stack[-1]].get(term)
        if action is None:
            return False
        kind, arg = action
        if kind is Shift:
            return True
        size = len(arg.expansion)
        if size:
            del stack[-size:]
        goto = states[stack[-1]].get(arg.origin.name)
        if goto is None:
            return False
        stack.append(goto[1])


# words after which a name can stand inside a filter (besides the start):
# and/or/`,`/not/`not in` and the segment adjectives ("new whales")
_NAME_LEADS = frozenset(
    {"and", "or", ",", "not", "in", "new", "active", "inactive", "high-value", "valuable"}
    | {"value", "medium-value", "mid-value", "low-value", "at-risk", "risk", "risky"}
)
_TYPO_CUTOFF = 80.0


def _is_amount(low: str) -> bool:
    return bool(_AMOUNT_RE.match(low)) and any(c.isdigit() for c in low)


_VIABLE_CACHE: dict[tuple[Any, ...], bool] = {}


class _Accepts:
    """``term in acc``: is term viable in the current parser state (memoised)."""

    __slots__ = ("actions", "stack", "states")

    def __init__(self, states: Any, stack: list[Any]) -> None:
        self.states = states
        self.stack = stack
        self.actions = states[stack[-1]]

    def __contains__(self, term: object) -> bool:
        action = self.actions.get(term)
        if action is None:
            return False
        if action[0] is Shift:
            return True
        key = (*self.stack, term)
        hit = _VIABLE_CACHE.get(key)
        if hit is None:
            if len(_VIABLE_CACHE) > 50000:
                _VIABLE_CACHE.clear()
            hit = _VIABLE_CACHE[key] = viable(self.states, self.stack, str(term))
        return hit


class _Lexer(Lexer):
    """State-aware lexer: keyword if the parser state accepts it, else a word kind."""

    __future_interface__ = 2

    def __init__(self, lexer_conf: Any) -> None:
        self.keywords: dict[str, str] = {}
        self._typo_cands: dict[Any, list[str]] = {}
        for term in lexer_conf.terminals:
            pattern = term.pattern
            if pattern.type == "str":
                self.keywords[pattern.value.lower()] = term.name

    def lex(self, lexer_state: LexerState, parser_state: Any) -> Iterator[Token]:
        slice_ = lexer_state.text
        text: str = slice_.text
        pos: int = slice_.start
        end: int = slice_.end
        states = parser_state.parse_conf.parse_table.states
        keywords = self.keywords
        stack = parser_state.state_stack
        prev = ""
        while True:
            m = _TOKEN_RE.match(text, pos, end)
            if m is not None:
                pos = m.start(m.lastindex or 0)
            else:
                pos = _WS_RE.match(text, pos, end).end()  # type: ignore[union-attr]
            if pos >= end:
                return
            acc = _Accepts(states, stack)
            if "REST" in acc.actions:
                rest = text[pos:end].strip()
                if rest:
                    yield Token("REST", rest, pos, 1, pos + 1, 1, end + 1, end)
                return
            if m is None:
                ch = text[pos]
                if ch in "\"'":
                    raise _LexError(f"the quote at column {pos} is never closed", pos)
                raise _LexError(f"unexpected character {ch!r} at column {pos}", pos)
            kind = m.lastgroup
            raw = m.group(kind or 0)
            mend = m.end()
            if kind == "str":
                ttype = "STRING"
                value = raw[1:-1]
            elif kind == "comma":
                ttype, value = "_COMMA", raw
            elif kind == "colon":
                ttype, value = "_COLON", raw
            elif kind == "op":
                ttype, value = keywords.get(raw, "TEXT"), raw
                if ttype not in acc and "TEXT" in acc:
                    ttype = "TEXT"
            else:
                value = raw
                ttype = self._classify(raw, acc, text, mend, end)
                if ttype == "NAME" and prev in _NAME_LEADS and self._near_keyword(raw, acc):
                    # "late payers and custmers", "new taged vip": a misspelt
                    # keyword, not a name (a quoted name is always a name);
                    # no rule accepts TYPO, so the error points here
                    ttype = "TYPO"
            yield Token(ttype, value, pos, 1, pos + 1, 1, mend + 1, mend)
            prev = value.lower() if kind in ("word", "comma") else ""
            pos = mend

    def _near_keyword(self, raw: str, acc: Any) -> bool:
        """Is this word a likely typo of a keyword the parser accepts here?"""
        if len(raw) < 4:
            return False
        state = acc.stack[-1]
        cands = self._typo_cands.get(state)
        if cands is None:
            # keywords of this parser state (shift or reduce lookahead: close enough)
            cands = self._typo_cands[state] = [
                kw
                for kw, term in self.keywords.items()
                if len(kw) >= 4 and kw[0].isalpha() and term in acc.actions
            ]
        from rapidfuzz import fuzz, process  # loaded on the first unknown word, not at start-up

        hit = process.extractOne(raw.lower(), cands, scorer=fuzz.ratio, score_cutoff=_TYPO_CUTOFF)
        return hit is not None

    def _classify(self, raw: str, acc: Any, text: str, mend: int, end: int) -> str:
        low = raw.lower()
        if low == "in" and "_IN_STATUS" in acc:
            # "in status ..." is its own terminal, so a filter can be followed
            # by "in <period>" (report options) without a shift/reduce conflict
            nxt = _TOKEN_RE.match(text, mend, end)
            if nxt is not None and nxt.group(nxt.lastgroup or 0).lower() == "status":
                return "_IN_STATUS"
        if low == "with" and "_TAGWITH" in acc:
            later = _LATER_WITH_RE.search(text, mend, end)
            if later is None or "WITH" not in acc:
                return "_TAGWITH"
        kw = self.keywords.get(low)
        if kw is not None and kw in acc:
            return kw
        if "DATE" in acc and _DATE_RE.match(low):
            return "DATE"
        if "INT" in acc and _INT_RE.match(low):
            return "INT"
        if "AMOUNT" in acc and _is_amount(low):
            return "AMOUNT"
        if "FIELDNAME" in acc and ("NAME" in acc or "TAGGED" in acc):
            # at the start of a filter item a bare word is a field only when a
            # comparison follows ("seats >= 10"); otherwise it is a name or a typo
            nxt = _TOKEN_RE.match(text, mend, end)
            if nxt is not None and nxt.group(nxt.lastgroup or 0).lower() in _CMP_WORDS:
                return "FIELDNAME"
            if "NAME" in acc:
                return "NAME"
            return kw if kw is not None else "TEXT"
        elif "NAME" in acc:
            return "NAME"
        for term in _WORD_TERMINALS[1:]:
            if term in acc:
                return term
        if kw is not None:
            return kw
        if _DATE_RE.match(low):
            return "DATE"
        if _INT_RE.match(low):
            return "INT"
        if _is_amount(low):
            return "AMOUNT"
        return "TEXT"


# ---------------------------------------------------------------- transformer

_DATE_FIELDS = frozenset({"last_invoice_date", "last_payment_date", "created"})
_FLIP = {">": "<", "<": ">", ">=": "<=", "<=": ">="}
_STANDARD_FIELDS = {
    "email": "email",
    "e-mail": "email",
    "mail": "email",
    "name": "name",
    "company": "company",
    "phone": "phone",
    "telephone": "phone",
    "address": "address",
    "terms": "terms",
    "payment terms": "terms",
    "billing frequency": "billing_frequency",
    "billing_frequency": "billing_frequency",
    "preferred payment method": "preferred_payment_method",
    "preferred_payment_method": "preferred_payment_method",
}
_TERMS_RE = re.compile(r"(?i)\s*(?:net\s*)?(\d+)(?:\s*days?)?\s*\Z")
_FOLLOW_UP_RE = re.compile(
    r"(?i)\bfollow[- ]?up\s+(?:on\s+|by\s+)?(\d{4}-\d{2}-\d{2}|today|tomorrow)\b"
)
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+\Z")
_ID_RE = re.compile(r"#\d+\Z")


def parse_amount(text: str) -> Decimal:
    """Parse ``5000``, ``5,000``, ``$5,000.00``, ``5k``, ``1.2m`` into a Decimal."""
    t = text.strip().lower().replace(",", "")
    sign = -1 if t.startswith("-") else 1
    t = t.lstrip("-").lstrip("$")
    mult = Decimal(1)
    if t.endswith("k"):
        mult, t = Decimal(1000), t[:-1]
    elif t.endswith("m"):
        mult, t = Decimal(1000000), t[:-1]
    try:
        value = Decimal(t) * mult
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {text!r}") from exc
    if value == value.to_integral_value() and mult != 1:
        value = value.quantize(Decimal(1))
    return value if sign > 0 else -value


@dataclass(frozen=True)
class _Tail:
    sort: tuple[A.SortKey, ...] = ()
    limit: int | None = None
    include_archived: bool = False


@dataclass(frozen=True)
class _Part:
    filter: A.Filter | None
    tail: _Tail


@dataclass(frozen=True)
class _Cmp:
    op: str
    value: Any
    worded: bool = True
    high: Any = None


@dataclass(frozen=True)
class _PendingDefine:
    name: str
    query: A.Query
    as_pos: int


def _merge_tails(tails: list[_Tail]) -> _Tail:
    sort: tuple[A.SortKey, ...] = ()
    limit = None
    incl = False
    for t in tails:
        sort += t.sort
        limit = t.limit if t.limit is not None else limit
        incl = incl or t.include_archived
    return _Tail(sort, limit, incl)


def _mentions_archived(f: A.Filter | None) -> bool:
    if isinstance(f, A.Status):
        return f.value == "archived"
    if isinstance(f, A.And | A.Or):
        return any(_mentions_archived(i) for i in f.items)
    if isinstance(f, A.Not):
        return _mentions_archived(f.item)
    return False


def _and(items: list[A.Filter]) -> A.Filter | None:
    flat: list[A.Filter] = []
    for i in items:
        if isinstance(i, A.And):
            flat.extend(i.items)
        else:
            flat.append(i)
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else A.And(tuple(flat))


SEGMENTS = (
    "high-value",
    "medium-value",
    "low-value",
    "new",
    "active",
    "inactive",
    "late-payer",
    "partial-payer",
    "on-time-payer",
    "at-risk",
)
_SEGMENT_NAME_RE = re.compile(r"(?:\s+(?:customers?|clients?))?\Z", re.IGNORECASE)


def builtin_segment(text: str) -> str | None:
    """Canonical built-in segment for a multi-word/hyphenated spelling ("late payers")."""
    t = _SEGMENT_NAME_RE.sub("", text.strip().lower())
    t = re.sub(r"[\s_]+", "-", t)
    if "-" not in t:
        return None  # single plain words ("new", "active") may be customer names
    if t.endswith("payers"):
        t = t[:-1]
    if t in ("late", "partial", "on-time"):
        t += "-payer"
    return t if t in SEGMENTS else None


def _name_filter(text: str) -> A.Filter:
    if _ID_RE.match(text) or _EMAIL_RE.match(text):
        return A.CustomerRef(text)
    seg = builtin_segment(text)
    if seg is not None:
        return A.Segment(seg)
    return A.NameRef(text)


def _to_customer_ref(q: A.Query) -> A.Query:
    """In single-customer commands a bare name is a customer reference."""
    if isinstance(q.filter, A.NameRef):
        return replace(q, filter=A.CustomerRef(q.filter.text))
    return q


def _words(children: list[Any]) -> str:
    return " ".join(str(c) for c in children)


def _simple(name: str, value: Any) -> Any:
    def cb(self: Any, children: list[Any]) -> Any:
        return value() if callable(value) else value

    cb.__name__ = name
    return cb


class _Build(Transformer[Token, Any]):
    """Turns the parse tree (inline, during LALR parsing) into grammar.ast objects."""

    # ---- values
    def words(self, c: list[Any]) -> str:
        return _words(c)

    def search_text(self, c: list[Any]) -> str:
        return str(c[0])

    def text_value(self, c: list[Any]) -> str:
        return str(c[0])

    def number(self, c: list[Any]) -> Decimal:
        return parse_amount(str(c[0]))

    def number_days(self, c: list[Any]) -> Decimal:
        return Decimal(str(c[0]))

    def d_abs(self, c: list[Any]) -> A.DateValue:
        try:
            return A.AbsoluteDate(date.fromisoformat(str(c[0])))
        except ValueError as exc:
            raise _ValueError(f"{c[0]} is not a valid date", c[0]) from exc

    def d_days_ago(self, c: list[Any]) -> A.DateValue:
        return A.DaysAgo(int(str(c[0])))

    def p_year(self, c: list[Any]) -> A.DateValue:
        return A.Year(int(str(c[0])))

    d_today = _simple("d_today", A.Today)
    d_yesterday = _simple("d_yesterday", A.Yesterday)
    d_tomorrow = _simple("d_tomorrow", A.Tomorrow)
    d_last_month = _simple("d_last_month", A.LastMonth)
    d_this_year = _simple("d_this_year", A.ThisYear)

    def day_word(self, c: list[Any]) -> None:
        return None

    # ---- fields
    f_revenue = _simple("f_revenue", "revenue")
    f_invoiced = _simple("f_invoiced", "invoiced")
    f_outstanding = _simple("f_outstanding", "outstanding")
    f_invoice_count = _simple("f_invoice_count", "invoice_count")
    f_avg_invoice = _simple("f_avg_invoice", "average_invoice_value")
    f_last_invoice = _simple("f_last_invoice", "last_invoice_date")
    f_last_payment = _simple("f_last_payment", "last_payment_date")
    f_frequency = _simple("f_frequency", "invoice_frequency_days")
    f_days_to_pay = _simple("f_days_to_pay", "average_days_to_pay")
    f_days_late = _simple("f_days_late", "average_days_late")
    f_on_time_rate = _simple("f_on_time_rate", "on_time_rate")
    f_created = _simple("f_created", "created")
    f_name = _simple("f_name", "name")

    def invoice_word(self, c: list[Any]) -> None:
        return None

    def custom_field(self, c: list[Any]) -> A.Field:
        return A.Field(_words(c))

    # ---- comparisons
    op_gt = _simple("op_gt", (">", True))
    op_lt = _simple("op_lt", ("<", True))
    op_ge = _simple("op_ge", (">=", True))
    op_le = _simple("op_le", ("<=", True))
    op_eq = _simple("op_eq", ("=", True))
    sym_gt = _simple("sym_gt", (">", False))
    sym_lt = _simple("sym_lt", ("<", False))
    sym_ge = _simple("sym_ge", (">=", False))
    sym_le = _simple("sym_le", ("<=", False))
    sym_eq = _simple("sym_eq", ("=", False))
    sym_ne = _simple("sym_ne", ("!=", False))

    def cmp_op(self, c: list[Any]) -> _Cmp:
        (op, worded), value = c
        return _Cmp(op, value, worded)

    def cmp_is(self, c: list[Any]) -> _Cmp:
        return _Cmp("=", c[0])

    def cmp_is_not(self, c: list[Any]) -> _Cmp:
        return _Cmp("!=", c[0])

    def cmp_between(self, c: list[Any]) -> _Cmp:
        return _Cmp("between", c[0], True, c[1])

    def cmp_within(self, c: list[Any]) -> _Cmp:
        return _Cmp("within", A.DaysAgo(int(str(c[0]))))

    def compare(self, c: list[Any]) -> A.Filter:
        fld, cmp = c
        is_date = isinstance(fld, str) and fld in _DATE_FIELDS

        def norm(v: Any) -> Any:
            if is_date and isinstance(v, Decimal) and v == v.to_integral_value():
                n = int(v)
                if 1000 <= n <= 9999:
                    return A.Year(n)
            return v

        if cmp.op == "between":
            return A.Between(fld, norm(cmp.value), norm(cmp.high))
        if cmp.op == "within":
            return A.Compare(fld, ">", cmp.value)
        value = norm(cmp.value)
        op = cmp.op
        if isinstance(value, A.DaysAgo) and cmp.worded and op in _FLIP:
            # "more than 90 days ago" = further back than D-90 = date < D-90
            op = _FLIP[op]
        if (
            isinstance(fld, A.Field)
            and fld.name.lower() == "status"
            and op == "="
            and isinstance(value, str)
            and value.lower() in ("active", "archived")
        ):
            return A.Status(value.lower())
        return A.Compare(fld, op, value)

    def invoice_count(self, c: list[Any]) -> A.Filter:
        (op, _worded), n = c[0], c[1]
        return A.Compare("invoice_count", op, Decimal(str(n)))

    def invoice_count_eq(self, c: list[Any]) -> A.Filter:
        return A.Compare("invoice_count", "=", Decimal(str(c[0])))

    def no_invoices(self, c: list[Any]) -> A.Filter:
        return A.NoInvoices()

    # ---- atoms
    seg_high = _simple("seg_high", A.Segment("high-value"))
    seg_medium = _simple("seg_medium", A.Segment("medium-value"))
    seg_low = _simple("seg_low", A.Segment("low-value"))
    seg_new = _simple("seg_new", A.Segment("new"))
    seg_active = _simple("seg_active", A.Segment("active"))
    seg_inactive = _simple("seg_inactive", A.Segment("inactive"))
    seg_late = _simple("seg_late", A.Segment("late-payer"))
    seg_partial = _simple("seg_partial", A.Segment("partial-payer"))
    seg_ontime = _simple("seg_ontime", A.Segment("on-time-payer"))
    seg_risk = _simple("seg_risk", A.Segment("at-risk"))

    def payer_word(self, c: list[Any]) -> None:
        return None

    def noun(self, c: list[Any]) -> None:
        return None

    def all_customers(self, c: list[Any]) -> None:
        return None

    archived = _simple("archived", A.Status("archived"))
    selected = _simple("selected", A.Selected())

    def atom(self, c: list[Any]) -> Any:
        return c[0]

    def qual(self, c: list[Any]) -> Any:
        return c[0]

    def name_ref(self, c: list[Any]) -> str:
        return str(c[0])

    def name_item(self, c: list[Any]) -> A.Filter:
        name = _name_filter(c[-1])
        return A.And((c[0], name)) if len(c) == 2 else name

    def customer_ref(self, c: list[Any]) -> A.Filter:
        return A.CustomerRef(c[0])

    def tag(self, c: list[Any]) -> str:
        return str(c[0])

    def tagged(self, c: list[Any]) -> A.Filter:
        return A.Tagged(c[-1])

    def not_tagged(self, c: list[Any]) -> A.Filter:
        return A.Not(A.Tagged(c[-1]))

    st_active = _simple("st_active", "active")
    st_archived = _simple("st_archived", "archived")

    def status(self, c: list[Any]) -> A.Filter:
        return A.Status(c[0])

    def search_word(self, c: list[Any]) -> None:
        return None

    def search(self, c: list[Any]) -> A.Filter:
        return A.Search(c[-1])

    def not_(self, c: list[Any]) -> A.Filter:
        if isinstance(c[0], _Tail):
            raise _ValueError("`not` cannot be applied to sorting or limits", None)
        return A.Not(c[0])

    # ---- tails
    def asc(self, c: list[Any]) -> bool:
        return False

    def desc(self, c: list[Any]) -> bool:
        return True

    def sort_key(self, c: list[Any]) -> tuple[str, bool | None]:
        fld = c[0]
        name = fld.name if isinstance(fld, A.Field) else str(fld)
        return (name, c[1] if len(c) > 1 else None)

    def sort_kw(self, c: list[Any]) -> None:
        return None

    def sort(self, c: list[Any]) -> _Tail:
        keys = [k for k in c if k is not None]
        return _Tail(sort=tuple(A.SortKey(f, bool(d)) for f, d in keys))

    def including_archived(self, c: list[Any]) -> _Tail:
        return _Tail(include_archived=True)

    def limit(self, c: list[Any]) -> _Tail:
        return _Tail(limit=int(str(c[0])))

    # ---- query structure
    def seq_a(self, c: list[Any]) -> list[Any]:
        out: list[Any] = []
        for x in c:
            if isinstance(x, list):
                out.extend(x)
            else:
                out.append(x)
        return out

    seq_n = seq_a

    def and_expr(self, c: list[Any]) -> _Part:
        filters: list[A.Filter] = []
        tails: list[_Tail] = []
        for item in self.seq_a(c):
            if isinstance(item, _Tail):
                tails.append(item)
            elif isinstance(item, _Part):
                if item.filter is not None:
                    filters.append(item.filter)
                tails.append(item.tail)
            elif item is not None and not isinstance(item, Token):
                filters.append(item)
        return _Part(_and(filters), _merge_tails(tails))

    def or_expr(self, c: list[Any]) -> _Part:
        parts = [p for p in c if isinstance(p, _Part)]
        if len(parts) == 1:
            return parts[0]
        filters = [p.filter for p in parts]
        tail = _merge_tails([p.tail for p in parts])
        if any(f is None for f in filters):
            return _Part(None, tail)  # "customers or X" = everyone
        return _Part(A.Or(tuple(f for f in filters if f is not None)), tail)

    def core_expr(self, c: list[Any]) -> _Part:
        x = c[0]
        if isinstance(x, _Part):
            return x
        return self.and_expr([x])

    def head_top(self, c: list[Any]) -> tuple[int, bool | None]:
        return (int(str(c[0])), True)

    def head_bottom(self, c: list[Any]) -> tuple[int, bool | None]:
        return (int(str(c[0])), False)

    def head_first(self, c: list[Any]) -> tuple[int, bool | None]:
        return (int(str(c[0])), None)

    def body(self, c: list[Any]) -> A.Query:
        head = c[0] if len(c) == 2 else None
        part: _Part = c[-1]
        tail = part.tail
        sort = tail.sort
        limit = tail.limit
        if head is not None:
            n, desc = head
            limit = n
            if desc is not None:
                # "top N by F" sorts descending unless a direction was written
                sort = tuple(A.SortKey(k.field, desc) for k in sort) if sort else ()
        incl = tail.include_archived or _mentions_archived(part.filter)
        return A.Query(part.filter, sort, limit, incl)

    def filler(self, c: list[Any]) -> None:
        return None

    def fillers(self, c: list[Any]) -> None:
        return None

    def show_verb(self, c: list[Any]) -> None:
        return None

    def target(self, c: list[Any]) -> A.Query:
        return next(x for x in c if isinstance(x, A.Query))

    def list_query(self, c: list[Any]) -> A.Command:
        q = next((x for x in c if isinstance(x, A.Query)), A.Query())
        return A.ListCustomers(q)

    def start(self, c: list[Any]) -> Any:
        return c[0]

    # ---- commands
    def cname(self, c: list[Any]) -> str:
        return str(c[0])

    nf_billing_frequency = _simple("nf_billing_frequency", "billing frequency")
    nf_preferred_pm = _simple("nf_preferred_pm", "preferred payment method")
    nf_terms = _simple("nf_terms", "terms")

    def kv_key(self, c: list[Any]) -> str:
        raw = _words(c)
        return _STANDARD_FIELDS.get(raw.lower(), raw)

    set_key = kv_key

    def kv_value(self, c: list[Any]) -> str:
        return str(c[0])

    def kv(self, c: list[Any]) -> tuple[str, str | int]:
        return (c[0], _field_value(c[0], c[1]))

    def kv_list(self, c: list[Any]) -> tuple[tuple[str, str | int], ...]:
        return tuple(x for x in c if isinstance(x, tuple))

    def add_customer(self, c: list[Any]) -> A.Command:
        fields = c[1] if len(c) > 1 else ()
        return A.AddCustomer(c[0], fields)

    def set_field(self, c: list[Any]) -> A.Command:
        key, target, value = c
        return A.SetField(target, key, _field_value(key, value))

    def pm_id(self, c: list[Any]) -> str:
        return str(c[0])

    def set_default_pm(self, c: list[Any]) -> A.Command:
        return A.SetDefaultPaymentMethod(_to_customer_ref(c[0]), c[1])

    def taglist(self, c: list[Any]) -> tuple[str, ...]:
        return tuple(x for x in c if isinstance(x, str) and not isinstance(x, Token))

    def tag_cmd(self, c: list[Any]) -> A.Command:
        return A.Tag(c[0], c[1])

    def add_tag_cmd(self, c: list[Any]) -> A.Command:
        return A.Tag(c[1], c[0])

    def untag_cmd(self, c: list[Any]) -> A.Command:
        return A.Untag(c[1], c[0])

    remove_tag_cmd = untag_cmd

    def create_tag(self, c: list[Any]) -> A.Command:
        return A.CreateTag(c[0])

    def rename_tag(self, c: list[Any]) -> A.Command:
        return A.RenameTag(c[0], c[1])

    def delete_tag(self, c: list[Any]) -> A.Command:
        return A.DeleteTag(c[0])

    kind_customer = _simple("kind_customer", "customer")
    kind_internal = _simple("kind_internal", "internal")

    def note_cmd(self, c: list[Any]) -> A.Command:
        kind = "internal"
        rest = [x for x in c if x is not None]
        if isinstance(rest[0], str) and not isinstance(rest[0], Token):
            kind = rest[0]
            rest = rest[1:]
        target: A.Query = rest[0]
        body = str(rest[1])
        follow_up: A.DateValue | None = None
        if kind == "internal":
            m = _FOLLOW_UP_RE.search(body)
            if m:
                word = m.group(1).lower()
                if word == "today":
                    follow_up = A.Today()
                elif word == "tomorrow":
                    follow_up = A.Tomorrow()
                else:
                    try:
                        follow_up = A.AbsoluteDate(date.fromisoformat(word))
                    except ValueError:
                        follow_up = None
        return A.AddNote(target, body, "customer" if kind == "customer" else "internal", follow_up)

    def follow_ups(self, c: list[Any]) -> A.Command:
        return A.FollowUpsDue()

    def archive(self, c: list[Any]) -> A.Command:
        return A.Archive(c[0])

    def unarchive(self, c: list[Any]) -> A.Command:
        return A.Unarchive(c[0])

    def undo(self, c: list[Any]) -> A.Command:
        return A.Undo()

    def overdue(self, c: list[Any]) -> A.Command:
        q = next((x for x in c if isinstance(x, A.Query)), None)
        return A.OverdueInvoices(_to_customer_ref(q) if q is not None else None)

    def remind(self, c: list[Any]) -> A.Command:
        return A.Remind(c[0])

    def send_reminders(self, c: list[Any]) -> A.Command:
        return A.Remind(next(x for x in c if isinstance(x, A.Query)))

    def pause(self, c: list[Any]) -> A.Command:
        return A.PauseReminders(c[0], c[1] if len(c) > 1 else None)

    def resume(self, c: list[Any]) -> A.Command:
        return A.ResumeReminders(c[0])

    def when(self, c: list[Any]) -> Any:
        return c[-1]

    def reminders_due(self, c: list[Any]) -> A.Command:
        whens = [x for x in c if x is not None]
        return A.RemindersDue(whens[-1]) if whens else A.RemindersDue()

    def template_name(self, c: list[Any]) -> str:
        x = c[0]
        if isinstance(x, Token) and x.type == "STRING":
            return str(x)
        return "-".join(str(x).lower().split())

    def send_template(self, c: list[Any]) -> A.Command:
        return A.SendTemplate(c[0], c[1])

    def email_history(self, c: list[Any]) -> A.Command:
        return A.EmailHistory(_to_customer_ref(c[-1]))

    def payment_methods(self, c: list[Any]) -> A.Command:
        return A.PaymentMethods(_to_customer_ref(c[-1]))

    def remove_pm(self, c: list[Any]) -> A.Command:
        return A.RemovePaymentMethod(_to_customer_ref(c[1]), c[0])

    def link_stripe(self, c: list[Any]) -> A.Command:
        return A.LinkStripe(_to_customer_ref(c[0]))

    def path(self, c: list[Any]) -> str:
        return str(c[0])

    def export(self, c: list[Any]) -> A.Command:
        q = c[0] if len(c) == 2 else A.Query()
        return A.Export(q, c[-1])

    kind_customers = _simple("kind_customers", "customers")
    kind_invoices = _simple("kind_invoices", "invoices")
    kind_payments = _simple("kind_payments", "payments")

    def import_kind(self, c: list[Any]) -> str:
        return str(c[0])

    def import_cmd(self, c: list[Any]) -> A.Command:
        mapping: tuple[tuple[str, str], ...] = ()
        if isinstance(c[-1], tuple):
            mapping = c.pop()
        kind = c[0] if len(c) == 2 else "customers"
        return A.Import(cast(Any, kind), c[-1], mapping)

    def import_mapping(self, c: list[Any]) -> tuple[tuple[str, str], ...]:
        return tuple(c)

    def column_map(self, c: list[Any]) -> tuple[str, str]:
        return (str(c[0]), c[-1])

    def column_name(self, c: list[Any]) -> str:
        return str(c[0])

    def map_custom(self, c: list[Any]) -> str:
        return A.CUSTOM_FIELD + str(c[-1]).strip()

    def map_ignore(self, c: list[Any]) -> str:
        return ""

    def map_field(self, c: list[Any]) -> str:
        return str(c[0]).strip().casefold()

    rk_revenue = _simple("rk_revenue", "revenue")
    rk_invoice = _simple("rk_invoice", "invoice")
    rk_payment = _simple("rk_payment", "payment")
    rk_clv = _simple("rk_clv", "clv")

    def ro_period(self, c: list[Any]) -> tuple[str, Any]:
        return ("period", c[0])

    def ro_target(self, c: list[Any]) -> tuple[str, Any]:
        return ("target", c[0])

    def ro_since(self, c: list[Any]) -> tuple[str, Any]:
        return ("start", c[0])

    def ro_until(self, c: list[Any]) -> tuple[str, Any]:
        return ("end", c[0])

    def ro_between(self, c: list[Any]) -> tuple[str, Any]:
        return ("between", (c[0], c[1]))

    def ro_path(self, c: list[Any]) -> tuple[str, Any]:
        return ("path", c[0])

    def report(self, c: list[Any]) -> A.Command:
        kind = c[0]
        target = start = end = path = None
        for key, val in c[1:]:
            if key == "period":
                start = end = val
            elif key == "target":
                target = val
            elif key == "start":
                start = val
            elif key == "end":
                end = val
            elif key == "between":
                start, end = val
            elif key == "path":
                path = val
        return A.Report(kind, target, start, end, path)

    def seg_name(self, c: list[Any]) -> Token:
        return c[0]  # keep the token: its end_pos locates "as"

    def define_segment(self, c: list[Any]) -> _PendingDefine:
        tok: Token = c[0]
        return _PendingDefine(str(tok), c[1], int(tok.end_pos or 0))

    def explain(self, c: list[Any]) -> A.Command:
        return A.Explain(c[0])

    def help(self, c: list[Any]) -> A.Command:
        return A.Help(str(c[0]) if c else None)


class _ValueError(Exception):
    def __init__(self, message: str, token: Any) -> None:
        super().__init__(message)
        self.message = message
        self.token = token


def _field_value(key: str, value: str) -> str | int:
    if key == "terms":
        m = _TERMS_RE.match(value)
        if m:
            return int(m.group(1))
    return value


# ---------------------------------------------------------------- building


@lru_cache(maxsize=1)
def _grammar_text() -> str:
    return GRAMMAR_FILE.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(
        _grammar_text(),
        parser="lalr",
        lexer=_Lexer,
        transformer=_Build(),
        keep_all_tokens=False,
        maybe_placeholders=False,
        cache=True,  # lark keeps the LALR tables in the temp dir, keyed by grammar hash
    )


def interactive_parser() -> Lark:
    """The shared parser, for ``parse_interactive`` (completion, error reporting)."""
    return _parser()


@lru_cache(maxsize=1)
def keyword_map() -> dict[str, str]:
    """Terminal name -> keyword text, for every keyword terminal of the grammar."""
    out: dict[str, str] = {}
    for term in _parser().terminals:
        if term.pattern.type == "str":
            out[term.name] = term.pattern.value.lower()
    return out


def keywords() -> list[str]:
    """Every keyword of the language (lower case, sorted)."""
    return sorted(set(keyword_map().values()))


# ---------------------------------------------------------------- suggestions


def suggest(word: str, candidates: Any, limit: int = 3, cutoff: float = 60.0) -> list[str]:
    """Closest candidates to ``word`` (case-insensitive fuzzy match), best first."""
    cands = [str(c) for c in candidates]
    if not word or not cands:
        return []
    lowered = [c.lower() for c in cands]
    from rapidfuzz import fuzz, process

    hits = process.extract(
        word.lower(), lowered, scorer=fuzz.ratio, limit=limit, score_cutoff=cutoff
    )
    seen: list[str] = []
    for _text, _score, idx in hits:
        if cands[idx] not in seen:
            seen.append(cands[idx])
    return seen


_FRIENDLY = {
    "NAME": "a customer or segment name",
    "TAGNAME": "a tag name",
    "FIELDNAME": "a field name",
    "TEXT": "a word",
    "STRING": "a quoted text",
    "INT": "a number",
    "AMOUNT": "an amount",
    "DATE": "a date (YYYY-MM-DD)",
    "REST": "the note text",
    "_COLON": "':'",
    "_COMMA": "','",
    "_TAGWITH": "`with`",
    "_IN_STATUS": "`in status`",
    "$END": "the end of the sentence",
}


def _describe(terms: set[str] | frozenset[str]) -> list[str]:
    """Readable names for terminals: keywords first, then kinds of word, then symbols."""
    kmap = keyword_map()
    out: set[str] = set()
    for t in terms:
        if t in kmap:
            out.add(kmap[t])
        elif t in _FRIENDLY:
            out.add(_FRIENDLY[t])
    return sorted(out, key=lambda d: (not d[:1].isalpha(), " " in d, d))


def _keyword_candidates(terms: set[str] | frozenset[str]) -> list[str]:
    kmap = keyword_map()
    out = {kmap[t] for t in terms if t in kmap}
    if "_TAGWITH" in terms:
        out.add("with")
    if "_IN_STATUS" in terms:
        out.add("in")
    return sorted(w for w in out if w[0].isalpha())


def _error_from_lark(text: str, exc: LarkError) -> ParseError:
    if isinstance(exc, UnexpectedToken):
        ps = exc.state
        expected_terms: set[str] = set(exc.expected)
        if ps is not None:
            states = ps.parse_conf.parse_table.states
            stack = ps.state_stack
            expected_terms = {t for t in expected_terms if viable(states, stack, t)} or set(
                exc.expected
            )
        desc = _describe(expected_terms)
        tok = exc.token
        if tok.type == "$END":
            shown = ", ".join(f"`{d}`" if d[:1].isalpha() and " " not in d else d for d in desc[:8])
            msg = "the sentence ends too early"
            if shown:
                msg += " — expected " + shown + (" …" if len(desc) > 8 else "")
            return ParseError(msg, text, len(text.rstrip()), [], desc)
        pos = int(tok.start_pos or 0)
        word = str(tok)
        blame = _blame_first_word(text, pos, desc)
        if blame is not None:
            return blame
        usage = _usage_hint(text, exc)
        cand_terms = expected_terms
        conts = _filter_continuations()
        if usage and tok.type != "TYPO" and "TAGGED" in expected_terms:
            # after a target the filter may go on ("acme tagged ...", "acme and
            # ..."); suggest those words only when no usage line fits better
            cand_terms = (expected_terms - conts) or expected_terms
        sugg = suggest(word, _keyword_candidates(cand_terms))
        if tok.type == "STRING":
            msg = f'unexpected text "{word}" at column {pos}'
        else:
            msg = f"unexpected word '{word}' at column {pos}"
        if sugg:
            msg += f" — did you mean `{sugg[0]}`?"
            if tok.type == "TYPO":
                msg += f' (if it is a name, quote it: "{word}")'
        elif "_TAGWITH" in expected_terms:
            msg += " — expected `with` before the tags"
        elif usage:
            msg += f" — usage: {usage}"
        elif desc:
            msg += " — expected " + ", ".join(desc[:6]) + (" …" if len(desc) > 6 else "")
        return ParseError(msg, text, pos, sugg, desc)
    if isinstance(exc, UnexpectedEOF):
        desc = _describe(set(exc.expected))
        return ParseError("the sentence ends too early", text, len(text.rstrip()), [], desc)
    if isinstance(exc, UnexpectedCharacters):
        return ParseError(
            f"unexpected character at column {exc.pos_in_stream}", text, exc.pos_in_stream or 0
        )
    return ParseError("could not understand the sentence", text, 0)


# Lark's match_examples idea: sentences that fail in a typical way, labelled
# with the usage line to show. An error that stops the parser in the same
# state (stack depth and state) as one of these gets that label.
_USAGE_EXAMPLES: dict[str, list[str]] = {
    "tag <customers> with <tag>, <tag>": ["tag acme vip", "tag late payers vip"],
    "untag <tag> from <customers>": ["untag vip acme", "untag vip, eu acme"],
    "set <field> of <customer> to <value>": [
        "set email acme to x",
        "set email of acme x",
        "set terms of acme net 30",
    ],
    "note <customer>: <text>": ["note acme hello", "note late payers hello"],
    "rename tag <old> to <new>": ["rename tag vip platinum"],
    "export <customers> to <file>": ["export late payers x.csv", "export acme x.csv"],
    "import customers|invoices|payments from <file>": ["import customers contacts.xlsx x"],
    "pause reminders for <customers> until <date>": ["pause reminders acme"],
    "define segment <name> as <customers>": ["define segment whales late payers"],
    "link <customer> to stripe": ["link acme stripe"],
}


@lru_cache(maxsize=1)
def _filter_continuations() -> frozenset[str]:
    """Terminals that continue a filter after a name: and/or and qualifier starts."""
    out = {t for t, kw in keyword_map().items() if kw in ("and", "or")}
    out.add("_COMMA")
    for rule in _parser().rules:
        if rule.origin.name in ("qual", "neg_name") and rule.expansion:
            first = rule.expansion[0]
            if first.is_term:
                out.add(first.name)
    return frozenset(out)


def _state_key(text: str, exc: UnexpectedToken) -> tuple[str, int, Any] | None:
    ps = exc.state
    if ps is None:
        return None
    words = text.split(None, 1)
    first = words[0].lower() if words else ""
    return (first, len(ps.state_stack), ps.position)


@lru_cache(maxsize=1)
def _usage_table() -> dict[tuple[str, int, Any], str]:
    table: dict[tuple[str, int, Any], str] = {}
    for label, examples in _USAGE_EXAMPLES.items():
        for example in examples:
            try:
                _parser().parse(example)
            except UnexpectedToken as exc:
                key = _state_key(example, exc)
                if key is not None:
                    table.setdefault(key, label)
            except Exception:  # an example that fails differently is skipped
                pass
    return table


def _usage_hint(text: str, exc: UnexpectedToken) -> str | None:
    key = _state_key(text, exc)
    return None if key is None else _usage_table().get(key)


_FIRST_WORD_RE = re.compile(r"\s*([^\s,:\"']+)\s+([^\s,:\"']+)?")


def _blame_first_word(text: str, pos: int, expected: list[str]) -> ParseError | None:
    """A misspelt verb lexes as a name; when the second word then fails, blame the verb."""
    m = _FIRST_WORD_RE.match(text)
    if m is None or m.group(2) is None or m.start(2) != pos:
        return None
    first = m.group(1)
    if first.lower() in keyword_map().values():
        return None
    sugg = suggest(first, _keyword_candidates(_start_terms()), cutoff=70)
    if not sugg:
        return None
    col = m.start(1)
    return ParseError(
        f"unknown command '{first}' at column {col} — did you mean `{sugg[0]}`?",
        text,
        col,
        sugg,
        expected,
    )


@lru_cache(maxsize=1)
def _start_terms() -> frozenset[str]:
    ps = interactive_parser().parse_interactive("").parser_state
    states = ps.parse_conf.parse_table.states
    return frozenset(t for t in states[ps.position] if viable(states, ps.state_stack, t))


# ---------------------------------------------------------------- parse


def parse(text: str) -> A.Command:
    """Parse one sentence into a command object; raise ParseError otherwise."""
    if not isinstance(text, str):
        raise ParseError("expected text", str(text), 0)
    if not text.strip():
        raise ParseError("type a command, e.g. `late payers` or `help`", text, 0)
    return _parse_cached(text)


@lru_cache(maxsize=2048)
def _parse_cached(text: str) -> A.Command:
    """Parse (results are immutable, so identical lines are served from a cache)."""
    try:
        result = _parser().parse(text)
    except _LexError as exc:
        raise ParseError(exc.message, text, exc.position) from None
    except _ValueError as exc:
        pos = int(getattr(exc.token, "start_pos", 0) or 0)
        raise ParseError(exc.message, text, pos) from None
    except LarkError as exc:
        inner = getattr(exc, "orig_exc", None)
        if isinstance(inner, _ValueError):
            pos = int(getattr(inner.token, "start_pos", 0) or 0)
            raise ParseError(inner.message, text, pos) from None
        if isinstance(inner, _LexError):
            raise ParseError(inner.message, text, inner.position) from None
        raise _error_from_lark(text, exc) from None
    except (ValueError, ArithmeticError, RecursionError) as exc:
        raise ParseError(f"could not understand the sentence: {exc}", text, 0) from None
    if isinstance(result, _PendingDefine):
        source = text[result.as_pos :].strip()
        source = re.sub(r"(?i)^as\s+", "", source).strip()
        return A.DefineSegment(result.name, result.query, source)
    return cast(A.Command, result)
