"""Variations, errors, completion, serialisation and property tests for grammar/."""

from __future__ import annotations

import json
import time
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grammar import ast as A
from grammar.complete import Completion, Vocabulary, complete
from grammar.parser import ParseError, parse, parse_amount, suggest
from grammar.serialize import to_dict


def Q(
    f: A.Filter | None = None,
    sort: tuple[A.SortKey, ...] = (),
    limit: int | None = None,
    archived: bool = False,
) -> A.Query:
    return A.Query(f, sort, limit, archived)


def L(f: A.Filter | None = None, **kw: object) -> A.ListCustomers:
    return A.ListCustomers(Q(f, **kw))  # type: ignore[arg-type]


LATE = A.Segment("late-payer")
HIGH = A.Segment("high-value")
REV_DESC = (A.SortKey("revenue", True),)

VARIATIONS: list[tuple[str, A.Command]] = [
    # case, plural/singular, hyphens, fillers
    ("SHOW CUSTOMERS", L()),
    ("Late Payers", L(LATE)),
    ("late payer", L(LATE)),
    ("late-payers", L(LATE)),
    ("show me all the late payers", L(LATE)),
    ("high value customers", L(HIGH)),
    ("High-Value clients", L(HIGH)),
    ("on time payers", L(A.Segment("on-time-payer"))),
    ("partial-payers", L(A.Segment("partial-payer"))),
    ("at risk customers", L(A.Segment("at-risk"))),
    ("medium value customers", L(A.Segment("medium-value"))),
    ("low-value clients", L(A.Segment("low-value"))),
    ("Customers With Revenue Over 5K", L(A.Compare("revenue", ">", Decimal(5000)))),
    # clause order
    ("customers sorted by revenue desc tagged vip", L(A.Tagged("vip"), sort=REV_DESC)),
    ("sorted by revenue desc customers tagged vip", L(A.Tagged("vip"), sort=REV_DESC)),
    ("customers tagged vip sorted by revenue desc", L(A.Tagged("vip"), sort=REV_DESC)),
    ("customers order by name asc", L(None, sort=(A.SortKey("name"),))),
    ("customers by outstanding descending", L(None, sort=(A.SortKey("outstanding", True),))),
    (
        "top 5 late payers by outstanding",
        L(LATE, sort=(A.SortKey("outstanding", True),), limit=5),
    ),
    ("bottom 3 customers by revenue", L(None, sort=(A.SortKey("revenue"),), limit=3)),
    ("first 20 customers", L(None, limit=20)),
    ("list all clients limit 5", L(None, limit=5)),
    ("customers including archived", L(None, archived=True)),
    # comparisons and amounts
    ("customers with revenue > 5000", L(A.Compare("revenue", ">", Decimal(5000)))),
    ("customers with revenue >= $5,000.00", L(A.Compare("revenue", ">=", Decimal("5000.00")))),
    ("customers with revenue under 1.2m", L(A.Compare("revenue", "<", Decimal(1200000)))),
    ("revenue over 5k", L(A.Compare("revenue", ">", Decimal(5000)))),
    ("customers with revenue at most 100", L(A.Compare("revenue", "<=", Decimal(100)))),
    ("customers whose revenue is at least 10k", L(A.Compare("revenue", ">=", Decimal(10000)))),
    ("customers with more than 5 invoices", L(A.Compare("invoice_count", ">", Decimal(5)))),
    ("customers with 0 invoices", L(A.Compare("invoice_count", "=", Decimal(0)))),
    ("customers without invoices", L(A.NoInvoices())),
    (
        "customers with revenue over 5k and outstanding above 0",
        L(
            A.And(
                (
                    A.Compare("revenue", ">", Decimal(5000)),
                    A.Compare("outstanding", ">", Decimal(0)),
                )
            )
        ),
    ),
    ("customers with on-time rate below 0.5", L(A.Compare("on_time_rate", "<", Decimal("0.5")))),
    (
        "customers whose invoice frequency is over 30 days",
        L(A.Compare("invoice_frequency_days", ">", Decimal(30))),
    ),
    # dates
    ("customers created within the last 30 days", L(A.Compare("created", ">", A.DaysAgo(30)))),
    (
        "customers whose last invoice is before 2026-01-01",
        L(A.Compare("last_invoice_date", "<", A.AbsoluteDate(date(2026, 1, 1)))),
    ),
    (
        "customers whose last payment is less than 7 days ago",
        L(A.Compare("last_payment_date", ">", A.DaysAgo(7))),
    ),
    (
        "customers whose last payment is before last month",
        L(A.Compare("last_payment_date", "<", A.LastMonth())),
    ),
    ("customers created after this year", L(A.Compare("created", ">", A.ThisYear()))),
    ("customers created in 2026", L(A.Compare("created", "=", A.Year(2026)))),
    # status, tags, search, references
    ("customers whose status is archived", L(A.Status("archived"), archived=True)),
    ("customers in status active", L(A.Status("active"))),
    ("active customers", L(A.Segment("active"))),
    ('customers tagged "key account"', L(A.Tagged("key account"))),
    ("customers tagged with vip", L(A.Tagged("vip"))),
    ("customers with tag vip", L(A.Tagged("vip"))),
    ("customers without tag vip", L(A.Not(A.Tagged("vip")))),
    ("not late payers", L(A.Not(LATE))),
    ("late payers or at-risk customers", L(A.Or((LATE, A.Segment("at-risk"))))),
    ("late payers and high value customers", L(A.And((LATE, HIGH)))),
    # a saved segment (a bare name) combines like a built-in one
    ("list whales or late payers", L(A.Or((A.NameRef("whales"), LATE)))),
    ("whales and not late payers", L(A.And((A.NameRef("whales"), A.Not(LATE))))),
    ('"big fish" or tagged vip', L(A.Or((A.NameRef("big fish"), A.Tagged("vip"))))),
    ('search for "Jane Doe"', L(A.Search("Jane Doe"))),
    ('find "Acme GmbH" including archived', L(A.Search("Acme GmbH"), archived=True)),
    ('show customer "Acme GmbH"', L(A.CustomerRef("Acme GmbH"))),
    ("customer #42", L(A.CustomerRef("#42"))),
    ("#42", L(A.CustomerRef("#42"))),
    ("jane@acme.test", L(A.CustomerRef("jane@acme.test"))),
    (
        "show customers where industry is real estate",
        L(A.Compare(A.Field("industry"), "=", "real estate")),
    ),
    ("customers where plan != gold", L(A.Compare(A.Field("plan"), "!=", "gold"))),
    (
        "customers where seats between 5 and 10",
        L(A.Between(A.Field("seats"), Decimal(5), Decimal(10))),
    ),
    # acting
    ("tag late payers with vip and eu", A.Tag(Q(LATE), ("vip", "eu"))),
    ("Tag ACME With VIP", A.Tag(Q(A.NameRef("ACME")), ("VIP",))),
    ('tag "Acme GmbH" with vip', A.Tag(Q(A.NameRef("Acme GmbH")), ("vip",))),
    (
        "tag customers with revenue over 5k with vip",
        A.Tag(Q(A.Compare("revenue", ">", Decimal(5000))), ("vip",)),
    ),
    ("tag customers tagged with trial with paid", A.Tag(Q(A.Tagged("trial")), ("paid",))),
    ("tag #42 with vip", A.Tag(Q(A.CustomerRef("#42")), ("vip",))),
    ("add tag vip to acme", A.Tag(Q(A.NameRef("acme")), ("vip",))),
    ("remove tag vip from acme", A.Untag(Q(A.NameRef("acme")), ("vip",))),
    ("untag vip, eu from acme", A.Untag(Q(A.NameRef("acme")), ("vip", "eu"))),
    ("new tag churned", A.CreateTag("churned")),
    ("remove tag trial", A.DeleteTag("trial")),
    (
        'note "Acme GmbH": hello: world',
        A.AddNote(Q(A.NameRef("Acme GmbH")), "hello: world", "internal", None),
    ),
    (
        "internal note acme: ring them, follow up tomorrow",
        A.AddNote(Q(A.NameRef("acme")), "ring them, follow up tomorrow", "internal", A.Tomorrow()),
    ),
    (
        "customer note acme: follow up on 2026-12-01 is not parsed for customers",
        A.AddNote(
            Q(A.NameRef("acme")),
            "follow up on 2026-12-01 is not parsed for customers",
            "customer",
            None,
        ),
    ),
    ("restore acme", A.Unarchive(Q(A.NameRef("acme")))),
    ("undo last", A.Undo()),
    ("set credit limit of acme to 5000", A.SetField(Q(A.NameRef("acme")), "credit limit", "5000")),
    (
        "add customer Acme Inc with phone 555 1234, terms net 30",
        A.AddCustomer("Acme Inc", (("phone", "555 1234"), ("terms", 30))),
    ),
    # invoices, reminders, templates
    ("show overdue invoices for acme", A.OverdueInvoices(Q(A.CustomerRef("acme")))),
    ("overdue invoices of late payers", A.OverdueInvoices(Q(LATE))),
    ("send reminders to acme", A.Remind(Q(A.NameRef("acme")))),
    ("pause reminders for late payers", A.PauseReminders(Q(LATE), None)),
    ("reminders due", A.RemindersDue(A.Today())),
    ("show reminders due today", A.RemindersDue(A.Today())),
    (
        "reminders due on 2026-12-01",
        A.RemindersDue(A.AbsoluteDate(date(2026, 12, 1))),
    ),
    ('send "Feedback Request" to acme', A.SendTemplate("Feedback Request", Q(A.NameRef("acme")))),
    ("send template welcome to acme", A.SendTemplate("welcome", Q(A.NameRef("acme")))),
    (
        "send feedback-request to new customers",
        A.SendTemplate("feedback-request", Q(A.Segment("new"))),
    ),
    ("emails of acme", A.EmailHistory(Q(A.CustomerRef("acme")))),
    ("connect acme to stripe", A.LinkStripe(Q(A.CustomerRef("acme")))),
    # files and reports
    ("export to all.csv", A.Export(Q(), "all.csv")),
    ('export late payers to "/tmp/My File.csv"', A.Export(Q(LATE), "/tmp/My File.csv")),
    ("export customers sorted by revenue desc to x.csv", A.Export(Q(None, REV_DESC), "x.csv")),
    ("import invoices from inv.csv", A.Import("invoices", "inv.csv")),
    ("import payments from ./p.xlsx", A.Import("payments", "./p.xlsx")),
    ("import contacts.xlsx", A.Import("customers", "contacts.xlsx")),
    ("revenue report for last month", A.Report("revenue", None, A.LastMonth(), A.LastMonth())),
    (
        "invoice report for late payers since 2026-01-01 until 2026-06-30",
        A.Report(
            "invoice",
            Q(LATE),
            A.AbsoluteDate(date(2026, 1, 1)),
            A.AbsoluteDate(date(2026, 6, 30)),
        ),
    ),
    ("customer lifetime value report", A.Report("clv")),
    (
        'save segment "big fish" as high value customers tagged vip',
        A.DefineSegment(
            "big fish", Q(A.And((HIGH, A.Tagged("vip")))), "high value customers tagged vip"
        ),
    ),
    ("help", A.Help(None)),
    ("help set field", A.Help("set field")),
    ("follow ups due", A.FollowUpsDue()),
]


