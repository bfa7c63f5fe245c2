"""The executor on real databases: queries, mutations, confirmation, dry runs, undo."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from commands.errors import UserError
from commands.executor import run
from commands.results import ConfirmationNeeded, MessageResult, MutationResult, QueryResult
from commands.workspace import Workspace
from store.models import AuditEntry, Customer, CustomerTag, Note, Tag
from store.writes import insert_customers, insert_invoices, insert_payments
from tests.commands_fixtures import D


def add(ws: Workspace, name: str, email: str, revenue_cents: int = 0, **extra: object) -> int:
    with ws.write() as conn:
        cid = insert_customers(conn, [{"name": name, "email": email, **extra}], D)[0]
        if revenue_cents:
            inv = insert_invoices(
                conn,
                [
                    {
                        "customer_id": cid,
                        "number": f"N-{cid}",
                        "issued_on": D,
                        "due_on": D,
                        "total_cents": revenue_cents,
                        "currency": "USD",
                    }
                ],
            )[0]
            insert_payments(
                conn, [{"invoice_id": inv, "paid_on": D, "amount_cents": revenue_cents}]
            )
    return cid


def names(result: object) -> list[str]:
    assert isinstance(result, QueryResult)
    return [r.name for r in result.rows]


def tag_count(ws: Workspace, tag: str) -> int:
    with ws.read() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(CustomerTag).join(Tag).where(Tag.name == tag)
            ).scalar_one()
        )


# ------------------------------------------------------------------ queries


def test_queries_on_both_databases(ws: Workspace) -> None:
    add(ws, "Acme GmbH", "ops@acme.test", 1_200_000)
    add(ws, "Acme Ltd", "hi@acme-ltd.test", 50_000)
    add(ws, "Jürgen Müller", "jm@example.com", 250_000)
    assert names(run(ws, "customers")) == ["Acme GmbH", "Acme Ltd", "Jürgen Müller"]
    assert names(run(ws, "show high-value customers")) == ["Acme GmbH"]
    assert names(run(ws, "find muller")) == ["Jürgen Müller"]
    assert names(run(ws, "customers matching @example.com")) == ["Jürgen Müller"]
    assert names(run(ws, "top 2 customers by revenue")) == ["Acme GmbH", "Jürgen Müller"]
    assert names(run(ws, "customers with revenue between 1,000 and $2,500.50")) == ["Jürgen Müller"]
    assert names(run(ws, "customers with revenue over 5k")) == ["Acme GmbH"]
    assert names(run(ws, "customers with revenue under 1k")) == ["Acme Ltd"]
    result = run(ws, "top 10 customers by revenue")
    assert isinstance(result, QueryResult)
    assert result.total == 3
    assert result.rows[0].revenue == Decimal("12000.00")
    assert result.rows[0].segments[:2] == ["high-value", "new"]


def test_status_and_archived(demo_ws: Workspace) -> None:
    with demo_ws.read() as conn:
        archived = conn.execute(
            select(func.count()).where(Customer.status == "archived")
        ).scalar_one()
        active = conn.execute(select(func.count()).where(Customer.status == "active")).scalar_one()
    assert archived > 0
    everyone = run(demo_ws, "customers")
    assert isinstance(everyone, QueryResult) and everyone.total == active
    only = run(demo_ws, "customers in status archived")
    assert isinstance(only, QueryResult) and only.total == archived
    assert all(r.status == "archived" for r in only.rows)


def test_segment_counts_match_raw_sql(demo_ws: Workspace) -> None:
    """Each segment sentence returns exactly the rows the figures table flags."""
    sql = {
        "late payers": "late_payer = 1",
        "partial payers": "partial_payer = 1",
        "on-time payers": "on_time_payer = 1",
        "at-risk customers": "at_risk = 1",
        "high-value customers": "revenue_segment = 'high-value'",
        "inactive customers": "activity_segment = 'inactive'",
        "new customers": "activity_segment = 'new'",
    }
    with demo_ws.read() as conn:
        for sentence, where in sql.items():
            expected = conn.execute(
                text(
                    "SELECT count(*) FROM customer_figures f "
                    "JOIN customers c ON c.id = f.customer_id"
                    f" WHERE f.as_of = :d AND c.status = 'active' AND {where}"
                ),
                {"d": D},
            ).scalar_one()
            result = run(demo_ws, sentence)
            assert isinstance(result, QueryResult)
            assert result.total == expected, sentence
            assert expected > 0, f"demo data should populate {sentence}"


def test_sorting_and_limits(demo_ws: Workspace) -> None:
    rows = run(demo_ws, "customers with at least 3 invoices sorted by invoice count descending")
    assert isinstance(rows, QueryResult)
    counts = [r.invoice_count for r in rows.rows]
    assert counts == sorted(counts, reverse=True) and min(counts) >= 3
    by_name = run(demo_ws, "partial payers or late payers sorted by name")
    assert isinstance(by_name, QueryResult)
    keys = [r.name.casefold() for r in by_name.rows]
    assert len(keys) == by_name.total > 0


@pytest.mark.parametrize(
    "sentence", ["customers sorted by revenue desc", "late payers", "top 30 customers by revenue"]
)
def test_a_list_for_the_screen_holds_its_first_rows_and_the_whole_count(
    demo_ws: Workspace, sentence: str
) -> None:
    every = run(demo_ws, sentence)
    first = run(demo_ws, sentence, rows_shown=25)
    assert isinstance(every, QueryResult) and isinstance(first, QueryResult)
    assert every.total == len(every.rows) > 25
    assert first.total == every.total
    assert [r.id for r in first.rows] == [r.id for r in every.rows[:25]]


def test_custom_fields_tags_and_dates(demo_ws: Workspace) -> None:
    retail = run(demo_ws, "customers where industry is retail")
    assert isinstance(retail, QueryResult) and retail.total > 0
    gold = run(demo_ws, 'customers where plan = "Gold Plus" and seats >= 10')
    assert isinstance(gold, QueryResult)
    with demo_ws.read() as conn:
        expected = conn.execute(
            text(
                "SELECT count(*) FROM customers c WHERE c.status='active' "
                "AND EXISTS (SELECT 1 FROM "
                "custom_field_values v JOIN custom_fields f ON f.id=v.field_id WHERE "
                "v.customer_id=c.id AND f.name='plan' AND v.text_value='Gold Plus') AND EXISTS ("
                "SELECT 1 FROM custom_field_values v JOIN custom_fields f ON f.id=v.field_id "
                "WHERE v.customer_id=c.id AND f.name='seats' AND v.number_value >= 10)"
            )
        ).scalar_one()
    assert gold.total == expected > 0
    eu_vip = run(demo_ws, "customers tagged eu and not tagged churned")
    assert isinstance(eu_vip, QueryResult)
    assert all("eu" in r.tags and "churned" not in r.tags for r in eu_vip.rows)
    stale = run(demo_ws, "customers whose last payment is more than 90 days ago")
    assert isinstance(stale, QueryResult) and stale.total > 0
    assert all(r.last_payment_date and (D - r.last_payment_date).days > 90 for r in stale.rows)
    none = run(demo_ws, "customers with no invoices")
    assert isinstance(none, QueryResult)
    assert all(r.invoice_count == 0 for r in none.rows)


# ------------------------------------------------------------------ mutations


def test_bulk_tag_needs_confirmation_then_undo(demo_ws: Workspace) -> None:
    late = run(demo_ws, "late payers")
    assert isinstance(late, QueryResult) and late.total > 3
    asked = run(demo_ws, "tag late payers with at-risk")
    assert isinstance(asked, ConfirmationNeeded) and asked.affected == late.total
    assert tag_count(demo_ws, "at-risk") == 0  # nothing changed yet
    dry = run(demo_ws, "tag late payers with at-risk", dry_run=True)
    assert isinstance(dry, MutationResult) and dry.dry_run and dry.affected == late.total
    assert tag_count(demo_ws, "at-risk") == 0
    done = run(demo_ws, "tag late payers with at-risk", confirmed=True)
    assert isinstance(done, MutationResult) and done.affected == late.total
    assert tag_count(demo_ws, "at-risk") == late.total
    tagged = run(demo_ws, "customers tagged at-risk")
    assert isinstance(tagged, QueryResult) and tagged.total == late.total
    # tagging again changes nobody
    again = run(demo_ws, "tag late payers with at-risk", confirmed=True)
    assert isinstance(again, MutationResult) and again.affected == 0
    run(demo_ws, "undo")  # undoes the no-op
    run(demo_ws, "undo")  # undoes the real tagging, and the tag it created
    assert tag_count(demo_ws, "at-risk") == 0
    with demo_ws.read() as conn:
        assert conn.execute(select(Tag.id).where(Tag.name == "at-risk")).first() is None


def test_untag_and_multiple_tags_undo_together(demo_ws: Workspace) -> None:
    before_eu = tag_count(demo_ws, "eu")
    run(demo_ws, "tag customers tagged eu with vip, key-account", confirmed=True)
    assert tag_count(demo_ws, "vip") >= before_eu
    run(demo_ws, "undo")
    with demo_ws.read() as conn:
        assert (
            conn.execute(
                select(func.count()).select_from(Tag).where(Tag.name.in_(["vip", "key-account"]))
            ).scalar_one()
            == 2
        )  # existed in the demo
    active_eu = run(demo_ws, "customers tagged eu")
    assert isinstance(active_eu, QueryResult) and 0 < active_eu.total < before_eu
    removed = run(demo_ws, "untag eu from customers", confirmed=True)
    assert isinstance(removed, MutationResult) and removed.affected == active_eu.total
    # archived customers are left out of bulk actions unless named
    assert tag_count(demo_ws, "eu") == before_eu - active_eu.total
    run(demo_ws, "undo")
    assert tag_count(demo_ws, "eu") == before_eu


def test_bulk_tag_counts_and_previews_each_customer_once(ws: Workspace) -> None:
    ids = [add(ws, f"Zeta {i}", f"z{i}@zeta.test") for i in range(8)]
    run(ws, "tag customers matching zeta 1 with vip", confirmed=True)  # one has vip already
    asked = run(ws, "tag customers matching zeta with vip, gold")
    # eight customers change (seven get vip, all eight get gold), each counted once
    assert isinstance(asked, ConfirmationNeeded) and asked.affected == 8
    assert asked.sample == [f"#{i} Zeta {n} <z{n}@zeta.test>" for n, i in enumerate(ids[:5])]
    dry = run(ws, "tag customers matching zeta with vip, gold", dry_run=True)
    assert isinstance(dry, MutationResult) and dry.dry_run and dry.affected == 8
    assert dry.sample == asked.sample
    with ws.read() as conn:  # asking and the dry run left nothing: no tag, no audit entry
        assert conn.execute(select(Tag.id).where(Tag.name == "gold")).first() is None
        audited = conn.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    assert tag_count(ws, "vip") == 1 and audited == 1
    done = run(ws, "tag customers matching zeta with vip, gold", confirmed=True)
    assert isinstance(done, MutationResult) and done.affected == 8
    assert (tag_count(ws, "vip"), tag_count(ws, "gold")) == (8, 8)
    nobody = run(ws, "tag customers matching zeta with vip", confirmed=True)
    assert isinstance(nobody, MutationResult) and nobody.affected == 0 and nobody.sample == []
    run(ws, "undo")
    run(ws, "undo")
    assert (tag_count(ws, "vip"), tag_count(ws, "gold")) == (1, 0)


def test_failed_command_changes_nothing(demo_ws: Workspace) -> None:
    with demo_ws.read() as conn:
        entries = conn.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    with pytest.raises(UserError) as err:
        run(demo_ws, "tag customers tagged nosuchtag with x", confirmed=True)
    assert "nosuchtag" in err.value.message
    with pytest.raises(UserError) as err:
        run(demo_ws, "tag acme wiht vip")
    assert err.value.position == 9 and "with" in err.value.suggestions
    with demo_ws.read() as conn:
        assert conn.execute(select(func.count()).select_from(AuditEntry)).scalar_one() == entries
        assert conn.execute(select(Tag.id).where(Tag.name == "x")).first() is None


def test_references_and_ambiguity(ws: Workspace) -> None:
    a = add(ws, "Acme GmbH", "ops@acme.test")
    add(ws, "Acme Ltd", "hi@acme-ltd.test")
    with pytest.raises(UserError) as err:
        run(ws, "note acme: hello")
    assert "Acme GmbH" in err.value.message and "Acme Ltd" in err.value.message
    run(ws, "note ops@acme.test: called about the renewal")
    run(ws, f"note #{a}: second")
    run(ws, 'note "acme gmbh": third, follow up on 2026-06-01')
    run(ws, 'customer note "acme gmbh": Net 30 per contract signed 2026-03-01')
    with ws.read() as conn:
        notes = conn.execute(
            select(Note.kind, Note.body, Note.follow_up_on)
            .where(Note.customer_id == a)
            .order_by(Note.id)
        ).all()
    assert [n.kind for n in notes] == ["internal", "internal", "internal", "customer"]
    assert notes[0].body == "called about the renewal"
    due = run(ws, "follow-ups due")
    assert "third" in str(getattr(due, "rows", ""))
    with pytest.raises(UserError):
        run(ws, "note nobody-like-this: x")


def test_add_and_edit_customers(ws: Workspace) -> None:
    done = run(ws, 'add customer "Acme GmbH" with email ops@acme.test and company Acme')
    assert isinstance(done, MutationResult)
    with pytest.raises(UserError, match="not a well-formed email"):
        run(ws, "set email of acme to not-an-email")
    dup = run(ws, 'add customer "Other" with email OPS@acme.test')
    assert isinstance(dup, ConfirmationNeeded)
    run(ws, "set email of acme to billing@acme.test")
    run(ws, "set terms of acme to net 45")
    run(ws, "set billing frequency of acme to quarterly")
    run(ws, "set preferred payment method of acme to bank transfer")
    run(ws, "set industry of acme to retail")
    with ws.read() as conn:
        row = conn.execute(select(Customer.__table__).where(Customer.name == "Acme GmbH")).one()
        assert (
            row.email,
            row.payment_terms_days,
            row.billing_frequency,
            row.preferred_payment_method,
        ) == ("billing@acme.test", 45, "quarterly", "bank transfer")
    assert names(run(ws, "customers where industry is retail")) == ["Acme GmbH"]
    run(ws, "undo")  # industry
    run(ws, "undo")  # preferred method
    with ws.read() as conn:
        row = conn.execute(select(Customer.__table__).where(Customer.name == "Acme GmbH")).one()
        assert row.preferred_payment_method is None and row.billing_frequency == "quarterly"


def test_archive_and_saved_segments(ws: Workspace) -> None:
    add(ws, "Big", "big@x.test", 6_000_000)
    add(ws, "Small", "small@x.test", 10_000)
    add(ws, "Empty", "empty@x.test")
    run(ws, "define segment whales as customers with revenue over 50k")
    assert names(run(ws, "show whales")) == ["Big"]
    assert names(run(ws, "whales sorted by revenue")) == ["Big"]
    run(ws, "archive customers with no invoices")
    assert names(run(ws, "customers")) == ["Big", "Small"]
    assert names(run(ws, "archived customers")) == ["Empty"]
    text_ = run(ws, "explain whales")
    assert isinstance(text_, MessageResult) and "revenue" in text_.text
    explained = run(ws, "explain late payers")
    assert isinstance(explained, MessageResult) and "365 days" in explained.text
    with pytest.raises(UserError) as err:
        run(ws, "show whalez")
    assert "whalez" in err.value.message


def test_undo_with_nothing_to_undo(ws: Workspace) -> None:
    with pytest.raises(UserError, match="nothing to undo"):
        run(ws, "undo")


def test_help(ws: Workspace) -> None:
    result = run(ws, "help tag")
    assert isinstance(result, MessageResult) and "tag late payers with at-risk" in result.text


def test_verb_table_matches_the_registrations() -> None:
    from commands import executor

    executor.load_verbs()
    registered = {cls.__name__: fn.__module__ for cls, fn in executor.HANDLERS.items()}
    assert {k: v for k, v in registered.items() if k in executor.VERB_OF} == executor.VERB_OF
    assert set(registered) - set(executor.VERB_OF) == {"Undo", "Help", "Explain"}


def test_a_sentence_imports_only_its_own_verb_module(sqlite_url: str) -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from commands import executor\n"
        "from commands.workspace import Workspace\n"
        f"ws = Workspace.open({sqlite_url!r}, '2026-06-30')\n"
        "executor.run(ws, 'late payers')\n"
        "print(sorted(m for m in sys.modules if m.startswith('commands.verbs_')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['commands.verbs_customers']"
