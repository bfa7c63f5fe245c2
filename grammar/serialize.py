"""JSON-ready dictionaries for command objects (used by ``openinvoice parse``)."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from typing import Any

__all__ = ["to_dict"]


def _value(x: Any) -> Any:
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        out: dict[str, Any] = {"type": type(x).__name__}
        for f in dataclasses.fields(x):
            out[f.name] = _value(getattr(x, f.name))
        return out
    if isinstance(x, Decimal):
        return str(x)
    if isinstance(x, date):
        return x.isoformat()
    if isinstance(x, tuple | list):
        return [_value(i) for i in x]
    return x


def to_dict(command: Any) -> dict[str, Any]:
    """Class name under "type", fields recursively; dates ISO, Decimals as strings."""
    result = _value(command)
    if not isinstance(result, dict):
        raise TypeError(f"not a command object: {command!r}")
    return result
