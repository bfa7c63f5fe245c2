"""Parsers for the cell values of an import: dates, amounts, emails, terms, tags."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from commands.fileformats.reading import Cell

_EXCEL_EPOCH = date(1899, 12, 30)
#: an address as RFC 5322's dot-atoms allow, with UTF-8 in the local part and the domain
#: (RFC 6531: "łukasz@example.test", "用户@例子.广告"); quoted local parts are not taken
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~\u00a0-\uffff\U00010000-\U0010ffff-]+@"
    r"(?:[A-Za-z0-9\u00a0-\uffff](?:[A-Za-z0-9\u00a0-\uffff-]{0,61}[A-Za-z0-9\u00a0-\uffff])?\.)+"
    r"[A-Za-z\u00a0-\uffff]{2,63}$"
)
_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ].*)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_NUMERIC_DATE = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{2}|\d{4})(?:[T ,]+.*)?$")
_NAMED_FORMATS = (
    "%d %b %Y",
    "%d %B %Y",
    "%b %d %Y",
    "%B %d %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%d %b %y",
    "%a %d %b %Y",
    "%A %d %B %Y",
)
_SPACES = re.compile(r"[\s\u00a0\u2007\u202f']")
_SYMBOLS: dict[str, tuple[str, ...]] = {
    "$": ("USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN"),
    "€": ("EUR",),
    "£": ("GBP",),
    "¥": ("JPY", "CNY"),
    "₹": ("INR",),
    "CHF": ("CHF",),
}
ZERO_DECIMAL = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF", "PYG"})
THREE_DECIMAL = frozenset({"BHD", "KWD", "OMR", "JOD", "TND", "IQD", "LYD"})


def currency_exponent(code: str) -> int:
    """Minor-unit digits of a currency: 2, 0 for JPY, 3 for KWD..."""
    return 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2


def cell_text(cell: Cell) -> str:
    """A cell as stripped text: ``4915112345.0`` -> ``"4915112345"``."""
    if type(cell) is str:
        return cell.strip()
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime):
        return cell.isoformat(sep=" ")
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell).strip()


def parse_email(text: str) -> str:
    """``text`` if it is an email address (ValueError with the reason otherwise)."""
    if len(text) > 320 or not _EMAIL.match(text) or ".." in text:
        raise ValueError(f"bad email {text!r}")
    return text


def parse_date(cell: Cell, order: str | None = None) -> date:
    """ISO, D/M/Y or M/D/Y when unambiguous (or ``order`` = "dmy"/"mdy"), D.M.Y,
    ``15 Jan 2024``, typed spreadsheet dates and Excel serial numbers."""
    if type(cell) is str and len(cell) == 10:
        try:
            return date.fromisoformat(cell)
        except ValueError:
            pass
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    if isinstance(cell, bool):
        raise ValueError(f"unparseable date {cell!r}")
    if isinstance(cell, int | float):
        return _excel_serial(float(cell))
    text = cell_text(cell)
    try:
        return _parse_date_text(text, order)
    except ValueError as exc:
        if str(exc).startswith("ambiguous"):
            raise
        raise ValueError(f"unparseable date {text!r}") from None


def _excel_serial(value: float) -> date:
    if not 1 <= value < 2958466:
        raise ValueError(f"unparseable date {value!r}")
    return _EXCEL_EPOCH + timedelta(days=int(value))


def _parse_date_text(text: str, order: str | None) -> date:
    if not text:
        raise ValueError("empty")
    if m := _ISO.match(text):
        if "T" in text or " " in text:
            try:
                return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
            except ValueError:
                pass
        return date(int(m[1]), int(m[2]), int(m[3]))
    if m := _COMPACT.match(text):
        return date(int(m[1]), int(m[2]), int(m[3]))
    if m := _NUMERIC_DATE.match(text):
        a, sep, b, y = int(m[1]), m[2], int(m[3]), int(m[4])
        if len(m[4]) == 2:
            y += 2000 if y < 70 else 1900
        if sep == ".":  # dotted dates are day-first everywhere
            return date(y, b, a)
        if a > 12 and b <= 12:
            return date(y, b, a)
        if b > 12 and a <= 12:
            return date(y, a, b)
        if a == b or order == "mdy":
            return date(y, a, b)
        if order == "dmy":
            return date(y, b, a)
        raise ValueError(f"ambiguous date {text!r}: day/month or month/day?")
    if text.isdigit() and len(text) == 5:
        return _excel_serial(float(text))
    cleaned = re.sub(r"\s+", " ", text.replace(",", " ")).strip()
    cleaned = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", cleaned)
    for fmt in _NAMED_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
    raise ValueError("unparseable")


def parse_amount(cell: Cell, base_currency: str = "USD") -> int:
    """An amount in minor units: ``"1,234.50"``, ``"1.234,50"``, ``"$12"``, ``"(5.00)"``."""
    exp = currency_exponent(base_currency)
    if isinstance(cell, bool | date):
        raise ValueError(f"unparseable amount {cell!r}")
    if isinstance(cell, int):
        return cell * 10**exp
    if isinstance(cell, float):
        return _to_minor(Decimal(repr(cell)), exp, repr(cell), tolerant=True)
    raw = cell_text(cell)
    text = raw
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1].strip()
    for sym, codes in _SYMBOLS.items():
        if sym in text:
            if base_currency not in codes:
                raise ValueError(
                    f"amount {raw} is in {codes[0]}, differs from the base currency {base_currency}"
                )
            text = text.replace(sym, "")
    m = re.match(r"^\s*([A-Z]{3})\s*(.*)$", text) or re.match(r"^(.*?)\s*([A-Z]{3})\s*$", text)
    if m:
        code, rest = (m[1], m[2]) if re.fullmatch(r"[A-Z]{3}", m[1]) else (m[2], m[1])
        if code != base_currency:
            raise ValueError(
                f"amount {raw} is in {code}, differs from the base currency {base_currency}"
            )
        text = rest
    text = text.strip()
    if text.startswith("-"):
        negative, text = not negative, text[1:].strip()
    elif text.endswith("-"):
        negative, text = not negative, text[:-1].strip()
    elif text.startswith("+"):
        text = text[1:].strip()
    text = _SPACES.sub("", text)
    number = _normalise_separators(text, raw)
    value = _to_minor(number, exp, raw, tolerant=False)
    return -value if negative else value


def _normalise_separators(text: str, raw: str) -> Decimal:
    bad = ValueError(f"unparseable amount {raw!r}")
    if not text or not re.fullmatch(r"[0-9.,]+", text):
        raise bad
    if "," in text and "." in text:
        dec = "," if text.rfind(",") > text.rfind(".") else "."
        group = "." if dec == "," else ","
        whole, _, frac = text.rpartition(dec)
        if dec in whole or not _grouped(whole, group):
            raise bad
        text = whole.replace(group, "") + "." + frac
    elif "," in text:
        whole, _, frac = text.rpartition(",")
        if text.count(",") == 1 and len(frac) != 3:
            text = whole + "." + frac  # "12,5", "1234,50": European decimals
        elif _grouped(text, ","):
            text = text.replace(",", "")  # "1,234", "1,234,567"
        else:
            raise bad
    elif text.count(".") > 1:
        if not _grouped(text, "."):
            raise bad
        text = text.replace(".", "")  # "1.234.567"
    elif "." in text and len(text.rpartition(".")[2]) == 3 and text.rpartition(".")[0] != "0":
        raise ValueError(f"ambiguous amount {raw!r}: {text} or {text.replace('.', '')}?")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise bad from None


def _grouped(text: str, sep: str) -> bool:
    return re.fullmatch(r"\d{1,3}(?:" + re.escape(sep) + r"\d{3})*", text) is not None


def _to_minor(number: Decimal, exp: int, raw: str, *, tolerant: bool) -> int:
    scaled = number.scaleb(exp)
    rounded = scaled.to_integral_value(rounding=ROUND_HALF_EVEN)
    if scaled != rounded and not (tolerant and abs(scaled - rounded) < Decimal("0.0001")):
        raise ValueError(f"amount {raw} has more than {exp} decimals")
    if abs(rounded) >= 10**15:
        raise ValueError(f"amount {raw} is too large")
    return int(rounded)


def parse_terms(cell: Cell) -> int:
    """Payment terms in days: ``30``, ``"Net 30"``, ``"30 days"``, ``"Due on receipt"``."""
    if type(cell) is str and cell.isdigit():
        cell = int(cell)
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    if isinstance(cell, int) and not isinstance(cell, bool):
        days = cell
    else:
        text = cell_text(cell).casefold()
        if text in {"due on receipt", "on receipt", "immediate", "immediately", "cod"}:
            return 0
        m = re.fullmatch(r"(?:net\s*)?(\d{1,4})(?:\s*(?:days?|d))?", text)
        if not m:
            raise ValueError(f"bad payment terms {cell_text(cell)!r} (expected days, e.g. 30)")
        days = int(m[1])
    if not 0 <= days <= 3650:
        raise ValueError(f"bad payment terms {days} (0 to 3650 days)")
    return days


def parse_tags(text: str) -> list[str]:
    """``"vip; wholesale"`` -> ``["vip", "wholesale"]`` (duplicates dropped, order kept)."""
    tags: list[str] = []
    if ";" not in text and "," not in text and text.isprintable() and len(text) <= 100:
        return [text.strip()] if text.strip() else []
    for part in text.split(";"):
        tag = part.strip()
        if not tag:
            continue
        if len(tag) > 100:
            raise ValueError(f"bad tag {tag[:20]!r}...: longer than 100 characters")
        if any(ord(ch) < 32 for ch in tag) or "," in tag:
            raise ValueError(
                f"bad tag {tag!r}: tags are separated by ';' and hold no commas "
                "or control characters"
            )
        if tag not in tags:
            tags.append(tag)
    return tags
