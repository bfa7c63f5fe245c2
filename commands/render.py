"""Results as JSON (for scripts) and as rich tables (for people)."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from commands.results import (
    FIGURE_KEYS,
    ConfirmationNeeded,
    CustomerRow,
    MessageResult,
    MutationResult,
    QueryResult,
    Result,
    TableResult,
)


def jsonable(value: Any) -> Any:
    """Decimals as strings, dates ISO, dataclasses as dicts."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {k: jsonable(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _figure_json(value: Any) -> Any:
    """A figure's JSON value: Decimal as string, date ISO, numbers and None as they are."""
    kind = type(value)
    if kind is Decimal:
        return str(value)
    if kind is date:
        return value.isoformat()
    return value


def customer_json(row: CustomerRow) -> dict[str, Any]:
    """One customer as JSON (the figures are Decimal, date, int, float or None)."""
    out: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "email": row.email,
        "company": row.company,
        "status": row.status,
        "tags": row.tags,
    }
    for key in FIGURE_KEYS:
        out[key] = _figure_json(getattr(row, key))
    out["segments"] = row.segments
    out["at_risk_reasons"] = row.at_risk_reasons
    return out


def result_json(result: Result) -> dict[str, Any]:
    if isinstance(result, QueryResult):
        return {"total": result.total, "customers": [customer_json(r) for r in result.rows]}
    if isinstance(result, MutationResult):
        return {
            "action": result.action,
            "affected": result.affected,
            "audit_id": result.audit_id,
            "message": result.message,
            "dry_run": result.dry_run,
            "sample": result.sample,
            **({"path": result.path} if result.path else {}),
        }
    if isinstance(result, ConfirmationNeeded):
        return {
            "confirmation_needed": {
                "action": result.action,
                "affected": result.affected,
                "message": result.message,
                "sample": result.sample,
            }
        }
    if isinstance(result, TableResult):
        return {
            "title": result.title,
            "columns": result.columns,
            "rows": [dict(zip(result.columns, jsonable(r), strict=False)) for r in result.rows],
            "total_rows": result.row_count,
            "path": result.path,
            "footer": result.footer,
        }
    if isinstance(result, MessageResult):
        return {"message": result.text}
    return {"result": jsonable(result)}


#: rows of a table printed for people (a terminal cannot show a 100,000-row report;
#: a file or --json has every row)
PRINTED_ROWS = 100


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def render_text(result: Result, console: Any) -> None:
    """Print a result for people (rich).

    Data (names, messages, cells) is printed as plain text, never as rich
    markup: a customer called "[bold]x" or the "[dry run]" label shows as written.
    """
    from rich.table import Table
    from rich.text import Text

    def say(text: str, **style: Any) -> None:
        console.print(text, markup=False, highlight=False, **style)

    if isinstance(result, QueryResult):
        table = Table(title=f"{result.total:,} customers", title_justify="left")
        for col, just in (
            ("#", "right"),
            ("name", "left"),
            ("email", "left"),
            ("company", "left"),
            ("revenue", "right"),
            ("invoices", "right"),
            ("outstanding", "right"),
            ("last activity", "left"),
            ("tags", "left"),
        ):
            table.add_column(col, justify=just)  # type: ignore[arg-type]
        for r in result.rows[:PRINTED_ROWS]:
            cells = (
                str(r.id),
                r.name,
                r.email or "",
                r.company or "",
                _cell(r.revenue),
                str(r.invoice_count),
                _cell(r.outstanding),
                _cell(r.last_activity),
                ", ".join(r.tags),
            )
            table.add_row(*map(Text, cells))
        console.print(table)
        count = min(len(result.rows), PRINTED_ROWS)
        if result.total > count:
            say(
                f"(the first {count:,} of {result.total:,}; "
                "`export ... to FILE.csv` writes them all, --json prints them all)"
            )
    elif isinstance(result, TableResult):
        shown = result.rows[:PRINTED_ROWS]
        table = Table(
            title=Text(result.title),
            title_justify="left",
            caption=Text(result.footer) if result.footer else None,
        )
        for col in result.columns:
            table.add_column(Text(col))
        for row in shown:
            table.add_row(*[Text(_cell(v)) for v in row])
        console.print(table)
        if result.row_count > len(shown):
            where = (
                f"{result.path} has them all"
                if result.path
                else "`... to FILE.csv` or FILE.xlsx writes them all, --json prints them all"
            )
            say(f"(the first {len(shown):,} of {result.row_count:,} rows; {where})")
    elif isinstance(result, MutationResult):
        prefix = "[dry run] " if result.dry_run else ""
        say(f"{prefix}{result.message}")
        for s in result.sample:
            say(f"  {s}")
        if result.undoable and not result.dry_run and result.audit_id:
            say("  undo with `openinvoice run undo`", style="dim")
    elif isinstance(result, ConfirmationNeeded):
        say(result.message)
        for s in result.sample:
            say(f"  {s}")
        say(
            f"This changes {result.affected:,} customers: re-run with --yes to do it, "
            "or --dry-run to only show it."
        )
    elif isinstance(result, MessageResult):
        console.print(result.text, markup=False, highlight=False)
