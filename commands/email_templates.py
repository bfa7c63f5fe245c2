"""Email templates: built-in Jinja2 templates the user can override.

Layout
------
A template ``NAME`` is three files, looked up first in the user's template
directory (``<config dir>/templates/``, next to ``config.toml``) and then in
the built-in ``commands/templates/``:

* ``NAME.subject.j2`` - the subject (one line; whitespace is collapsed),
* ``NAME.txt.j2`` - the plain-text body,
* ``NAME.html.j2`` - the HTML body (optional for user templates;
  autoescaped).

Each file is looked up on its own, so a user may override only the subject
of a built-in template. User HTML templates may ``{% extends
"_layout.html.j2" %}``. Files whose name starts with ``_`` are helpers, not
templates. Templates run in Jinja2's sandbox with ``StrictUndefined``: a
misspelt variable is an error, not an empty string.

Context
-------
Build it with :func:`make_context`; every template may use:

* ``customer``: ``name``, ``email``, ``company`` (strings; company may be "")
* ``invoices``: list of :class:`InvoiceLine` (``number``, ``total``,
  ``balance``, ``issued_on``, ``due_on``, ``days_overdue``: formatted
  strings, amounts with their currency) and ``invoice`` (the first, or None)
* ``total_due``: formatted sum of the balances
* ``figures``: the customer's figures as formatted strings (keys of
  ``commands.results.FIGURE_KEYS``, as the caller provides them)
* ``customer_notes``: list of strings
* ``sender``: ``name`` and ``email`` of the From address
* ``stage``: the reminder stage key (``"after-7"``) or None, and
  ``stage_days`` (its offset from the due date, or None)
* ``today``: the reference date D, ISO formatted
* anything passed as ``extra`` (e.g. ``offer`` for ``discount-offer``:
  ``percent``, ``code``, ``valid_until``)

Internal notes never reach an email: ``customer_notes`` must hold only the
customer's *customer notes* (DOMAIN.md, Notes). The caller selects them;
:func:`render` refuses a context with a key that looks like internal notes
(``notes``, ``internal_notes``) so a careless caller fails loudly instead of
leaking them.
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from commands.config import config_path
from commands.errors import UserError
from commands.reminder_schedule import stage_offset

BUILTIN_DIR = Path(__file__).with_name("templates")
PARTS = ("subject", "txt", "html")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
FORBIDDEN_CONTEXT_KEYS = frozenset({"notes", "internal_notes", "internal_note", "all_notes"})

#: built-in template for each overdue stage offset (``after-N``)
OVERDUE_TEMPLATES = {7: "reminder-overdue-7", 14: "reminder-overdue-14", 30: "reminder-overdue-30"}


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str | None


@dataclass(frozen=True)
class TemplateInfo:
    name: str
    source: str  # "built-in", "user" or "user override"
    has_html: bool


@dataclass(frozen=True)
class InvoiceLine:
    """One invoice as a template sees it: already formatted strings."""

    number: str
    total: str
    balance: str
    due_on: str
    days_overdue: str
    issued_on: str = ""


def user_template_dir() -> Path:
    """``<config dir>/templates`` (next to ``config.toml``)."""
    return config_path().parent / "templates"


def format_amount(amount: Decimal | int | float | str, currency: str = "") -> str:
    """``1234.5`` -> ``"1234.50 USD"`` (two decimals; currency appended when given)."""
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    return f"{value} {currency}".strip()


def invoice_line(
    *,
    number: str,
    total: Decimal,
    balance: Decimal,
    due_on: date,
    today: date,
    currency: str = "",
    issued_on: date | None = None,
) -> InvoiceLine:
    """An :class:`InvoiceLine` with amounts and days overdue (D - due date, min 0) formatted."""
    overdue = max(0, (today - due_on).days)
    return InvoiceLine(
        number=number,
        total=format_amount(total, currency),
        balance=format_amount(balance, currency),
        due_on=due_on.isoformat(),
        days_overdue=str(overdue),
        issued_on=issued_on.isoformat() if issued_on else "",
    )


def make_context(
    *,
    customer_name: str,
    customer_email: str,
    customer_company: str | None = None,
    invoices: Sequence[InvoiceLine] = (),
    total_due: str = "",
    figures: Mapping[str, str] | None = None,
    customer_notes: Sequence[str] = (),
    sender_name: str = "",
    sender_email: str = "",
    stage: str | None = None,
    today: date | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The context every built-in template can rely on (see the module docstring).

    ``customer_notes`` must be the customer-visible notes only.
    """
    context: dict[str, Any] = {
        "customer": {
            "name": customer_name,
            "email": customer_email,
            "company": customer_company or "",
        },
        "invoices": list(invoices),
        "invoice": invoices[0] if invoices else None,
        "total_due": total_due,
        "figures": dict(figures or {}),
        "customer_notes": [str(n) for n in customer_notes],
        "sender": {"name": sender_name, "email": sender_email},
        "stage": stage,
        "stage_days": stage_offset(stage) if stage else None,
        "today": (today or date.today()).isoformat(),
    }
    for key, value in (extra or {}).items():
        if key in context:
            raise ValueError(f"extra context key {key!r} would replace a standard one")
        context[key] = value
    return context