@pytest.mark.parametrize(("text", "expected"), VARIATIONS, ids=[t for t, _ in VARIATIONS])
def test_variation(text: str, expected: A.Command) -> None:
    assert parse(text) == expected


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "word", "position", "suggestion"),
    [
        ("tag acme wiht vip", "wiht", 9, "with"),
        ("customers taged vip", "taged", 10, "tagged"),
        ("late payers sortd by name", "sortd", 12, "sorted"),
        ("shwo customers", "shwo", 0, "show"),
        ("remidn acme", "remidn", 0, "remind"),
    ],
)
def test_typo_messages(text: str, word: str, position: int, suggestion: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    err = info.value
    assert err.position == position
    assert f"'{word}'" in err.message
    assert f"column {position}" in err.message
    assert err.suggestions[0] == suggestion
    assert f"did you mean `{suggestion}`" in err.message
    assert err.line == text
    assert err.caret == " " * position + "^"
    assert "\n" not in err.message


def test_error_at_end_lists_expected() -> None:
    with pytest.raises(ParseError) as info:
        parse("set email of acme")
    assert info.value.expected == ["to"]
    assert "ends too early" in info.value.message
    assert info.value.position == len("set email of acme")


def test_an_unfinished_import_mapping_points_at_its_end() -> None:
    text = "import customers from x.csv mapping Firma"
    with pytest.raises(ParseError) as info:
        parse(text)
    assert info.value.position == len(text)
    assert set(info.value.expected) >= {"as", "to"}
    with pytest.raises(ParseError) as info:
        parse("import customers from x.csv mapping Firma as company,")
    assert "ends too early" in info.value.message


def test_missing_with_in_tag() -> None:
    with pytest.raises(ParseError) as info:
        parse("tag late payers vip")
    assert "`with`" in info.value.message
    assert info.value.position == len("tag late payers ")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        'search "Jane',
        "customers with revenue over",
        "note acme:",
        "created after 2026-13-45",
    ],
)
def test_bad_input_raises_parse_error(text: str) -> None:
    with pytest.raises(ParseError):
        parse(text)


