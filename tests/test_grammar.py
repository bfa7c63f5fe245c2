"""Every COMMANDS.md example parses to the intended command object."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from grammar import ast as A
from grammar.parser import parse


def Q(
    f: A.Filter | None = None,
    sort: tuple[A.SortKey, ...] = (),
    limit: int | None = None,
    archived: bool = False,
) -> A.Query:
    return A.Query(f, sort, limit, archived)


def L(f: A.Filter | None = None, **kw: object) -> A.ListCustomers:
    return A.ListCustomers(Q(f, **kw))  # type: ignore[arg-type]


def seg(name: str) -> A.Segment:
    return A.Segment(name)


ACME = Q(A.NameRef("acme"))
ACME_REF = Q(A.CustomerRef("acme"))

EXAMPLES: list[tuple[str, A.Command]] = [
    # Finding customers
    ("customers", L()),
    ("show customers", L()),
    ("list all clients", L()),
    ("find acme", L(A.Search("acme"))),
    ('search "Jane Doe"', L(A.Search("Jane Doe"))),
    ("customers matching @example.com", L(A.Search("@example.com"))),
    ("show high-value customers", L(seg("high-value"))),
    ("late payers", L(seg("late-payer"))),
    (
        "show inactive customers sorted by revenue",
        L(seg("inactive"), sort=(A.SortKey("revenue", False),)),
    ),
    ("new customers tagged trial", L(A.And((seg("new"), A.Tagged("trial"))))),
    ("customers tagged vip and tagged eu", L(A.And((A.Tagged("vip"), A.Tagged("eu"))))),
    ("customers not tagged churned", L(A.Not(A.Tagged("churned")))),
    ("customers with revenue over 5k", L(A.Compare("revenue", ">", Decimal(5000)))),
    (
        "customers with revenue between 1,000 and $2,500.50",
        L(A.Between("revenue", Decimal(1000), Decimal("2500.50"))),
    ),
    (
        "customers with at least 3 invoices sorted by invoice count descending",
        L(
            A.Compare("invoice_count", ">=", Decimal(3)),
            sort=(A.SortKey("invoice_count", True),),
        ),
    ),
    (
        "customers with outstanding above 0 sorted by outstanding desc",
        L(A.Compare("outstanding", ">", Decimal(0)), sort=(A.SortKey("outstanding", True),)),
    ),
    ("top 10 customers by revenue", L(None, sort=(A.SortKey("revenue", True),), limit=10)),
    (
        "customers whose last payment is more than 90 days ago",
        L(A.Compare("last_payment_date", "<", A.DaysAgo(90))),
    ),
    ("customers with no invoices", L(A.NoInvoices())),
    ("customers in status archived", L(A.Status("archived"), archived=True)),
    (
        "archived customers tagged vip",
        L(A.And((A.Status("archived"), A.Tagged("vip"))), archived=True),
    ),
    ("find acme including archived", L(A.Search("acme"), archived=True)),
    ("customers where industry is retail", L(A.Compare(A.Field("industry"), "=", "retail"))),
    (
        'customers where plan = "Gold Plus" and seats >= 10',
        L(
            A.And(
                (
                    A.Compare(A.Field("plan"), "=", "Gold Plus"),
                    A.Compare(A.Field("seats"), ">=", Decimal(10)),
                )
            )
        ),
    ),
    ("at-risk customers", L(seg("at-risk"))),
    (
        "partial payers or late payers sorted by name",
        L(A.Or((seg("partial-payer"), seg("late-payer"))), sort=(A.SortKey("name"),)),
    ),
    # Acting on customers
    (
        'add customer "Acme GmbH" with email ops@acme.test and company Acme',
        A.AddCustomer("Acme GmbH", (("email", "ops@acme.test"), ("company", "Acme"))),
    ),
    ("set email of acme to billing@acme.test", A.SetField(ACME, "email", "billing@acme.test")),
    ("set industry of acme to retail", A.SetField(ACME, "industry", "retail")),
    ("tag late payers with at-risk", A.Tag(Q(seg("late-payer")), ("at-risk",))),
    ("tag acme with vip, key-account", A.Tag(ACME, ("vip", "key-account"))),
    ("untag at-risk from on-time payers", A.Untag(Q(seg("on-time-payer")), ("at-risk",))),
    ("tag selected with follow-up", A.Tag(Q(A.Selected()), ("follow-up",))),
    ("create tag churned", A.CreateTag("churned")),
    ("rename tag vip to platinum", A.RenameTag("vip", "platinum")),
    ("delete tag trial", A.DeleteTag("trial")),
    (
        "note acme: called about the renewal, wants a quote by Friday",
        A.AddNote(ACME, "called about the renewal, wants a quote by Friday", "internal", None),
    ),
    (
        "note acme: call back about the discount, follow up on 2026-12-01",
        A.AddNote(
            ACME,
            "call back about the discount, follow up on 2026-12-01",
            "internal",
            A.AbsoluteDate(date(2026, 12, 1)),
        ),
    ),
    ("follow-ups due", A.FollowUpsDue()),
    (
        "customer note acme: Net 30 per contract signed 2026-03-01",
        A.AddNote(ACME, "Net 30 per contract signed 2026-03-01", "customer", None),
    ),
    ("set terms of acme to net 45", A.SetField(ACME, "terms", 45)),
    (
        "set billing frequency of acme to quarterly",
        A.SetField(ACME, "billing_frequency", "quarterly"),
    ),
    (
        "set preferred payment method of acme to bank transfer",
        A.SetField(ACME, "preferred_payment_method", "bank transfer"),
    ),
    ("archive customers with no invoices", A.Archive(Q(A.NoInvoices()))),
    ("undo", A.Undo()),
    # Invoices and reminders
    ("overdue invoices", A.OverdueInvoices(None)),
    ("overdue invoices of acme", A.OverdueInvoices(ACME_REF)),
    ("remind late payers", A.Remind(Q(seg("late-payer")))),
    (
        "send reminders for overdue invoices of customers tagged at-risk",
        A.Remind(Q(A.Tagged("at-risk"))),
    ),
    ("remind acme", A.Remind(ACME)),
    (
        "pause reminders for acme until 2026-12-31",
        A.PauseReminders(ACME, A.AbsoluteDate(date(2026, 12, 31))),
    ),
    ("resume reminders for acme", A.ResumeReminders(ACME)),
    ("reminders due tomorrow", A.RemindersDue(A.Tomorrow())),
    (
        "send feedback request to at-risk customers",
        A.SendTemplate("feedback-request", Q(seg("at-risk"))),
    ),
    (
        "send discount offer to inactive customers tagged trial",
        A.SendTemplate("discount-offer", Q(A.And((seg("inactive"), A.Tagged("trial"))))),
    ),
    ("email history of acme", A.EmailHistory(ACME_REF)),
    # Payment methods
    ("payment methods of acme", A.PaymentMethods(ACME_REF)),
    (
        "set default payment method of acme to pm_1Q2w3E",
        A.SetDefaultPaymentMethod(ACME_REF, "pm_1Q2w3E"),
    ),
    (
        "remove payment method pm_1Q2w3E from acme",
        A.RemovePaymentMethod(ACME_REF, "pm_1Q2w3E"),
    ),
    ("link acme to stripe", A.LinkStripe(ACME_REF)),
    # Files and reports
    ("export customers to customers.csv", A.Export(Q(), "customers.csv")),
    ("export high-value customers to vip.xlsx", A.Export(Q(seg("high-value")), "vip.xlsx")),
    ("import customers from contacts.xlsx", A.Import("customers", "contacts.xlsx")),
    (
        "export late payers to ~/reports/late-2026-06.csv",
        A.Export(Q(seg("late-payer")), "~/reports/late-2026-06.csv"),
    ),
    (
        'import customers from "/data/My Contacts.xlsx"',
        A.Import("customers", "/data/My Contacts.xlsx"),
    ),
    (
        'import customers from kunden.csv mapping Firma as company, "Tel. Nr" to Phone, '
        "Branche as custom:industry, Notiz as nothing",
        A.Import(
            "customers",
            "kunden.csv",
            (
                ("Firma", "company"),
                ("Tel. Nr", "phone"),
                ("Branche", "custom:industry"),
                ("Notiz", ""),
            ),
        ),
    ),
    (
        'IMPORT INVOICES FROM "a b.xlsx" MAP Nr = number, Plan AS custom field "Plan Name"',
        A.Import("invoices", "a b.xlsx", (("Nr", "number"), ("Plan", "custom:Plan Name"))),
    ),
    ("revenue report", A.Report("revenue")),
    (
        "revenue report for 2026 to revenue-2026.xlsx",
        A.Report("revenue", None, A.Year(2026), A.Year(2026), "revenue-2026.xlsx"),
    ),
    ("invoice report for acme", A.Report("invoice", ACME)),
    (
        "payment report for acme since 2026-01-01",
        A.Report("payment", ACME, A.AbsoluteDate(date(2026, 1, 1)), None),
    ),
    ("clv report for at-risk customers", A.Report("clv", Q(seg("at-risk")))),
    # Saved segments, help
    (
        "define segment whales as customers with revenue over 50k",
        A.DefineSegment(
            "whales",
            Q(A.Compare("revenue", ">", Decimal(50000))),
            "customers with revenue over 50k",
        ),
    ),
    ("show whales", L(A.NameRef("whales"))),
    ("explain late payers", A.Explain(Q(seg("late-payer")))),
    ("help tag", A.Help("tag")),
]


@pytest.mark.parametrize(("text", "expected"), EXAMPLES, ids=[t for t, _ in EXAMPLES])
def test_commands_md_example(text: str, expected: A.Command) -> None:
    assert parse(text) == expected


def test_every_commands_md_line_is_covered() -> None:
    """The table above lists every example line of COMMANDS.md (when the file is there)."""
    from pathlib import Path

    doc = Path("/work/shared/COMMANDS.md")
    if not doc.exists():
        pytest.skip("COMMANDS.md not available")
    lines = [
        ln[4:].rstrip()
        for ln in doc.read_text(encoding="utf-8").splitlines()
        if ln.startswith("    ") and ln.strip()
    ]
    covered = {t for t, _ in EXAMPLES}
    assert [ln for ln in lines if ln not in covered] == []
    for ln in lines:
        parse(ln)
