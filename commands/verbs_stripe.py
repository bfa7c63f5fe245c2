"""Stripe: link customers, list, set default and remove saved payment methods.

Sentences handled here:

- ``link acme to stripe`` finds the Stripe customer by email or creates it,
  then stores its id on the customer (audited; undo forgets the link, the
  Stripe customer stays).
- ``payment methods of acme`` lists the saved cards (a ``TableResult``).
- ``set default payment method of acme to pm_...`` sets
  ``invoice_settings.default_payment_method`` (audited, not undoable).
- ``remove payment method pm_... from acme`` detaches the card, always after
  a confirmation, even for one (audited, not undoable).

:func:`payment_methods_result` is what the TUI's Payment methods tab calls.

Stripe is called first and the database is written only after Stripe
answered, in one transaction, so a failure leaves the database as it was.
No database transaction is held open across a network call. The gateway (and
so the ``stripe`` library) is built only when one of these sentences runs.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from commands import audit
from commands.errors import UserError
from commands.executor import Call, handles
from commands.resolve import CustomerRef
from commands.results import (
    ConfirmationNeeded,
    MessageResult,
    MutationResult,
    Progress,
    Result,
    TableResult,
)
from commands.targets import one_customer, plural, target_ids
from commands.workspace import Workspace
from grammar import ast as A
from store.models import Customer
from store.writes import update_customers

if TYPE_CHECKING:
    from commands.stripe_gateway import PaymentMethodInfo, StripeGateway

c: Any = Customer.__table__

#: the columns of a payment-method listing (also the JSON keys of ``--json``)
PM_COLUMNS = ["id", "brand", "last 4", "expiry", "default", "billing name", "country", "created"]
#: what the ``default`` column holds for the customer's default method
DEFAULT_MARK = "✓"

_SIMPLE_WORD = re.compile(r"[\w.@+-]+")


# -- shared pieces ---------------------------------------------------------------


def gateway(ws: Workspace) -> StripeGateway:
    """The Stripe gateway for this workspace's key (``UserError`` saying how to set one)."""
    from commands.stripe_gateway import gateway_from_config

    return gateway_from_config(ws.config)


def _is_no_key(exc: UserError) -> bool:
    from commands.stripe_gateway import NO_KEY_MESSAGE

    return exc.message == NO_KEY_MESSAGE


def sentence_ref(ref: CustomerRef) -> str:
    """How to name this customer in a sentence (bare, quoted, or ``#id``)."""
    from grammar.parser import ParseError, parse

    candidates = []
    if _SIMPLE_WORD.fullmatch(ref.name):
        candidates.append(ref.name)
    if '"' not in ref.name:
        candidates.append(f'"{ref.name}"')
    for text in candidates:
        try:
            cmd = parse(f"link {text} to stripe")
        except ParseError:
            continue
        f = getattr(getattr(cmd, "target", None), "filter", None)
        if isinstance(f, A.CustomerRef | A.NameRef) and f.text == ref.name:
            return text
    return f"#{ref.id}"


def not_linked_message(ref: CustomerRef) -> str:
    return f"{ref.name} is not linked to Stripe yet: run `link {sentence_ref(ref)} to stripe` first"


def _stripe_id(conn: Connection, customer_id: int) -> str | None:
    value = conn.execute(select(c.c.stripe_customer_id).where(c.c.id == customer_id)).scalar()
    return str(value) if value else None


def _linked(ws: Workspace, query: A.Query, call: Call) -> tuple[CustomerRef, str]:
    """The one target customer and its Stripe id (``UserError`` if not linked)."""
    with ws.read() as conn:
        ref = one_customer(ws, conn, query, call)
        stripe_id = _stripe_id(conn, ref.id)
    if not stripe_id:
        raise UserError(not_linked_message(ref))
    return ref, stripe_id


def describe_method(pm: PaymentMethodInfo, *, mark_default: bool = True) -> str:
    """``visa •••• 4242, expires 12/2030 (pm_...)`` for previews and messages."""
    text = f"{pm.brand or pm.type or 'card'} •••• {pm.last4 or '????'}"
    if pm.expiry:
        text += f", expires {pm.expiry}"
    if mark_default and pm.is_default:
        text += ", the default"
    return f"{text} ({pm.id})"