def test_invalid_date_points_at_it() -> None:
    with pytest.raises(ParseError) as info:
        parse("customers created after 2026-13-45")
    assert info.value.position == len("customers created after ")


def test_suggest_against_names() -> None:
    assert suggest("vpi", ["vip", "eu", "key-account"]) == ["vip"]
    assert suggest("Whales", ["whales", "wales-office"])[0] == "whales"
    assert suggest("zzz", ["vip"]) == []


# ---------------------------------------------------------------- completion

VOCAB = Vocabulary(
    tags=("vip", "eu", "key-account"),
    segments=("whales",),
    fields=("industry", "plan"),
    customers=("Acme GmbH", "acme", "Beta"),
)


def texts(cs: list[Completion]) -> list[str]:
    return [c.text for c in cs]


def test_complete_first_word() -> None:
    out = complete("ta", VOCAB)
    assert texts(out) == ["tag", "tagged"]
    assert all(c.kind == "keyword" and c.replace_from == 0 for c in out)


def test_complete_tags_after_with() -> None:
    assert texts(complete("tag acme with ", VOCAB)) == ["eu", "key-account", "vip"]
    out = complete("tag acme with v", VOCAB)
    assert out == [Completion("vip", "tag", 14)]


def test_complete_keywords_in_query() -> None:
    assert texts(complete("customers wh", VOCAB)) == ["where", "whose"]
    assert {"payer", "payers"} <= set(texts(complete("late pay", VOCAB)))


