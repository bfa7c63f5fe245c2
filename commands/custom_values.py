"""Custom field values between file text and their typed database columns."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Connection, select

from store.models import CustomField, CustomFieldValue

cf: Any = CustomField.__table__
cfv: Any = CustomFieldValue.__table__

VALUE_COLUMNS = ("text_value", "number_value", "date_value", "bool_value")


def typed_custom(ftype: str, choices: list[str] | None, text: str) -> dict[str, Any]:
    """A custom field value in the column of its type; ValueError with a reason."""
    out: dict[str, Any] = dict.fromkeys(VALUE_COLUMNS)
    if ftype == "number":
        try:
            out["number_value"] = float(Decimal(text.replace(",", "")))
        except InvalidOperation:
            raise ValueError(f"{text!r} is not a number") from None
    elif ftype == "date":
        try:
            out["date_value"] = date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    elif ftype == "yes/no":
        low = text.lower()
        if low not in ("yes", "no", "true", "false"):
            raise ValueError(f"{text!r} is not yes or no")
        out["bool_value"] = low in ("yes", "true")
    elif ftype == "choice":
        match = [ch for ch in (choices or []) if ch.lower() == text.lower()]
        if not match:
            raise ValueError(f"{text!r} is not one of {', '.join(choices or [])}")
        out["text_value"] = match[0]
    else:
        out["text_value"] = text
    return out


def custom_text(text: str | None, number: float | None, day: Any, flag: bool | None) -> str | None:
    """A stored custom value as the text an export writes (and an import reads back)."""
    if number is not None:
        return str(int(number)) if float(number).is_integer() else repr(float(number))
    if day is not None:
        return day.isoformat() if isinstance(day, date) else str(day)
    if flag is not None:
        return "yes" if flag else "no"
    return text


def jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def stored_values(
    conn: Connection, ids: Sequence[int], names: Sequence[str]
) -> dict[int, dict[str, dict[str, Any]]]:
    """customer -> field name -> stored value columns (dates as ISO text), for ``names``."""
    wanted = {n.casefold(): n for n in names}
    out: dict[int, dict[str, dict[str, Any]]] = {}
    rows = conn.execute(
        select(cfv.c.customer_id, cf.c.name, *[cfv.c[x] for x in VALUE_COLUMNS])
        .join(cf, cf.c.id == cfv.c.field_id)
        .where(cfv.c.customer_id.in_(list(ids)))
    )
    for cid, name, text, number, day, flag in rows:
        key = wanted.get(str(name).casefold())
        if key is not None:
            out.setdefault(cid, {})[key] = {
                "text_value": text,
                "number_value": number,
                "date_value": jsonable(day),
                "bool_value": flag,
            }
    return out


__all__ = ["VALUE_COLUMNS", "custom_text", "jsonable", "stored_values", "typed_custom"]
