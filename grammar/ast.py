"""Typed command objects produced by :func:`grammar.parser.parse`.

Everything here is a frozen dataclass, so commands are hashable, comparable
and safe to share. Amounts are :class:`decimal.Decimal` in major units.

Date semantics: a :data:`DateValue` names a day or a range of days;
:func:`resolve_date` turns it into an inclusive ``(start, end)`` range for a
given reference date D. A comparison against a range uses the range's start
for ``<``/``>=`` and its end for ``>``/``<=`` (see :func:`date_bounds`), so
``last payment before 2026`` means ``< 2026-01-01`` and
``created after last month`` means ``> last day of last month``.
``whose last payment is more than 90 days ago`` becomes
``Compare("last_payment_date", "<", DaysAgo(90))``: the date lies before
D - 90 days. ``created within the last 30 days`` becomes
``Compare("created", ">", DaysAgo(30))`` (half-open window (D-30, D]).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal, TypeAlias

#: the prefix of a custom field in an import mapping (``custom:industry``)
CUSTOM_FIELD = "custom:"

# ---------------------------------------------------------------- dates


@dataclass(frozen=True)
class AbsoluteDate:
    """A calendar day written as an ISO date (2026-12-01)."""

    value: date


@dataclass(frozen=True)
class DaysAgo:
    """The day N days before the reference date D."""

    n: int


@dataclass(frozen=True)
class Today:
    """The reference date D."""


@dataclass(frozen=True)
class Yesterday:
    """The day before D."""


@dataclass(frozen=True)
class Tomorrow:
    """The day after D."""


@dataclass(frozen=True)
class LastMonth:
    """The calendar month before D's month (a range)."""


@dataclass(frozen=True)
class ThisYear:
    """D's calendar year (a range)."""


@dataclass(frozen=True)
class Year:
    """A calendar year such as 2026 (a range)."""

    year: int


DateValue: TypeAlias = (
    AbsoluteDate | DaysAgo | Today | Yesterday | Tomorrow | LastMonth | ThisYear | Year
)


def resolve_date(value: DateValue, today: date) -> tuple[date, date]:
    """Return the inclusive (start, end) range a date value denotes as of ``today``."""
    if isinstance(value, AbsoluteDate):
        return value.value, value.value
    if isinstance(value, DaysAgo):
        d = today - timedelta(days=value.n)
        return d, d
    if isinstance(value, Today):
        return today, today
    if isinstance(value, Yesterday):
        d = today - timedelta(days=1)
        return d, d
    if isinstance(value, Tomorrow):
        d = today + timedelta(days=1)
        return d, d
    if isinstance(value, LastMonth):
        year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
        last = calendar.monthrange(year, month)[1]
        return date(year, month, 1), date(year, month, last)
    if isinstance(value, ThisYear):
        return date(today.year, 1, 1), date(today.year, 12, 31)
    if isinstance(value, Year):
        return date(value.year, 1, 1), date(value.year, 12, 31)
    raise TypeError(f"not a date value: {value!r}")


def date_bounds(op: str, value: DateValue, today: date) -> tuple[str, date]:
    """Turn ``field <op> value`` into ``field <op'> day`` for a single SQL comparison.

    ``=`` and ``!=`` on a range are not reducible to one day; for those the
    caller should use :func:`resolve_date` (between / not between).
    """
    start, end = resolve_date(value, today)
    if op in ("<", ">="):
        return op, start
    if op in (">", "<="):
        return op, end
    return op, start


# ---------------------------------------------------------------- filters


@dataclass(frozen=True)
class Field:
    """A custom field name used in a comparison (``where industry is retail``)."""

    name: str


@dataclass(frozen=True)
class And:
    """All of the filters hold."""

    items: tuple[Filter, ...]


@dataclass(frozen=True)
class Or:
    """Any of the filters holds."""

    items: tuple[Filter, ...]


@dataclass(frozen=True)
class Not:
    """The filter does not hold."""

    item: Filter


@dataclass(frozen=True)
class Segment:
    """A built-in segment by canonical name (high-value, late-payer, at-risk, ...)."""

    name: str


@dataclass(frozen=True)
class NameRef:
    """A bare name: a saved segment if one has this name, else a customer reference."""

    text: str


@dataclass(frozen=True)
class CustomerRef:
    """One customer by id (#42), email, exact name or unique prefix."""

    text: str


@dataclass(frozen=True)
class Tagged:
    """Customers carrying the tag."""

    tag: str


@dataclass(frozen=True)
class Search:
    """Free-text search over name, email, company (find/search/matching)."""

    text: str


CompareValue: TypeAlias = Decimal | DateValue | str


@dataclass(frozen=True)
class Compare:
    """``field op value``; field is a figure key (str) or a custom Field."""

    field: str | Field
    op: str
    value: CompareValue


@dataclass(frozen=True)
class Between:
    """``low <= field <= high`` (inclusive both ends)."""

    field: str | Field
    low: CompareValue
    high: CompareValue


@dataclass(frozen=True)
class NoInvoices:
    """Customers with no countable invoice."""


@dataclass(frozen=True)
class Status:
    """Customer status filter: 'active' or 'archived'."""

    value: str


@dataclass(frozen=True)
class Selected:
    """The customers currently selected in the TUI."""


