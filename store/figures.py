"""Per-customer figures and segment flags as of a reference date D, in SQL.

One statement computes every DOMAIN.md figure for all customers (or a
given set) into ``customer_figures`` for one D. A snapshot exists per D
that has been asked for; every write refreshes the touched customers in
every snapshot, in the writer's transaction, so reads are index lookups.
"""

from __future__ import annotations

import sys
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Float,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.exc import IntegrityError

from store.models import Customer, CustomerFigures, FigureSnapshot, Invoice, Payment
from store.settings import Thresholds, thresholds
from store.sqlfuncs import days_between

#: how many reference dates keep a snapshot (the oldest are dropped)
MAX_SNAPSHOTS = 3

inv_t: Any = Invoice.__table__
pay_t: Any = Payment.__table__
cust_t: Any = Customer.__table__
fig_t: Any = CustomerFigures.__table__
snap_t: Any = FigureSnapshot.__table__


def _zero(expr: Any) -> Any:
    return func.coalesce(expr, 0)


def figures_select(
    d: date,
    th: Thresholds,
    customer_ids: Collection[int] | None = None,
    id_range: tuple[int, int] | None = None,
) -> Any:
    """SELECT producing one ``customer_figures`` row per customer as of ``d``.

    ``customer_ids`` or an inclusive ``id_range`` limit it to some customers
    (every sub-query is limited too, so the work shrinks with the set).
    """
    d_act = d - timedelta(days=th.activity_days)
    d_prior = d - timedelta(days=2 * th.activity_days)
    d_new = d - timedelta(days=th.new_days)
    d_late = d - timedelta(days=th.late_window_days)

    countable = and_(inv_t.c.status.notin_(("draft", "void")), inv_t.c.issued_on <= d)
    pay_scope = pay_t.c.paid_on <= d
    if customer_ids is not None:
        ids = list(customer_ids)
        countable = and_(countable, inv_t.c.customer_id.in_(ids))
        pay_scope = and_(pay_scope, pay_t.c.customer_id.in_(ids))

    # Invoices with a payment dated after D cannot use their cached totals:
    # recompute those from their payments up to D (none when D is today).
    after_d = select(pay_t.c.invoice_id).where(pay_t.c.paid_on > d)
    if customer_ids is not None:
        after_d = after_d.where(pay_t.c.customer_id.in_(ids))
    if id_range is not None:
        countable = and_(countable, inv_t.c.customer_id.between(*id_range))
        pay_scope = and_(pay_scope, pay_t.c.customer_id.between(*id_range))
        after_d = after_d.where(pay_t.c.customer_id.between(*id_range))
    running = func.sum(pay_t.c.amount_cents).over(
        partition_by=pay_t.c.invoice_id,
        order_by=(pay_t.c.paid_on, pay_t.c.id),
        rows=(None, 0),
    )
    late_pay = (
        select(
            pay_t.c.invoice_id,
            pay_t.c.paid_on,
            pay_t.c.amount_cents.label("amount"),
            inv_t.c.total_cents.label("total"),
            running.label("run"),
        )
        .join(inv_t, inv_t.c.id == pay_t.c.invoice_id)
        .where(pay_scope, pay_t.c.invoice_id.in_(after_d))
        .cte("late_pay")
    )
    crossing = case(
        (
            and_(
                late_pay.c.run >= late_pay.c.total,
                late_pay.c.run - late_pay.c.amount < late_pay.c.total,
            ),
            late_pay.c.paid_on,
        ),
    )
    lp = (
        select(
            late_pay.c.invoice_id,
            func.sum(late_pay.c.amount).label("paid"),
            func.max(crossing).label("settled_on"),
            func.max(late_pay.c.paid_on).label("last_on"),
        )
        .group_by(late_pay.c.invoice_id)
        .cte("lp")
    )
    stale = inv_t.c.last_paid_on > d
    paid_amt = case((stale, func.coalesce(lp.c.paid, 0)), else_=inv_t.c.paid_cents)
    settled = case((stale, lp.c.settled_on), else_=inv_t.c.settled_on)
    state = (
        select(
            inv_t.c.customer_id,
            inv_t.c.total_cents.label("total"),
            inv_t.c.issued_on,
            inv_t.c.due_on,
            paid_amt.label("paid"),
            case((inv_t.c.total_cents - paid_amt <= 0, settled)).label("paid_on"),
            (inv_t.c.total_cents - paid_amt <= 0).label("is_paid"),
            case((stale, lp.c.last_on), else_=inv_t.c.last_paid_on).label("last_on"),
        )
        .select_from(inv_t.outerjoin(lp, lp.c.invoice_id == inv_t.c.id))
        .where(countable)
        .cte("state")
    )

    paid_with_date = and_(state.c.is_paid, state.c.paid_on.isnot(None))
    balance = state.c.total - state.c.paid
    agg = (
        select(
            state.c.customer_id,
            func.count().label("invoice_count"),
            func.sum(state.c.total).label("invoiced"),
            func.sum(state.c.paid).label("revenue"),
            func.sum(case((balance > 0, balance), else_=0)).label("outstanding"),
            func.max(state.c.issued_on).label("last_invoice_on"),
            func.min(state.c.issued_on).label("first_invoice_on"),
            func.max(state.c.last_on).label("last_payment_on"),
            func.sum(case((paid_with_date, 1), else_=0)).label("paid_count"),
            func.avg(
                case((paid_with_date, days_between(state.c.paid_on, state.c.issued_on)))
            ).label("avg_to_pay"),
            func.avg(
                case(
                    (
                        paid_with_date,
                        case(
                            (
                                state.c.paid_on > state.c.due_on,
                                days_between(state.c.paid_on, state.c.due_on),
                            ),
                            else_=0,
                        ),
                    )
                )
            ).label("avg_late"),
            func.sum(
                case((and_(paid_with_date, state.c.paid_on <= state.c.due_on), 1), else_=0)
            ).label("on_time_count"),
            func.sum(case((and_(balance > 0, state.c.due_on < d), 1), else_=0)).label("overdue"),
            func.sum(
                case((and_(state.c.paid > 0, state.c.paid < state.c.total), 1), else_=0)
            ).label("partial"),
            func.sum(
                case(
                    (
                        and_(
                            paid_with_date,
                            state.c.paid_on > state.c.due_on,
                            state.c.due_on > d_late,
                            state.c.due_on <= d,
                        ),
                        1,
                    ),
                    else_=0,
                )
            ).label("late_recent"),
            func.sum(
                case(
                    (and_(paid_with_date, state.c.due_on > d_late, state.c.due_on <= d), 1),
                    else_=0,
                )
            ).label("paid_recent"),
        )
        .group_by(state.c.customer_id)
        .cte("agg")
    )
    # payment windows of the last 180 days, on countable invoices
    window = (
        select(
            pay_t.c.customer_id,
            pay_t.c.paid_on,
            pay_t.c.amount_cents.label("amount"),
        )
        .join(inv_t, inv_t.c.id == pay_t.c.invoice_id)
        .where(pay_scope, pay_t.c.paid_on > d_prior, countable)
        .cte("recent_pay")
    )
    pagg = (
        select(
            window.c.customer_id,
            func.sum(case((window.c.paid_on > d_act, window.c.amount), else_=0)).label("recent"),
            func.sum(case((window.c.paid_on <= d_act, window.c.amount), else_=0)).label("prior"),
            func.sum(case((window.c.paid_on > d_act, 1), else_=0)).label("recent_n"),
        )
        .group_by(window.c.customer_id)
        .cte("pagg")
    )

    c = cust_t
    revenue = _zero(agg.c.revenue)
    count = _zero(agg.c.invoice_count)
    is_new = and_(c.c.created_on > d_new, c.c.created_on <= d)
    recent_activity = or_(agg.c.last_invoice_on > d_act, _zero(pagg.c.recent_n) > 0)
    activity = case((is_new, "new"), (recent_activity, "active"), else_="inactive")
    late_payer = or_(_zero(agg.c.overdue) > 0, _zero(agg.c.late_recent) > 0)
    frequency = case(
        (
            count >= 2,
            cast(days_between(agg.c.last_invoice_on, agg.c.first_invoice_on), Float) / (count - 1),
        )
    )
    gap = days_between(literal(d), agg.c.last_invoice_on)
    risk_low = and_(~is_new, ~recent_activity, count >= 1)
    risk_declining = and_(_zero(pagg.c.prior) > 0, _zero(pagg.c.recent) * 2 < _zero(pagg.c.prior))
    risk_no_recent = and_(count >= 2, gap > th.at_risk_min_gap_days, gap > 2 * frequency)
    last_pay = agg.c.last_payment_on
    last_activity = case(
        (last_pay.is_(None), agg.c.last_invoice_on),
        (agg.c.last_invoice_on.is_(None), last_pay),
        (last_pay > agg.c.last_invoice_on, last_pay),
        else_=agg.c.last_invoice_on,
    )

    def flag(expr: Any) -> Any:
        return case((expr, True), else_=False)

    where = c.c.id.in_(list(customer_ids)) if customer_ids is not None else true()
    if id_range is not None:
        where = and_(where, c.c.id.between(*id_range))
    return (
        select(
            literal(d).label("as_of"),
            c.c.id.label("customer_id"),
            revenue.label("revenue"),
            _zero(agg.c.invoiced).label("invoiced"),
            _zero(agg.c.outstanding).label("outstanding"),
            count.label("invoice_count"),
            cast(
                case((count > 0, func.round(_zero(agg.c.invoiced) * 1.0 / count)), else_=0),
                BigInteger,
            ).label("average_invoice_value"),
            agg.c.last_invoice_on,
            last_pay.label("last_payment_on"),
            last_activity.label("last_activity_on"),
            frequency.label("invoice_frequency_days"),
            cast(agg.c.avg_to_pay, Float).label("average_days_to_pay"),
            cast(agg.c.avg_late, Float).label("average_days_late"),
            case(
                (_zero(agg.c.paid_count) > 0, cast(agg.c.on_time_count, Float) / agg.c.paid_count),
            ).label("on_time_rate"),
            _zero(agg.c.paid_count).label("paid_count"),
            _zero(agg.c.overdue).label("overdue_count"),
            _zero(pagg.c.recent).label("payments_recent"),
            _zero(pagg.c.prior).label("payments_prior"),
            case(
                (revenue >= th.high_value_cents, "high-value"),
                (revenue >= th.medium_value_cents, "medium-value"),
                else_="low-value",
            ).label("revenue_segment"),
            activity.label("activity_segment"),
            flag(late_payer).label("late_payer"),
            flag(_zero(agg.c.partial) > 0).label("partial_payer"),
            flag(and_(_zero(agg.c.paid_recent) > 0, ~late_payer)).label("on_time_payer"),
            flag(late_payer).label("risk_late"),
            flag(risk_low).label("risk_low_activity"),
            flag(risk_declining).label("risk_declining"),
            flag(risk_no_recent).label("risk_no_recent"),
            flag(or_(late_payer, risk_low, risk_declining, risk_no_recent)).label("at_risk"),
            flag(c.c.status == "archived").label("archived"),
        )
        .select_from(
            c.outerjoin(agg, agg.c.customer_id == c.c.id).outerjoin(
                pagg, pagg.c.customer_id == c.c.id
            )
        )
        .where(where)
    )


