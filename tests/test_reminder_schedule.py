"""The reminder schedule rules of DOMAIN.md (defaults unless a test says otherwise)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands.config import Config
from commands.errors import UserError
from commands.reminder_schedule import (
    ReminderPolicy,
    Stage,
    due_stage,
    in_sending_window,
    next_to_send,
    next_window_start,
    policy_from_config,
    stage_key,
    stage_offset,
    stages_for,
    summary_due,
    upcoming,
)

DUE = date(2026, 6, 10)
BERLIN = ZoneInfo("Europe/Berlin")
POLICY = ReminderPolicy(timezone="Europe/Berlin")


def d(offset: int) -> date:
    return DUE + timedelta(days=offset)


# --- stages -----------------------------------------------------------------


def test_default_stages_exact_days_and_keys() -> None:
    stages = stages_for(DUE)
    assert [(s.key, s.send_on) for s in stages] == [
        ("before-3", d(-3)),
        ("due", d(0)),
        ("after-7", d(7)),
        ("after-14", d(14)),
        ("after-30", d(30)),
        ("repeat-44", d(44)),
        ("repeat-58", d(58)),
        ("repeat-72", d(72)),
    ]
    assert len(stages) == 8  # at most 8 reminders in all


def test_stage_keys_round_trip() -> None:
    for stage in stages_for(DUE):
        assert stage_offset(stage.key) == (stage.send_on - DUE).days == stage.offset
    assert stage_key(-3) == "before-3" and stage_key(0) == "due" and stage_key(7) == "after-7"
    assert stage_key(44, repeat=True) == "repeat-44"
    with pytest.raises(ValueError):
        stage_offset("after-x")


def test_max_reminders_caps_offsets_and_repeats() -> None:
    assert len(stages_for(DUE, ReminderPolicy(max_reminders=3))) == 3
    assert [s.key for s in stages_for(DUE, ReminderPolicy(max_reminders=3))] == [
        "before-3",
        "due",
        "after-7",
    ]
    no_repeat = ReminderPolicy(repeat_every=0)
    assert [s.key for s in stages_for(DUE, no_repeat)][-1] == "after-30"
    assert len(stages_for(DUE, no_repeat)) == 5


def test_repeats_never_before_the_due_date() -> None:
    policy = ReminderPolicy(offsets=(-10, -5), repeat_every=3, max_reminders=4)
    assert [s.key for s in stages_for(DUE, policy)] == [
        "before-10",
        "before-5",
        "repeat-1",
        "repeat-4",
    ]


@given(
    offsets=st.lists(st.integers(-30, 90), min_size=1, max_size=10, unique=True),
    repeat=st.integers(0, 30),
    max_reminders=st.integers(1, 12),
)
def test_stage_invariants(offsets: list[int], repeat: int, max_reminders: int) -> None:
    policy = ReminderPolicy(
        offsets=tuple(sorted(offsets)), repeat_every=repeat, max_reminders=max_reminders
    )
    stages = stages_for(DUE, policy)
    assert 1 <= len(stages) <= max_reminders
    assert len({s.key for s in stages}) == len(stages)
    assert [s.send_on for s in stages] == sorted(s.send_on for s in stages)
    assert len({s.send_on for s in stages}) == len(stages)


# --- which stage is due -----------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (-4, None),
        (-3, "before-3"),
        (-1, "before-3"),
        (0, "due"),
        (6, "due"),
        (7, "after-7"),
        (14, "after-14"),
        (29, "after-14"),
        (30, "after-30"),
        (43, "after-30"),
        (44, "repeat-44"),
        (58, "repeat-58"),
        (72, "repeat-72"),
        (500, "repeat-72"),
    ],
)
def test_due_stage_on_each_day(offset: int, expected: str | None) -> None:
    stage = due_stage(DUE, d(offset))
    assert (stage.key if stage else None) == expected


def test_catch_up_sends_only_the_most_recent_missed_stage() -> None:
    # the daemon was down from before the due date until day 20
    sent = ["before-3"]
    stage = next_to_send(DUE, d(20), sent)
    assert stage == Stage(d(14), "after-14")
    # once it is sent, nothing else is due until day 30 (no burst of after-7)
    sent.append("after-14")
    assert next_to_send(DUE, d(20), sent) is None
    assert next_to_send(DUE, d(29), sent) is None
    assert next_to_send(DUE, d(30), sent) == Stage(d(30), "after-30")


def test_next_to_send_skips_stages_older_than_one_sent() -> None:
    assert next_to_send(DUE, d(7), ["after-14"]) is None
    assert next_to_send(DUE, d(7), ["after-7"]) is None
    assert next_to_send(DUE, d(7), ["due", "manual-note"]) == Stage(d(7), "after-7")
    assert next_to_send(DUE, d(-5), []) is None


@given(days=st.lists(st.integers(-10, 120), min_size=1, max_size=40))
def test_a_daemon_running_on_any_days_sends_at_most_eight(days: list[int]) -> None:
    sent: list[str] = []
    for day in sorted(days):
        stage = next_to_send(DUE, d(day), sent)
        if stage is not None:
            assert stage.key not in sent
            sent.append(stage.key)
    assert len(sent) <= 8
    assert [stage_offset(k) for k in sent] == sorted(stage_offset(k) for k in sent)


def test_upcoming_exact_day_only() -> None:
    assert upcoming(DUE, d(-3)) == Stage(d(-3), "before-3")
    assert upcoming(DUE, d(7)) == Stage(d(7), "after-7")
    assert upcoming(DUE, d(8)) is None
    assert upcoming(DUE, d(44)) == Stage(d(44), "repeat-44")
    assert upcoming(DUE, d(86)) is None  # the ninth reminder never comes


# --- sending window ---------------------------------------------------------


def berlin(y: int, m: int, day: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, day, hh, mm, ss, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (berlin(2026, 6, 10, 8, 59, 59), False),  # Wednesday
        (berlin(2026, 6, 10, 9, 0, 0), True),
        (berlin(2026, 6, 10, 12, 0), True),
        (berlin(2026, 6, 10, 16, 59, 59), True),
        (berlin(2026, 6, 10, 17, 0, 0), False),  # the end is exclusive
        (berlin(2026, 6, 12, 16, 0), True),  # Friday
        (berlin(2026, 6, 13, 12, 0), False),  # Saturday
        (berlin(2026, 6, 14, 12, 0), False),  # Sunday
        (berlin(2026, 6, 15, 9, 0), True),  # Monday
    ],
)
def test_window_mon_fri_9_to_17_berlin(moment: datetime, inside: bool) -> None:
    assert in_sending_window(moment, POLICY) is inside


def test_window_is_evaluated_in_the_policy_time_zone() -> None:
    # 07:30 UTC on a summer Wednesday is 09:30 in Berlin
    assert in_sending_window(datetime(2026, 6, 10, 7, 30, tzinfo=ZoneInfo("UTC")), POLICY)
    # 15:30 UTC is 17:30 in Berlin
    assert not in_sending_window(datetime(2026, 6, 10, 15, 30, tzinfo=ZoneInfo("UTC")), POLICY)
    # in winter Berlin is UTC+1: 08:00 UTC is 09:00 local
    assert in_sending_window(datetime(2026, 1, 14, 8, 0, tzinfo=ZoneInfo("UTC")), POLICY)
    # Friday 23:30 UTC is Saturday in Berlin
    assert not in_sending_window(datetime(2026, 6, 12, 23, 30, tzinfo=ZoneInfo("UTC")), POLICY)


def test_window_any_and_naive_datetimes() -> None:
    anytime = ReminderPolicy(window_any=True, timezone="Europe/Berlin")
    sunday_night = berlin(2026, 6, 14, 3, 0)
    assert in_sending_window(sunday_night, anytime)
    assert next_window_start(sunday_night, anytime) == sunday_night
    with pytest.raises(ValueError):
        in_sending_window(datetime(2026, 6, 10, 12, 0), POLICY)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (berlin(2026, 6, 10, 12, 0), berlin(2026, 6, 10, 12, 0)),  # inside: now
        (berlin(2026, 6, 10, 7, 0), berlin(2026, 6, 10, 9, 0)),  # later today
        (berlin(2026, 6, 10, 17, 0), berlin(2026, 6, 11, 9, 0)),  # tomorrow
        (berlin(2026, 6, 12, 17, 30), berlin(2026, 6, 15, 9, 0)),  # Friday evening -> Monday
        (berlin(2026, 6, 13, 10, 0), berlin(2026, 6, 15, 9, 0)),  # Saturday -> Monday
    ],
)
def test_next_window_start(now: datetime, expected: datetime) -> None:
    got = next_window_start(now, POLICY)
    assert got == expected
    assert in_sending_window(got, POLICY)


def test_next_window_start_across_dst_change() -> None:
    # Friday 2026-03-27 evening; the clocks go forward on Sunday 03-29
    got = next_window_start(berlin(2026, 3, 27, 18, 0), POLICY)
    assert got == datetime(2026, 3, 30, 7, 0, tzinfo=ZoneInfo("UTC"))
    assert got.astimezone(BERLIN).time() == time(9, 0)


@given(
    st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(BERLIN)
    )
)
def test_next_window_start_is_inside_and_not_before_now(now: datetime) -> None:
    got = next_window_start(now, POLICY)
    assert got >= now
    assert in_sending_window(got, POLICY)
    assert got - now < timedelta(days=4)


# --- configuration ----------------------------------------------------------


def test_defaults_match_domain_md() -> None:
    policy = ReminderPolicy()
    assert policy.offsets == (-3, 0, 7, 14, 30)
    assert policy.repeat_every == 14
    assert policy.max_reminders == 8
    assert policy.mode == "invoice"
    assert (policy.window_start, policy.window_end) == (time(9), time(17))
    assert policy.window_days == (0, 1, 2, 3, 4)
    assert policy.window_any is False


def test_from_config_section() -> None:
    policy = ReminderPolicy.from_config(
        {
            "offsets": [30, -5, 0, 10],
            "repeat_every_days": 7,
            "max_reminders": 6,
            "mode": "summary",
            "window": "08:30-18:00",
            "days": "mon-sat",
        },
        timezone="Europe/Berlin",
    )
    assert policy.offsets == (-5, 0, 10, 30)
    assert policy.repeat_every == 7 and policy.max_reminders == 6
    assert policy.mode == "summary"
    assert (policy.window_start, policy.window_end) == (time(8, 30), time(18))
    assert policy.window_days == (0, 1, 2, 3, 4, 5)
    assert policy.timezone == "Europe/Berlin"
    assert ReminderPolicy.from_config({"window": "any"}).window_any
    assert ReminderPolicy.from_config({"days": ["mon", "Wednesday"]}).window_days == (0, 2)
    assert ReminderPolicy.from_config({}) == ReminderPolicy()


def test_per_customer_overrides() -> None:
    base = ReminderPolicy(timezone="Europe/Berlin", mode="summary")
    custom = base.with_overrides({"offsets": [0, 10], "window": "any"})
    assert custom.offsets == (0, 10) and custom.window_any
    assert custom.mode == "summary" and custom.timezone == "Europe/Berlin"
    assert base.with_overrides({}) is base


@pytest.mark.parametrize(
    ("section", "fragment"),
    [
        ({"offsets": []}, "offsets"),
        ({"offsets": [0, 0]}, "repeat"),
        ({"offsets": ["soon"]}, "offsets"),
        ({"offsets": 7}, "offsets"),
        ({"repeat_every_days": -1}, "repeat_every_days"),
        ({"max_reminders": 0}, "max_reminders"),
        ({"max_reminders": True}, "max_reminders"),
        ({"mode": "sometimes"}, "mode"),
        ({"window": "17:00-09:00"}, "window"),
        ({"window": "9-17"}, "window"),
        ({"window": "09:00-25:00"}, "window"),
        ({"days": "funday"}, "days"),
        ({"days": "fri-mon"}, "days"),
        ({"timezone": "Mars/Olympus"}, "time zone"),
        ({"sending_window": "any"}, "unknown setting"),
    ],
)
def test_invalid_config_is_a_user_error(section: dict[str, object], fragment: str) -> None:
    with pytest.raises(UserError, match=fragment):
        ReminderPolicy.from_config(section)


def test_policy_from_config_uses_account_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENINVOICE_TIMEZONE", raising=False)
    config = Config({"timezone": "Europe/Berlin", "reminders": {"mode": "summary"}}, None)
    policy = policy_from_config(config)
    assert policy.timezone == "Europe/Berlin" and policy.mode == "summary"
    assert policy_from_config(Config({}, None)) == ReminderPolicy()


def test_summary_due_collects_each_invoices_stage() -> None:
    other_due = DUE + timedelta(days=5)
    today = d(7)  # DUE is 7 days late, other_due 2 days late
    due = summary_due(
        [(1, DUE, ["before-3", "due"]), (2, other_due, ["before-3", "due"]), (3, d(30), [])],
        today,
    )
    assert due == {1: Stage(d(7), "after-7")}
    assert summary_due([(2, other_due, ["due"])], today) == {}
    assert summary_due([(3, d(9), [])], today) == {3: Stage(d(6), "before-3")}
