"""Per-customer reminder settings, kept as custom fields of the customer.

``set reminder offsets of acme to "-3 0 10 30"`` overrides the ``[reminders]``
``offsets`` for that customer (days separated by spaces: a comma would make a
new field a number); likewise ``reminder mode``, ``reminder repeat every
days`` and ``reminder max reminders``. The sending window stays the
account's. An invalid value is logged and ignored (the customer keeps the
default schedule), so one typo never stops the daemon.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, func, select

from commands.errors import UserError
from commands.outbox_state import in_ids
from commands.reminder_schedule import ReminderPolicy
from store.models import CustomField, CustomFieldValue

log = logging.getLogger(__name__)

cf: Any = CustomField.__table__
cfv: Any = CustomFieldValue.__table__

#: custom field name -> the ``[reminders]`` key it overrides
FIELDS = {
    "reminder offsets": "offsets",
    "reminder mode": "mode",
    "reminder repeat every days": "repeat_every_days",
    "reminder max reminders": "max_reminders",
}


def _value(row: Any) -> Any:
    if row.text_value is not None:
        return row.text_value
    if row.number_value is not None:
        number = float(row.number_value)
        return int(number) if number.is_integer() else number
    return None


def customer_policies(
    conn: Connection, policy: ReminderPolicy, customer_ids: Iterable[int] | None = None
) -> dict[int, ReminderPolicy]:
    """Customers with reminder overrides (of ``customer_ids``, or all) -> their policy."""
    names = [n.replace(" ", "_") for n in FIELDS] + list(FIELDS)
    stmt = (
        select(cfv.c.customer_id, cf.c.name, cfv.c.text_value, cfv.c.number_value)
        .join_from(cfv, cf, cf.c.id == cfv.c.field_id)
        .where(func.lower(cf.c.name).in_(names))
    )
    if customer_ids is not None:
        stmt = stmt.where(in_ids(cfv.c.customer_id, customer_ids))
    settings: dict[int, dict[str, Any]] = defaultdict(dict)
    for row in conn.execute(stmt):
        value = _value(row)
        if value is not None and str(value).strip():
            settings[row.customer_id][FIELDS[row.name.lower().replace("_", " ")]] = value
    out: dict[int, ReminderPolicy] = {}
    made: dict[frozenset[tuple[str, str]], ReminderPolicy | None] = {}
    for cid, values in settings.items():
        key = frozenset((k, str(v)) for k, v in values.items())
        if key not in made:
            try:
                made[key] = policy.with_overrides(values)
            except UserError as exc:
                log.warning("customer #%d: reminder setting ignored: %s", cid, exc.message)
                made[key] = None
        custom = made[key]
        if custom is not None:
            out[cid] = custom
    return out