def methods_table(
    ref: CustomerRef, stripe_id: str, methods: list[PaymentMethodInfo]
) -> TableResult:
    rows: list[list[Any]] = [
        [
            m.id,
            m.brand,
            m.last4,
            m.expiry or None,
            DEFAULT_MARK if m.is_default else "",
            m.billing_name,
            m.country,
            m.created,
        ]
        for m in methods
    ]
    has_default = any(m.is_default for m in methods)
    if not methods:
        footer = f"No saved payment methods on Stripe customer {stripe_id}"
    else:
        footer = f"{plural(len(methods), 'payment method')} on Stripe customer {stripe_id}"
        if not has_default:
            footer += "; none is the default"
    return TableResult(
        title=f"Payment methods of {ref.name}",
        columns=list(PM_COLUMNS),
        rows=rows,
        kind="payment-methods",
        footer=footer,
    )


# -- the TUI's Payment methods tab ------------------------------------------------


def payment_methods_result(ws: Workspace, customer_id: int) -> Result:
    """The Payment methods tab of one customer.

    A ``TableResult`` (columns :data:`PM_COLUMNS`, the default marked with
    :data:`DEFAULT_MARK`), or a ``MessageResult`` when there is nothing to ask
    Stripe yet: no key configured (says how to configure one) or the customer
    is not linked (says to run ``link NAME to stripe``). Anything else that
    goes wrong (Stripe down, bad key, unknown customer id) raises ``UserError``
    with one sentence.
    """
    from commands.resolve import resolve_customer

    with ws.read() as conn:
        ref = resolve_customer(conn, f"#{int(customer_id)}")
        stripe_id = _stripe_id(conn, ref.id)
    try:
        gw = gateway(ws)
    except UserError as exc:
        if _is_no_key(exc):
            return MessageResult(exc.message, kind="stripe-setup")
        raise
    if not stripe_id:
        return MessageResult(not_linked_message(ref), kind="stripe-setup")
    return methods_table(ref, stripe_id, gw.list_payment_methods(stripe_id))


# -- sentences ------------------------------------------------------------------------


@handles(A.PaymentMethods)
def payment_methods(ws: Workspace, cmd: A.PaymentMethods, call: Call) -> Result:
    gw = gateway(ws)
    ref, stripe_id = _linked(ws, cmd.target, call)
    return methods_table(ref, stripe_id, gw.list_payment_methods(stripe_id))


@handles(A.LinkStripe)
def link_stripe(ws: Workspace, cmd: A.LinkStripe, call: Call) -> Result:
    """Find or create the Stripe customer of each target; store the ids after Stripe answered."""
    gw = gateway(ws)
    with ws.read() as conn:
        f = cmd.target.filter
        if isinstance(f, A.NameRef | A.CustomerRef):
            ids = [one_customer(ws, conn, cmd.target, call).id]
        else:
            ids = target_ids(ws, conn, cmd.target, call)
        cols = (c.c.id, c.c.name, c.c.email, c.c.status, c.c.stripe_customer_id)
        rows = [
            r
            for chunk in _chunks(ids)
            for r in conn.execute(select(*cols).where(c.c.id.in_(chunk))).all()
        ]
    if not rows:
        raise UserError("no customer matches that")
    by_id = {r.id: r for r in rows}
    customers = [by_id[i] for i in ids if i in by_id]
    single = len(customers) == 1
    no_email = [r for r in customers if not (r.email or "").strip()]
    if single and no_email:
        r = no_email[0]
        raise UserError(
            f"{r.name} has no email address, and Stripe customers are found by email: "
            f"set one first (set email of {sentence_ref(_ref(r))} to ...)"
        )
    todo = [r for r in customers if (r.email or "").strip()]
    sample = [f"#{r.id} {r.name} <{r.email}>" for r in todo[:5]]
    linked = sum(1 for r in todo if r.stripe_customer_id)
    message = f"Link {plural(len(todo), 'customer')} to Stripe (found by email, else created)"
    if linked:
        message += f"; {linked:,} already linked will be checked"
    if no_email:
        message += f"; {plural(len(no_email), 'customer')} without email will be skipped"
    guard = call.guard(ws, "link to stripe", len(todo), sample, message)
    if guard is not None:
        return guard

    # Stripe first: nothing is written until every lookup has answered
    new_ids: dict[int, str] = {}
    already: list[tuple[Any, str]] = []
    for n, r in enumerate(todo):
        if r.stripe_customer_id and gw.customer_exists(r.stripe_customer_id):
            already.append((r, r.stripe_customer_id))
        else:
            new_ids[r.id] = gw.find_or_create_customer(r.email, r.name)
        if call.progress is not None and len(todo) > 1:
            call.progress(Progress(n + 1, len(todo), "linking to Stripe"))

    skipped = f"; {plural(len(no_email), 'customer')} without email skipped" if no_email else ""
    if not new_ids:
        if single and already:
            r, sid = already[0]
            text = f"{r.name} is already linked to Stripe customer {sid}"
        else:
            text = f"Nothing to link: {plural(len(already), 'customer')} already linked{skipped}"
        return MutationResult("link to stripe", 0, text, undoable=False)

    with ws.write() as conn:
        entry = audit.record(
            conn,
            sentence=call.sentence,
            action="link to stripe",
            affected=len(new_ids),
            actor=ws.actor,
            undo=None,
        )
        befores = {
            int(i): {"stripe_customer_id": sid}
            for chunk in _chunks(list(new_ids))
            for i, sid in conn.execute(
                select(c.c.id, c.c.stripe_customer_id).where(c.c.id.in_(chunk))
            )
        }
        audit.add_items(conn, entry, befores)
        for cid, sid in new_ids.items():
            update_customers(conn, [cid], {"stripe_customer_id": sid})
        audit.set_undo(conn, entry, {"op": "restore_stripe_link"}, len(new_ids))

    if single:
        r = customers[0]
        text = f"Linked {r.name} to Stripe customer {new_ids[r.id]}"
    else:
        text = f"Linked {plural(len(new_ids), 'customer')} to Stripe"
        if already:
            text += f"; {len(already):,} already linked"
        text += skipped
    linked_sample = (
        [] if single else [f"#{i} {by_id[i].name} -> {sid}" for i, sid in list(new_ids.items())[:5]]
    )
    return MutationResult(
        "link to stripe", len(new_ids), text, audit_id=entry, sample=linked_sample
    )