Filter: TypeAlias = (
    And
    | Or
    | Not
    | Segment
    | NameRef
    | CustomerRef
    | Tagged
    | Search
    | Compare
    | Between
    | NoInvoices
    | Status
    | Selected
)


@dataclass(frozen=True)
class SortKey:
    """One sort key: field name (figure key, 'name' or custom field) and direction."""

    field: str
    descending: bool = False


@dataclass(frozen=True)
class Query:
    """A set of customers: filter (None = all), sort keys, limit, archived included."""

    filter: Filter | None = None
    sort: tuple[SortKey, ...] = ()
    limit: int | None = None
    include_archived: bool = False


# ---------------------------------------------------------------- commands


@dataclass(frozen=True)
class ListCustomers:
    """Show the customers matching a query."""

    query: Query


@dataclass(frozen=True)
class AddCustomer:
    """Create a customer with optional (field, value) pairs."""

    name: str
    fields: tuple[tuple[str, str | int], ...] = ()


@dataclass(frozen=True)
class SetField:
    """Set a standard or custom field on the target customers."""

    target: Query
    field: str
    value: str | int


@dataclass(frozen=True)
class Tag:
    """Add tags to the target customers."""

    target: Query
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Untag:
    """Remove tags from the target customers."""

    target: Query
    tags: tuple[str, ...]


@dataclass(frozen=True)
class CreateTag:
    """Create a tag."""

    name: str


@dataclass(frozen=True)
class RenameTag:
    """Rename a tag."""

    old: str
    new: str


@dataclass(frozen=True)
class DeleteTag:
    """Delete a tag (and remove it from every customer)."""

    name: str


@dataclass(frozen=True)
class AddNote:
    """Add a note; body is the raw text after the colon."""

    target: Query
    body: str
    kind: Literal["internal", "customer"] = "internal"
    follow_up: DateValue | None = None


@dataclass(frozen=True)
class FollowUpsDue:
    """List internal notes whose follow-up date is due."""


@dataclass(frozen=True)
class Archive:
    """Archive the target customers."""

    target: Query


@dataclass(frozen=True)
class Unarchive:
    """Restore archived target customers to active."""

    target: Query


@dataclass(frozen=True)
class Undo:
    """Undo the last reversible command."""


@dataclass(frozen=True)
class OverdueInvoices:
    """List overdue invoices, optionally of the target customers."""

    target: Query | None = None


@dataclass(frozen=True)
class Remind:
    """Send reminders now for the overdue invoices of the target customers."""

    target: Query


@dataclass(frozen=True)
class PauseReminders:
    """Pause reminders for the target customers, optionally until a date."""

    target: Query
    until: DateValue | None = None


@dataclass(frozen=True)
class ResumeReminders:
    """Resume paused reminders for the target customers."""

    target: Query


@dataclass(frozen=True)
class RemindersDue:
    """List reminders due on a day."""

    when: DateValue = field(default_factory=Today)


@dataclass(frozen=True)
class SendTemplate:
    """Send an email template (e.g. feedback-request) to the target customers."""

    template: str
    target: Query


@dataclass(frozen=True)
class EmailHistory:
    """Show the emails sent to the target customers."""

    target: Query


@dataclass(frozen=True)
class PaymentMethods:
    """List the target customer's payment methods."""

    target: Query


@dataclass(frozen=True)
class SetDefaultPaymentMethod:
    """Make a payment method the target customer's default."""

    target: Query
    pm_id: str


@dataclass(frozen=True)
class RemovePaymentMethod:
    """Detach a payment method from the target customer."""

    target: Query
    pm_id: str


@dataclass(frozen=True)
class LinkStripe:
    """Link the target customers to Stripe customers."""

    target: Query


@dataclass(frozen=True)
class Export:
    """Export the customers of a query to a file (path kept as written)."""

    query: Query
    path: str


@dataclass(frozen=True)
class Import:
    """Import customers, invoices or payments from a file (path kept as written)."""

    kind: Literal["customers", "invoices", "payments"]
    path: str
    #: (file column, field): a field name, ``custom:NAME``, or "" to leave the column out
    mapping: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Report:
    """A report; start/end are date values (use start's first day, end's last day)."""

    kind: Literal["revenue", "invoice", "payment", "clv"]
    target: Query | None = None
    start: DateValue | None = None
    end: DateValue | None = None
    path: str | None = None


@dataclass(frozen=True)
class DefineSegment:
    """Save a query under a name; source_text is the query as typed."""

    name: str
    query: Query
    source_text: str


@dataclass(frozen=True)
class Explain:
    """Explain how a query is understood and which customers it matches."""

    query: Query


@dataclass(frozen=True)
class Help:
    """Show help, optionally on a topic."""

    topic: str | None = None


Command: TypeAlias = (
    ListCustomers
    | AddCustomer
    | SetField
    | Tag
    | Untag
    | CreateTag
    | RenameTag
    | DeleteTag
    | AddNote
    | FollowUpsDue
    | Archive
    | Unarchive
    | Undo
    | OverdueInvoices
    | Remind
    | PauseReminders
    | ResumeReminders
    | RemindersDue
    | SendTemplate
    | EmailHistory
    | PaymentMethods
    | SetDefaultPaymentMethod
    | RemovePaymentMethod
    | LinkStripe
    | Export
    | Import
    | Report
    | DefineSegment
    | Explain
    | Help
)