def test_complete_names_and_quotes() -> None:
    out = complete("show wh", VOCAB)
    assert Completion("whales", "segment", 5) in out
    out = complete('tag "Ac', VOCAB)
    assert Completion('"Acme GmbH"', "customer", 4) in out


def test_complete_fields_after_where() -> None:
    out = complete("customers where ", VOCAB)
    assert Completion("industry", "field", 16) in out
    assert "revenue" in texts(out)


def test_complete_nothing_inside_note_body_or_after_error() -> None:
    assert complete("note acme: hel", VOCAB) == []
    assert complete("zzz qqq xxx ", VOCAB) == []


def test_completion_speed() -> None:
    text = "show late payers sorted by "
    complete(text, VOCAB)
    n = 200
    t0 = time.perf_counter()
    for _ in range(n):
        complete(text, VOCAB)
    per_call = (time.perf_counter() - t0) / n
    assert per_call < 0.005  # measured ~0.1 ms; generous bound for loaded CI machines


def test_parse_speed() -> None:
    from grammar.parser import _parse_cached

    text = "show inactive customers sorted by revenue"
    parse(text)
    n = 300
    t0 = time.perf_counter()
    for _ in range(n):
        _parse_cached.__wrapped__(text)
    per_call = (time.perf_counter() - t0) / n
    assert per_call < 0.002  # measured ~0.1 ms uncached; generous bound for CI