class TemplateStore:
    """Built-in templates plus the user's overrides from ``user_dir``."""

    def __init__(self, user_dir: Path | None = None, builtin_dir: Path = BUILTIN_DIR) -> None:
        self.user_dir = user_dir if user_dir is not None else user_template_dir()
        self.builtin_dir = builtin_dir
        self._names_cache: tuple[float, frozenset[str]] | None = None
        # the user directory comes first (it wins) and may be created later
        searchpath = [str(self.user_dir), str(self.builtin_dir)]
        self.env = SandboxedEnvironment(
            loader=jinja2.FileSystemLoader(searchpath),
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("html.j2", "html"),
                disabled_extensions=(),
                default_for_string=False,
                default=False,
            ),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def _names_in(self, directory: Path) -> set[str]:
        if not directory.is_dir():
            return set()
        names = set()
        for path in directory.glob("*.subject.j2"):
            name = path.name[: -len(".subject.j2")]
            if _NAME_RE.match(name):
                names.add(name)
        return names

    def _complete_user_names(self) -> set[str]:
        """User templates with both a subject and a text body (HTML optional)."""
        return {
            name
            for name in self._names_in(self.user_dir)
            if (self.user_dir / f"{name}.txt.j2").is_file()
        }

    def available(self) -> list[TemplateInfo]:
        builtin = self._names_in(self.builtin_dir)
        user_files = {
            p.name.split(".", 1)[0]
            for p in (self.user_dir.glob("*.j2") if self.user_dir.is_dir() else [])
        }
        names = builtin | self._complete_user_names()
        infos = []
        for name in sorted(names):
            if name in builtin:
                source = "user override" if name in user_files else "built-in"
            else:
                source = "user"
            has_html = (self.user_dir / f"{name}.html.j2").is_file() or (
                self.builtin_dir / f"{name}.html.j2"
            ).is_file()
            infos.append(TemplateInfo(name, source, has_html))
        return infos

    def names(self) -> list[str]:
        return [info.name for info in self.available()]

    def _known_names(self) -> frozenset[str]:
        """:meth:`names`, re-read from disk at most every few seconds (a batch renders
        thousands of messages) and at once when a name is not found."""
        now = time.monotonic()
        cached = self._names_cache
        if cached is None or now - cached[0] > NAMES_TTL_S:
            cached = self._names_cache = (now, frozenset(self.names()))
        return cached[1]

    def _unknown(self, name: str) -> UserError:
        names = self.names()
        close = difflib.get_close_matches(name, names, n=3)
        return UserError(
            f"There is no email template '{name}'; available: {', '.join(names)}",
            suggestions=close,
        )

    def render(self, name: str, context: Mapping[str, Any]) -> RenderedEmail:
        """Render ``name`` with ``context``; a template problem is a :class:`UserError`."""
        if not _NAME_RE.match(name):
            raise self._unknown(name)
        if name not in self._known_names():
            self._names_cache = None  # a template added just now
            if name not in self._known_names():
                raise self._unknown(name)
        leaked = FORBIDDEN_CONTEXT_KEYS & set(context)
        if leaked:
            raise ValueError(
                f"email context must not contain {sorted(leaked)}: pass only customer notes, "
                "as customer_notes (internal notes never go into an email)"
            )
        subject = self._render_part(name, "subject", context)
        text = self._render_part(name, "txt", context)
        html = self._render_part(name, "html", context, optional=True)
        assert subject is not None and text is not None
        return RenderedEmail(" ".join(subject.split()), text, html)

    def _render_part(
        self, name: str, part: str, context: Mapping[str, Any], *, optional: bool = False
    ) -> str | None:
        filename = f"{name}.{part}.j2"
        try:
            template = self.env.get_template(filename)
        except jinja2.TemplateNotFound:
            if optional:
                return None
            raise self._unknown(name) from None
        except jinja2.TemplateSyntaxError as exc:
            raise UserError(
                f"Email template {exc.filename or filename}, line {exc.lineno}: {exc.message}"
            ) from exc
        try:
            return template.render(**context)
        except jinja2.UndefinedError as exc:
            raise UserError(f"Email template {filename}: {exc.message}") from exc
        except jinja2.TemplateError as exc:
            raise UserError(f"Email template {filename}: {exc}") from exc


_default_store: TemplateStore | None = None
#: how long :meth:`TemplateStore.render` trusts its list of template names
NAMES_TTL_S = 5.0


def default_store() -> TemplateStore:
    """The store for the user's config directory (created on first use)."""
    global _default_store
    if _default_store is None or _default_store.user_dir != user_template_dir():
        _default_store = TemplateStore()
    return _default_store


def render(template_name: str, context: Mapping[str, Any]) -> RenderedEmail:
    """Render a template from the built-ins and the user's overrides."""
    return default_store().render(template_name, context)


def available_templates() -> list[str]:
    """Names of every template (built-in and user), sorted."""
    return default_store().names()


def template_for_stage(
    stage_key: str, *, summary: bool = False, names: Iterable[str] | None = None
) -> str:
    """Which template a reminder stage uses.

    ``summary`` mode always uses ``reminder-summary``. Otherwise: ``before-N``
    -> ``reminder-before``, ``due`` -> ``reminder-due``, ``after-N`` ->
    ``reminder-overdue-N`` when such a template exists (built-in: 7, 14, 30;
    a user may add others) else the nearest lower one, ``repeat-N`` ->
    ``reminder-repeat``.
    """
    if summary:
        return "reminder-summary"
    offset = stage_offset(stage_key)
    if stage_key.startswith("repeat-"):
        return "reminder-repeat"
    if offset < 0:
        return "reminder-before"
    if offset == 0:
        return "reminder-due"
    available = set(names if names is not None else available_templates())
    if f"reminder-overdue-{offset}" in available:
        return f"reminder-overdue-{offset}"
    lower = [days for days in OVERDUE_TEMPLATES if days <= offset]
    return OVERDUE_TEMPLATES[max(lower)] if lower else OVERDUE_TEMPLATES[7]
