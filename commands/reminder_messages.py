"""Building reminder and retention emails: templates, invoice lines, customer notes only.

Internal notes never reach a message: :meth:`Composer.customer_notes` reads
notes of kind ``customer`` and nothing else (DOMAIN.md, Notes).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    select,
)

from commands.email_templates import (
    TemplateStore,
    default_store,
    invoice_line,
    make_context,
)
from commands.mailer import Mailer
from commands.money import to_major
from commands.outbox_state import HEADER, InvoiceInfo, Item, Planned, chunks, offset_of
from store.engine import read_tx
from store.models import Note

notes_t: Any = Note.__table__


@dataclass
class Composer:
    """Renders and builds the messages of a batch (templates + customer notes only)."""

    mailer: Mailer
    d: date
    currency: str
    templates: TemplateStore | None = None

    def customer_notes(self, conn: Connection, customer_ids: Iterable[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = defaultdict(list)
        ids = sorted(set(customer_ids))
        for chunk in chunks(ids, 5000):
            for cid, body in conn.execute(
                select(notes_t.c.customer_id, notes_t.c.body)
                .where(notes_t.c.customer_id.in_(chunk), notes_t.c.kind == "customer")
                .order_by(notes_t.c.created_at, notes_t.c.id)
            ):
                out[cid].append(body)
        return out

    def build(
        self,
        *,
        template: str,
        to_email: str,
        to_name: str,
        company: str | None,
        invoices: Sequence[InvoiceInfo],
        notes: Sequence[str],
        stage: str | None,
        figures: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> EmailMessage:
        lines = [
            invoice_line(
                number=i.number,
                total=to_major(i.total_cents, self.currency),
                balance=to_major(i.total_cents - i.paid_cents, self.currency),
                due_on=i.due_on,
                today=self.d,
                currency=self.currency,
                issued_on=i.issued_on,
            )
            for i in invoices
        ]
        total_due = to_major(sum(i.total_cents - i.paid_cents for i in invoices), self.currency)
        sender = self.mailer.mail_from
        context = make_context(
            customer_name=to_name,
            customer_email=to_email,
            customer_company=company,
            invoices=lines,
            total_due=f"{total_due} {self.currency}",
            figures=figures or {},
            customer_notes=list(notes),
            sender_name=sender.display_name,
            sender_email=sender.addr_spec,
            stage=stage if stage and offset_of(stage) is not None else None,
            today=self.d,
            extra=extra,
        )
        store = self.templates or default_store()
        rendered = store.render(template, context)
        all_headers = {"X-OpenInvoice-Template": template, **(headers or {})}
        return self.mailer.compose(
            to_email=to_email,
            to_name=to_name,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            headers=all_headers,
        )


def reminder_message(
    composer: Composer,
    plan: Planned,
    items: Sequence[Item],
    listed: Sequence[InvoiceInfo],
    notes: dict[int, list[str]],
) -> EmailMessage:
    """The reminder email of a plan covering ``items``, listing ``listed``."""
    return composer.build(
        template=plan.template,
        to_email=plan.email,
        to_name=plan.name,
        company=plan.company,
        invoices=listed,
        notes=notes.get(plan.customer_id, []),
        stage=items[0].stage if len(plan.items) == 1 else None,
        headers={HEADER: ", ".join(f"{it.invoice_id}:{it.stage}" for it in items)},
    )


def prebuild(
    engine: Engine, composer: Composer, plans: Sequence[Planned]
) -> dict[int, EmailMessage]:
    """Each plan's message as planned (``id(plan)`` -> message), rendered outside any write lock."""
    with read_tx(engine) as conn:
        notes = composer.customer_notes(conn, {p.customer_id for p in plans})
    return {id(p): reminder_message(composer, p, p.items, p.invoices, notes) for p in plans}