# ---------------------------------------------------------------- dates, amounts, serialize


def test_resolve_date() -> None:
    d = date(2026, 3, 15)
    assert A.resolve_date(A.Today(), d) == (d, d)
    assert A.resolve_date(A.Yesterday(), d) == (date(2026, 3, 14),) * 2
    assert A.resolve_date(A.Tomorrow(), d) == (date(2026, 3, 16),) * 2
    assert A.resolve_date(A.DaysAgo(90), d) == (date(2025, 12, 15),) * 2
    assert A.resolve_date(A.LastMonth(), d) == (date(2026, 2, 1), date(2026, 2, 28))
    assert A.resolve_date(A.LastMonth(), date(2026, 1, 5)) == (
        date(2025, 12, 1),
        date(2025, 12, 31),
    )
    assert A.resolve_date(A.ThisYear(), d) == (date(2026, 1, 1), date(2026, 12, 31))
    assert A.resolve_date(A.Year(2025), d) == (date(2025, 1, 1), date(2025, 12, 31))
    assert A.resolve_date(A.AbsoluteDate(d), d) == (d, d)
    assert A.date_bounds("<", A.Year(2025), d) == ("<", date(2025, 1, 1))
    assert A.date_bounds(">", A.Year(2025), d) == (">", date(2025, 12, 31))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("5000", Decimal(5000)),
        ("5,000", Decimal(5000)),
        ("$5,000.00", Decimal("5000.00")),
        ("5k", Decimal(5000)),
        ("1.2m", Decimal(1200000)),
        ("2.5K", Decimal(2500)),
    ],
)
def test_parse_amount(text: str, value: Decimal) -> None:
    assert parse_amount(text) == value
    cmd = parse(f"customers with revenue over {text}")
    assert cmd == L(A.Compare("revenue", ">", value))


def test_to_dict() -> None:
    cmd = parse("customers with revenue between 1,000 and $2,500.50 sorted by name")
    d = to_dict(cmd)
    assert d == {
        "type": "ListCustomers",
        "query": {
            "type": "Query",
            "filter": {
                "type": "Between",
                "field": "revenue",
                "low": "1000",
                "high": "2500.50",
            },
            "sort": [{"type": "SortKey", "field": "name", "descending": False}],
            "limit": None,
            "include_archived": False,
        },
    }
    d2 = to_dict(parse("pause reminders for acme until 2026-12-31"))
    assert d2["until"] == {"type": "AbsoluteDate", "value": "2026-12-31"}
    json.dumps(to_dict(parse("customers where industry is retail")))


# ---------------------------------------------------------------- properties

WORDS = [
    "tag", "with", "customers", "late", "payers", "show", "sorted", "by", "revenue", "over",
    "5k", "and", "or", "not", "acme", '"Acme GmbH"', ",", ":", "to", "from", "#42", "2026-01-01",
    "between", "is", "where", "note", "export", "report", "days", "ago", ">=", "'x", '"',
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_gives_command_or_parse_error(text: str) -> None:
    try:
        parse(text)
    except ParseError as err:
        assert 0 <= err.position <= len(err.line)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=10))