def _chunks(ids: list[int], size: int = 500) -> list[list[int]]:
    """Ids in slices small enough for any database's bound-parameter limit."""
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _ref(row: Any) -> CustomerRef:
    return CustomerRef(row.id, row.name, row.email, row.status)


@audit.undoer("restore_stripe_link")
def _undo_link(conn: Connection, entry: int, recipe: dict[str, Any]) -> None:
    """Forget the links made (the Stripe customers themselves stay in Stripe)."""
    for cid, before in audit.item_befores(conn, entry).items():
        update_customers(
            conn, [cid], {"stripe_customer_id": (before or {}).get("stripe_customer_id")}
        )


@handles(A.SetDefaultPaymentMethod)
def set_default_payment_method(ws: Workspace, cmd: A.SetDefaultPaymentMethod, call: Call) -> Result:
    gw = gateway(ws)
    ref, stripe_id = _linked(ws, cmd.target, call)
    pm_id = str(cmd.pm_id).strip()
    pm = gw.payment_method_details(stripe_id, pm_id)  # it must be this customer's
    what = describe_method(pm)
    if pm.is_default:
        return MutationResult(
            "set default payment method",
            0,
            f"{what} is already the default payment method of {ref.name}",
            undoable=False,
        )
    if call.dry_run:
        return MutationResult(
            "set default payment method",
            1,
            f"would make {what} the default payment method of {ref.name}",
            dry_run=True,
            undoable=False,
        )
    gw.set_default_payment_method(stripe_id, pm_id)
    with ws.write() as conn:
        entry = audit.record(
            conn,
            sentence=call.sentence,
            action="set default payment method",
            affected=1,
            actor=ws.actor,
            undo=None,
        )
    return MutationResult(
        "set default payment method",
        1,
        f"{describe_method(pm)} is now the default payment method of {ref.name}",
        audit_id=entry,
        undoable=False,
    )


@handles(A.RemovePaymentMethod)
def remove_payment_method(ws: Workspace, cmd: A.RemovePaymentMethod, call: Call) -> Result:
    gw = gateway(ws)
    ref, stripe_id = _linked(ws, cmd.target, call)
    pm_id = str(cmd.pm_id).strip()
    pm = gw.payment_method_details(stripe_id, pm_id)  # it must be this customer's
    what = describe_method(pm)
    if call.dry_run:
        return MutationResult(
            "remove payment method",
            1,
            f"would remove {what} from {ref.name}",
            dry_run=True,
            undoable=False,
        )
    if not call.confirmed:  # always ask, even for one: a removed card cannot be put back
        return ConfirmationNeeded(
            action="remove payment method",
            affected=1,
            message=f"Remove {what} from {ref.name}? This cannot be undone",
            sample=[what],
        )
    gw.detach_payment_method(stripe_id, pm_id)
    with ws.write() as conn:
        entry = audit.record(
            conn,
            sentence=call.sentence,
            action="remove payment method",
            affected=1,
            actor=ws.actor,
            undo=None,
        )
    return MutationResult(
        "remove payment method",
        1,
        f"Removed {what} from {ref.name}",
        audit_id=entry,
        undoable=False,
    )


__all__ = [
    "DEFAULT_MARK",
    "PM_COLUMNS",
    "gateway",
    "methods_table",
    "not_linked_message",
    "payment_methods_result",
]