FIGURE_COLUMNS = [col.name for col in fig_t.columns]


def compute_figures(conn: Connection, d: date, customer_ids: Collection[int] | None = None) -> None:
    """(Re)write the snapshot rows of ``d`` for the given customers (or all)."""
    th = thresholds(conn)
    stmt = delete(fig_t).where(fig_t.c.as_of == d)
    if customer_ids is not None:
        ids = list(customer_ids)
        if not ids:
            return
        for chunk in _chunks(ids, 5000):
            conn.execute(stmt.where(fig_t.c.customer_id.in_(chunk)))
            conn.execute(insert(fig_t).from_select(FIGURE_COLUMNS, figures_select(d, th, chunk)))
        return
    conn.execute(stmt)
    conn.execute(insert(fig_t).from_select(FIGURE_COLUMNS, figures_select(d, th, None)))


def compute_all_in_parallel(engine: Engine, d: date, workers: int = 2) -> None:
    """Compute every customer's figures of ``d`` on several connections at once.

    For a freshly loaded SQLite database (the demo): each worker reads one
    range of customer ids in its own read transaction (SQLite runs queries
    without holding the GIL), then one write transaction stores them all and
    records the snapshot. Same SELECT, same rows as ``compute_figures``.
    """
    with engine.connect() as conn:
        th = thresholds(conn)
        ids = conn.execute(select(cust_t.c.id).order_by(cust_t.c.id)).scalars().all()
    if not ids:
        return
    step = -(-len(ids) // workers)
    ranges = [(ids[i], ids[min(i + step, len(ids)) - 1]) for i in range(0, len(ids), step)]

    def work(id_range: tuple[int, int]) -> list[Any]:
        with engine.connect() as conn:
            stmt = figures_select(d, th, None, id_range=id_range)
            sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
            return list(conn.exec_driver_sql(sql).all())  # raw values, as stored

    # Each worker's fetch gives up the GIL for every row SQLite steps through and
    # then waits up to the switch interval (5 ms) to get it back from the other:
    # a shorter interval while they run takes 8.7 s down to 7.1 s on 100k customers.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(work, ranges))
    finally:
        sys.setswitchinterval(interval)
    with engine.connect() as conn, conn.execution_options(write=True).begin():
        conn.execute(delete(fig_t).where(fig_t.c.as_of == d))
        conn.execute(delete(snap_t).where(snap_t.c.as_of == d))
        conn.execute(insert(snap_t).values(as_of=d, computed_at=datetime.utcnow()))
        # every column in table order, positional: the order the SELECT yields them
        sql = str(insert(fig_t).compile(conn))
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        for rows in parts:
            cursor.executemany(sql, [tuple(r) for r in rows])
        cursor.close()


def _chunks(ids: list[int], size: int) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def snapshot_dates(conn: Connection) -> list[date]:
    """Reference dates that currently have a snapshot."""
    return list(conn.execute(select(snap_t.c.as_of)).scalars())


def has_snapshot(conn: Connection, d: date) -> bool:
    """Whether the figures of ``d`` are computed."""
    return bool(conn.execute(select(exists().where(snap_t.c.as_of == d))).scalar())


def ensure_snapshot(conn: Connection, d: date) -> bool:
    """Make sure the snapshot of ``d`` exists; return True if it had to be computed.

    Runs in the caller's transaction. On PostgreSQL a concurrent creator of
    the same D makes our insert fail; the caller then simply reads theirs.
    """
    if has_snapshot(conn, d):
        return False
    try:
        with conn.begin_nested():
            conn.execute(insert(snap_t).values(as_of=d, computed_at=datetime.utcnow()))
    except IntegrityError:
        return False
    compute_figures(conn, d)
    _prune(conn, keep=d)
    return True


def _prune(conn: Connection, keep: date) -> None:
    dates = (
        conn.execute(select(snap_t.c.as_of).order_by(snap_t.c.computed_at.desc())).scalars().all()
    )
    stale = [x for x in dates if x != keep][MAX_SNAPSHOTS - 1 :]
    for old in stale:
        conn.execute(delete(fig_t).where(fig_t.c.as_of == old))
        conn.execute(delete(snap_t).where(snap_t.c.as_of == old))


def refresh_customers(conn: Connection, customer_ids: Collection[int]) -> None:
    """Recompute the touched customers in every snapshot (call after each write)."""
    ids = list(set(customer_ids))
    if not ids:
        return
    for d in snapshot_dates(conn):
        compute_figures(conn, d, ids)


def invalidate_all(conn: Connection) -> None:
    """Drop every snapshot (after a bulk load or a threshold change)."""
    conn.execute(delete(fig_t))
    conn.execute(delete(snap_t))


def exists_any(conn: Connection) -> bool:
    """Whether any customer exists (cheap check for an empty database)."""
    return bool(conn.execute(select(exists().select_from(cust_t))).scalar())