def test_word_salad_gives_command_or_parse_error(words: list[str]) -> None:
    text = " ".join(words)
    try:
        cmd = parse(text)
    except ParseError:
        return
    json.dumps(to_dict(cmd))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_completion_never_raises(text: str) -> None:
    for c in complete(text, VOCAB):
        assert 0 <= c.replace_from <= len(text)


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False))
def test_amount_round_trip(value: Decimal) -> None:
    text = f"{value:,.2f}"
    assert parse_amount(text) == value
    assert parse(f"customers with revenue over ${text}") == L(A.Compare("revenue", ">", value))


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31)))
def test_date_round_trip(d: date) -> None:
    cmd = parse(f"customers whose last payment is before {d.isoformat()}")
    assert cmd == L(A.Compare("last_payment_date", "<", A.AbsoluteDate(d)))
    assert A.resolve_date(A.AbsoluteDate(d), date(2026, 1, 1)) == (d, d)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=100000))
def test_days_ago_round_trip(n: int) -> None:
    cmd = parse(f"customers whose last payment is more than {n} days ago")
    assert cmd == L(A.Compare("last_payment_date", "<", A.DaysAgo(n)))


EXTRA: list[tuple[str, A.Command]] = [
    ("show", L()),
    ("list", L()),
    ('show "late payers"', L(LATE)),
    ('show "High Value customers"', L(HIGH)),
    ('show "Acme GmbH"', L(A.NameRef("Acme GmbH"))),
    ("archive all customers with no invoices", A.Archive(Q(A.NoInvoices()))),
    ("tag all late payers with x", A.Tag(Q(LATE), ("x",))),
    (
        'revenue report for 2026 to "/tmp/My Report.xlsx"',
        A.Report("revenue", None, A.Year(2026), A.Year(2026), "/tmp/My Report.xlsx"),
    ),
    ("customers tagged vip or tagged eu", L(A.Or((A.Tagged("vip"), A.Tagged("eu"))))),
    ("top 3 by revenue", L(None, sort=REV_DESC, limit=3)),
    ("? tag", A.Help("tag")),
    (
        "clv report for acme to clv.csv",
        A.Report("clv", Q(A.NameRef("acme")), None, None, "clv.csv"),
    ),
    ("customers with revenue over -5", L(A.Compare("revenue", ">", Decimal(-5)))),
    (
        "customers with outstanding below -$1,000.50",
        L(A.Compare("outstanding", "<", Decimal("-1000.50"))),
    ),
]


@pytest.mark.parametrize(("text", "expected"), EXTRA, ids=[t for t, _ in EXTRA])
def test_extra(text: str, expected: A.Command) -> None:
    assert parse(text) == expected


def test_not_cannot_negate_sorting() -> None:
    with pytest.raises(ParseError):
        parse("customers not sorted by name")


def test_package_exports() -> None:
    import grammar

    assert grammar.parse("late payers") == L(LATE)
    assert isinstance(grammar.complete("ta", grammar.Vocabulary()), list)


@pytest.mark.parametrize(
    ("text", "usage", "position"),
    [
        ("untag vip acme", "untag <tag> from <customers>", 10),
        ("note acme hello", "note <customer>: <text>", 10),
        ("rename tag vip platinum", "rename tag <old> to <new>", 15),
        ("export late payers x.csv", "export <customers> to <file>", 19),
        ("link acme stripe", "link <customer> to stripe", 10),
        ("set phone of acme 123", "set <field> of <customer> to <value>", 18),
    ],
)
def test_usage_hints(text: str, usage: str, position: int) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    assert info.value.message.endswith(f"usage: {usage}")
    assert info.value.position == position
