"""Saved segments, explain and help."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from commands import audit
from commands.errors import UserError
from commands.executor import Call, handles
from commands.money import to_major
from commands.results import MessageResult, MutationResult
from commands.targets import translate
from commands.workspace import Workspace
from grammar import ast as A
from store import query as q
from store.models import SavedSegment
from store.settings import Thresholds, thresholds

seg_t: Any = SavedSegment.__table__


@handles(A.DefineSegment)
def define_segment(ws: Workspace, cmd: A.DefineSegment, call: Call) -> MutationResult:
    name = cmd.name.strip().lower()
    if name in q.BUILTIN_SEGMENTS:
        raise UserError(f"'{name}' is a built-in segment; choose another name")
    with ws.write() as conn:
        translate(ws, conn, cmd.query, call)  # fails now, not later, if it names unknown things
        if conn.execute(select(seg_t.c.id).where(func.lower(seg_t.c.name) == name)).first():
            raise UserError(f"segment '{name}' already exists")
        if call.dry_run:
            return MutationResult("define segment", 0, f"would define {name}", dry_run=True)
        sid = conn.execute(
            insert(seg_t).values(
                name=name, definition=cmd.source_text, created_at=datetime.utcnow()
            )
        ).inserted_primary_key[0]
        n = q.count_customers(conn, ws.today, translate(ws, conn, cmd.query, call).spec)
        entry = audit.record(
            conn,
            sentence=call.sentence,
            action="define segment",
            affected=0,
            actor=ws.actor,
            undo={"op": "drop_segment", "id": sid},
        )
    return MutationResult(
        "define segment",
        0,
        f"Defined segment {name} ({n:,} customers today); try `show {name}`",
        audit_id=entry,
    )


@audit.undoer("drop_segment")
def _undo_segment(conn: Connection, entry: int, recipe: dict[str, Any]) -> None:
    conn.execute(delete(seg_t).where(seg_t.c.id == recipe["id"]))


def segment_definitions(th: Thresholds, currency: str) -> dict[str, str]:
    """The DOMAIN.md definition of every built-in segment, with the thresholds in force."""
    hi = to_major(th.high_value_cents, currency)
    mid = to_major(th.medium_value_cents, currency)
    act, new, late = th.activity_days, th.new_days, th.late_window_days
    return {
        "high-value": f"revenue >= {hi:,} {currency}",
        "medium-value": f"{mid:,} <= revenue < {hi:,} {currency}",
        "low-value": f"revenue < {mid:,} {currency}",
        "new": f"created within the last {new} days",
        "active": f"not new, and a countable invoice issued or a payment received within "
        f"the last {act} days",
        "inactive": "neither new nor active",
        "late-payer": f"has a countable invoice overdue today, or one paid late whose due date "
        f"lies within the last {late} days",
        "partial-payer": "has a countable invoice that is partially paid",
        "on-time-payer": f"has a paid invoice whose due date lies within the last {late} days, "
        "and is not a late payer",
        "at-risk": f"any of: late payments (a late payer); low activity (inactive with at least "
        f"one invoice); declining revenue (payments of the last {act} days below half of the "
        f"{act} days before, which were above zero); no recent invoices (2+ invoices and the "
        f"last one more than {th.at_risk_min_gap_days} days and twice the invoice frequency ago)",
    }


def describe(node: A.Filter | None) -> str:
    """A filter in plain words."""
    if node is None:
        return "all customers"
    if isinstance(node, A.And):
        return " and ".join(describe(i) for i in node.items)
    if isinstance(node, A.Or):
        return "(" + " or ".join(describe(i) for i in node.items) + ")"
    if isinstance(node, A.Not):
        return f"not ({describe(node.item)})"
    if isinstance(node, A.Segment):
        return f"in segment {node.name}"
    if isinstance(node, A.Tagged):
        return f"tagged {node.tag}"
    if isinstance(node, A.Search):
        return f"name, email or company contains '{node.text}'"
    if isinstance(node, A.Compare):
        fld = node.field.name if isinstance(node.field, A.Field) else node.field
        return f"{fld.replace('_', ' ')} {node.op} {_value(node.value)}"
    if isinstance(node, A.Between):
        fld = node.field.name if isinstance(node.field, A.Field) else node.field
        return f"{fld.replace('_', ' ')} between {_value(node.low)} and {_value(node.high)}"
    if isinstance(node, A.NoInvoices):
        return "no countable invoices"
    if isinstance(node, A.Status):
        return f"status is {node.value}"
    if isinstance(node, A.Selected):
        return "the selected customers"
    if isinstance(node, A.NameRef | A.CustomerRef):
        return f"'{node.text}' (a saved segment, else that customer)"
    return type(node).__name__


def _value(value: Any) -> str:
    if isinstance(value, A.DaysAgo):
        return f"{value.n} days ago"
    if hasattr(value, "value") and not isinstance(value, str):
        return str(value.value)
    return str(value)


@handles(A.Explain)
def explain(ws: Workspace, cmd: A.Explain, call: Call) -> MessageResult:
    with ws.read() as conn:
        t = translate(ws, conn, cmd.query, call)
        n = q.count_customers(conn, ws.today, t.spec)
        defs = segment_definitions(thresholds(conn), ws.currency)
        lines = [f"Customers where {describe(cmd.query.filter)}"]
        if not t.spec.include_archived:
            lines[0] += " (archived customers left out)"
        if cmd.query.sort:
            keys = ", ".join(
                f"{k.field}{' descending' if k.descending else ''}" for k in cmd.query.sort
            )
            lines.append(f"sorted by {keys}")
        if cmd.query.limit:
            lines.append(f"first {cmd.query.limit} only")
        lines.append(f"As of {ws.today.isoformat()} that is {n:,} customers.")
        for name in dict.fromkeys(t.segments):
            lines.append(f"  {name}: {defs.get(name, '')}")
        for name in dict.fromkeys(t.saved):
            definition = conn.execute(
                select(seg_t.c.definition).where(func.lower(seg_t.c.name) == name.lower())
            ).scalar()
            lines.append(f"  {name} (saved segment): {definition}")
    return MessageResult("\n".join(lines), kind="explain")


HELP = {
    "find": [
        "customers",
        "find acme",
        "show high-value customers sorted by revenue",
        "customers with revenue over 5k",
        "customers tagged vip and tagged eu",
        "customers where industry is retail",
        "top 10 customers by revenue",
        "customers whose last payment is more than 90 days ago",
        "at-risk customers",
    ],
    "tag": [
        "tag late payers with at-risk",
        "tag acme with vip, key-account",
        "untag at-risk from on-time payers",
        "tag selected with follow-up",
        "create tag churned",
        "rename tag vip to platinum",
        "delete tag trial",
    ],
    "edit": [
        'add customer "Acme GmbH" with email ops@acme.test and company Acme',
        "set email of acme to billing@acme.test",
        "set industry of acme to retail",
        "set terms of acme to net 45",
        "set billing frequency of acme to quarterly",
        "set preferred payment method of acme to bank transfer",
        "archive customers with no invoices",
        "undo",
    ],
    "note": [
        "note acme: called about the renewal",
        "note acme: call back, follow up on 2026-12-01",
        "follow-ups due",
        "customer note acme: Net 30 per contract",
    ],
    "remind": [
        "overdue invoices",
        "remind late payers",
        "remind acme",
        "pause reminders for acme until 2026-12-31",
        "resume reminders for acme",
        "reminders due tomorrow",
        "send feedback request to at-risk customers",
        "email history of acme",
    ],
    "stripe": [
        "payment methods of acme",
        "set default payment method of acme to pm_123",
        "remove payment method pm_123 from acme",
        "link acme to stripe",
    ],
    "files": [
        "export customers to customers.csv",
        "export high-value customers to vip.xlsx",
        "import customers from contacts.xlsx",
        'import customers from kunden.csv mapping Kunde as name, "Tel." as phone',
        "import customers from crm.xlsx mapping Branche as custom:industry, Notes as nothing",
        "revenue report for 2026 to rev.xlsx",
        "invoice report for acme",
        "payment report for acme since 2026-01-01",
        "clv report for at-risk customers",
    ],
    "segments": [
        "define segment whales as customers with revenue over 50k",
        "show whales",
        "explain late payers",
    ],
}
TOPIC_ALIASES = {
    "untag": "tag",
    "search": "find",
    "show": "find",
    "list": "find",
    "export": "files",
    "import": "files",
    "report": "files",
    "reports": "files",
    "notes": "note",
    "reminders": "remind",
    "email": "remind",
    "segment": "segments",
    "define": "segments",
    "explain": "segments",
    "set": "edit",
    "add": "edit",
    "archive": "edit",
    "undo": "edit",
    "payment": "stripe",
    "tags": "tag",
}


@handles(A.Help)
def help_(ws: Workspace, cmd: A.Help, call: Call) -> MessageResult:
    topic = (cmd.topic or "").strip().lower()
    topic = TOPIC_ALIASES.get(topic, topic)
    if topic and topic not in HELP:
        raise UserError(f"no help on '{cmd.topic}'; topics: {', '.join(HELP)}")
    topics = [topic] if topic else list(HELP)
    lines = []
    for t in topics:
        lines.append(f"{t}:")
        lines += [f"  {example}" for example in HELP[t]]
    if not topic:
        lines.append("`help TOPIC` for one topic; `explain QUERY` shows what a query means.")
    return MessageResult("\n".join(lines), kind="help")
