"""The reminder schedule of DOMAIN.md as pure functions: no database, no clock.

Everything here takes the dates and times it needs as arguments, so the
daemon, ``reminders due tomorrow`` and the tests all agree.

Stage keys are stable strings that encode the day offset from the due date,
so they can be stored in the outbox and compared later:

``before-3`` (3 days before), ``due`` (on the due date), ``after-7``,
``after-14``, ``after-30`` (days after), ``repeat-44``, ``repeat-58`` ...
(the repeats after the last stage, named by their offset too).
:func:`stage_offset` turns a key back into its offset; ordering stages by
offset is ordering them in time.

The sending window is half-open: ``09:00-17:00`` means 09:00 <= local time
< 17:00, on the listed weekdays, in the policy's time zone.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from commands.errors import UserError

DEFAULT_OFFSETS: tuple[int, ...] = (-3, 0, 7, 14, 30)
DEFAULT_REPEAT_EVERY = 14
DEFAULT_MAX_REMINDERS = 8
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAYS: tuple[int, ...] = (0, 1, 2, 3, 4)

Mode = Literal["invoice", "summary"]
K = TypeVar("K", bound=Hashable)

_STAGE_RE = re.compile(r"^(?:due|before-(\d+)|after-(\d+)|repeat-(\d+))$")
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")


@dataclass(frozen=True, order=True)
class Stage:
    """One reminder of an invoice's schedule: a stable key and the day it is due."""

    send_on: date
    key: str = field(compare=False)

    @property
    def offset(self) -> int:
        """Days relative to the due date (negative: before it)."""
        return stage_offset(self.key)

    @property
    def is_repeat(self) -> bool:
        return self.key.startswith("repeat-")


@dataclass(frozen=True)
class ReminderPolicy:
    """The reminder settings (DOMAIN.md defaults; ``[reminders]`` in the config file).

    ``window_start``/``window_end`` are local times in ``timezone``;
    ``window_any`` turns the sending window off (the daemon may send at any time).
    ``repeat_every`` of 0 means no repeats after the last stage.
    """

    offsets: tuple[int, ...] = DEFAULT_OFFSETS
    repeat_every: int = DEFAULT_REPEAT_EVERY
    max_reminders: int = DEFAULT_MAX_REMINDERS
    mode: Mode = "invoice"
    window_start: time = time(9, 0)
    window_end: time = time(17, 0)
    window_days: tuple[int, ...] = WEEKDAYS
    window_any: bool = False
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def tz(self) -> ZoneInfo:
        return _zone(self.timezone)

    @classmethod
    def from_config(
        cls, section: Mapping[str, Any], *, timezone: str | None = None
    ) -> ReminderPolicy:
        """Build a policy from the ``[reminders]`` table of the config file.

        Keys (all optional): ``offsets`` (list of ints, days relative to the
        due date), ``repeat_every_days`` (int, 0 = never), ``max_reminders``
        (int), ``mode`` (``"invoice"`` or ``"summary"``), ``window``
        (``"09:00-17:00"`` or ``"any"``), ``days`` (``"mon-fri"``,
        ``"mon,wed,fri"`` or a list of day names), ``timezone`` (IANA name;
        defaults to the account's ``timezone`` argument, else UTC).
        Anything invalid is a :class:`UserError` naming the key.
        """
        known = {
            "offsets",
            "repeat_every_days",
            "max_reminders",
            "mode",
            "window",
            "days",
            "timezone",
        }
        unknown = sorted(set(section) - known)
        if unknown:
            raise UserError(
                f"[reminders] has an unknown setting '{unknown[0]}'; "
                f"known settings are: {', '.join(sorted(known))}"
            )
        kwargs: dict[str, Any] = {}
        if "offsets" in section:
            kwargs["offsets"] = _parse_offsets(section["offsets"])
        if "repeat_every_days" in section:
            kwargs["repeat_every"] = _parse_int(section["repeat_every_days"], "repeat_every_days")
        if "max_reminders" in section:
            kwargs["max_reminders"] = _parse_int(section["max_reminders"], "max_reminders")
        if "mode" in section:
            mode = str(section["mode"]).strip().lower()
            if mode in ("per-invoice", "invoice", "each"):
                kwargs["mode"] = "invoice"
            elif mode in ("summary", "per-customer", "customer"):
                kwargs["mode"] = "summary"
            else:
                raise UserError(
                    f"[reminders] mode must be 'invoice' or 'summary', not '{section['mode']}'"
                )
        if "window" in section:
            window = str(section["window"]).strip().lower()
            if window == "any":
                kwargs["window_any"] = True
            else:
                kwargs["window_start"], kwargs["window_end"] = _parse_window(window)
        if "days" in section:
            kwargs["window_days"] = _parse_days(section["days"])
        tz = section.get("timezone") or timezone
        if tz:
            kwargs["timezone"] = str(tz)
        return cls(**kwargs)

    def with_overrides(self, overrides: Mapping[str, Any]) -> ReminderPolicy:
        """This policy with per-customer overrides (same keys as the config table)."""
        if not overrides:
            return self
        merged = ReminderPolicy.from_config(overrides, timezone=self.timezone)
        changes: dict[str, Any] = {}
        key_map = {
            "offsets": ("offsets",),
            "repeat_every_days": ("repeat_every",),
            "max_reminders": ("max_reminders",),
            "mode": ("mode",),
            "window": ("window_start", "window_end", "window_any"),
            "days": ("window_days",),
            "timezone": ("timezone",),
        }
        for key, attrs in key_map.items():
            if key in overrides:
                for attr in attrs:
                    changes[attr] = getattr(merged, attr)
        return replace(self, **changes)


def policy_from_config(config: Any) -> ReminderPolicy:
    """The policy of a :class:`commands.config.Config`: ``[reminders]`` plus ``timezone``."""
    return ReminderPolicy.from_config(config.section("reminders"), timezone=config.get("timezone"))


# --- validation and parsing -------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UserError(
            f"'{name}' is not a known time zone; use an IANA name such as Europe/Berlin"
        ) from exc


def _validate(policy: ReminderPolicy) -> None:
    if not policy.offsets:
        raise UserError("[reminders] offsets must list at least one day")
    if len(set(policy.offsets)) != len(policy.offsets):
        raise UserError("[reminders] offsets must not repeat a day")
    for offset in policy.offsets:
        if not isinstance(offset, int) or isinstance(offset, bool):
            raise UserError(f"[reminders] offsets must be whole days, not '{offset}'")
        if not -365 <= offset <= 3650:
            raise UserError(f"[reminders] offset {offset} is out of range (-365 to 3650 days)")
    if list(policy.offsets) != sorted(policy.offsets):
        raise UserError("[reminders] offsets must be in increasing order")
    if policy.repeat_every < 0:
        raise UserError("[reminders] repeat_every_days must be 0 (never) or more")
    if policy.max_reminders < 1:
        raise UserError("[reminders] max_reminders must be at least 1")
    if policy.mode not in ("invoice", "summary"):
        raise UserError(f"[reminders] mode must be 'invoice' or 'summary', not '{policy.mode}'")
    if not policy.window_any:
        if policy.window_start >= policy.window_end:
            raise UserError(
                "[reminders] window must start before it ends on the same day, e.g. 09:00-17:00"
            )
        if not policy.window_days:
            raise UserError("[reminders] days must name at least one weekday")
    for day in policy.window_days:
        if day not in range(7):
            raise UserError(f"[reminders] days: {day} is not a weekday number 0-6")
    _zone(policy.timezone)


def _parse_int(value: Any, key: str) -> int:
    if isinstance(value, bool):
        raise UserError(f"[reminders] {key} must be a whole number, not '{value}'")
    try:
        return int(str(value).strip())
    except ValueError as exc:
        raise UserError(f"[reminders] {key} must be a whole number, not '{value}'") from exc


def _parse_offsets(value: Any) -> tuple[int, ...]:
    items: Iterable[Any]
    if isinstance(value, str):
        items = [part for part in re.split(r"[,\s]+", value.strip()) if part]
    elif isinstance(value, list | tuple):
        items = value
    else:
        raise UserError("[reminders] offsets must be a list of days, e.g. [-3, 0, 7, 14, 30]")
    offsets = tuple(sorted(_parse_int(item, "offsets") for item in items))
    return offsets


def _parse_time(text: str) -> time:
    match = _TIME_RE.match(text.strip())
    if not match:
        raise UserError(f"[reminders] window: '{text}' is not a time like 09:00")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour == 24 and minute == 0:
        return time.max
    if hour > 23 or minute > 59:
        raise UserError(f"[reminders] window: '{text}' is not a valid time of day")
    return time(hour, minute)


def _parse_window(text: str) -> tuple[time, time]:
    parts = text.split("-")
    if len(parts) != 2:
        raise UserError(f"[reminders] window must look like 09:00-17:00 or be 'any', not '{text}'")
    return _parse_time(parts[0]), _parse_time(parts[1])


def _day_number(name: str) -> int:
    key = name.strip().lower()[:3]
    if key not in DAY_NAMES:
        raise UserError(
            f"[reminders] days: '{name}' is not a weekday; use mon, tue, wed, thu, fri, sat, sun"
        )
    return DAY_NAMES.index(key)


def _parse_days(value: Any) -> tuple[int, ...]:
    names: list[str]
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("all", "every day", "daily"):
            return tuple(range(7))
        if text in ("weekdays", "workdays"):
            return WEEKDAYS
        names = [part for part in re.split(r"[,\s]+", text) if part]
    elif isinstance(value, list | tuple):
        names = [str(v) for v in value]
    else:
        raise UserError("[reminders] days must be like 'mon-fri' or ['mon', 'wed']")
    days: set[int] = set()
    for name in names:
        if "-" in name:
            first, last = (_day_number(n) for n in name.split("-", 1))
            if first > last:
                raise UserError(f"[reminders] days: '{name}' runs backwards")
            days.update(range(first, last + 1))
        else:
            days.add(_day_number(name))
    return tuple(sorted(days))


# --- the schedule -----------------------------------------------------------


def stage_key(offset: int, *, repeat: bool = False) -> str:
    """The stable key of the stage ``offset`` days from the due date."""
    if repeat:
        return f"repeat-{offset}"
    if offset < 0:
        return f"before-{-offset}"
    if offset == 0:
        return "due"
    return f"after-{offset}"


def stage_offset(key: str) -> int:
    """Days from the due date encoded in a stage key (``before-3`` -> -3)."""
    match = _STAGE_RE.match(key)
    if not match:
        raise ValueError(f"not a reminder stage key: {key!r}")
    before, after, repeat = match.groups()
    if before is not None:
        return -int(before)
    if after is not None:
        return int(after)
    if repeat is not None:
        return int(repeat)
    return 0


def stages_for(due_on: date, policy: ReminderPolicy | None = None) -> list[Stage]:
    """Every stage of an invoice due on ``due_on``, in time order, at most ``max_reminders``.

    The offsets come first; then, if ``repeat_every`` > 0, repeats every
    ``repeat_every`` days after the last offset (and never before the due
    date), until the total reaches ``max_reminders``.
    """
    policy = policy or ReminderPolicy()
    stages = [
        Stage(due_on + timedelta(days=offset), stage_key(offset)) for offset in policy.offsets
    ]
    stages = stages[: policy.max_reminders]
    if policy.repeat_every > 0:
        offset = policy.offsets[-1]
        while len(stages) < policy.max_reminders:
            offset += policy.repeat_every
            if offset <= 0:
                continue
            stages.append(Stage(due_on + timedelta(days=offset), stage_key(offset, repeat=True)))
    return stages


def due_stage(due_on: date, today: date, policy: ReminderPolicy | None = None) -> Stage | None:
    """The most recent stage whose send date is on or before ``today`` (or ``None``).

    This is the catch-up rule: after downtime only the latest missed stage is
    due, never all of them. The caller still checks that the invoice is
    unpaid, not void or draft, that the customer is not opted out or paused,
    and uses :func:`next_to_send` (or its own record) to skip a stage already
    sent or older than one already sent.
    """
    latest: Stage | None = None
    for stage in stages_for(due_on, policy):
        if stage.send_on <= today:
            latest = stage
        else:
            break
    return latest


def next_to_send(
    due_on: date,
    today: date,
    sent_keys: Collection[str],
    policy: ReminderPolicy | None = None,
) -> Stage | None:
    """:func:`due_stage`, unless it (or a later stage) was already sent.

    ``sent_keys`` are the stage keys recorded for this invoice (sent or in
    doubt, and claimed ones). Keys that are not stage keys are ignored.
    """
    stage = due_stage(due_on, today, policy)
    if stage is None:
        return None
    offsets = []
    for key in sent_keys:
        try:
            offsets.append(stage_offset(key))
        except ValueError:
            continue
    if offsets and max(offsets) >= stage.offset:
        return None
    return stage


def summary_due(
    invoices: Iterable[tuple[K, date, Collection[str]]],
    today: date,
    policy: ReminderPolicy | None = None,
) -> dict[K, Stage]:
    """For one customer in summary mode: the stage due now for each invoice.

    ``invoices`` holds ``(invoice id, due date, sent stage keys)`` for the
    customer's reminder-eligible invoices. A non-empty result means one
    summary email is due now; it covers all of the customer's overdue
    invoices, and each (invoice, stage) in the result is what gets claimed
    and marked sent with it. Invoices missing from the result are listed in
    the email but keep their own schedule.
    """
    due: dict[K, Stage] = {}
    for key, due_on, sent in invoices:
        stage = next_to_send(due_on, today, sent, policy)
        if stage is not None:
            due[key] = stage
    return due


def upcoming(due_on: date, day: date, policy: ReminderPolicy | None = None) -> Stage | None:
    """The stage that falls exactly on ``day`` (``reminders due tomorrow``), or ``None``."""
    for stage in stages_for(due_on, policy):
        if stage.send_on == day:
            return stage
        if stage.send_on > day:
            break
    return None


# --- the sending window -----------------------------------------------------


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("the sending window needs an aware datetime (with a time zone)")


def in_sending_window(now: datetime, policy: ReminderPolicy | None = None) -> bool:
    """Whether the daemon may send at ``now`` (an aware datetime).

    True on the window's weekdays with ``window_start`` <= local time <
    ``window_end`` in the policy's time zone; always True with ``window_any``.
    """
    policy = policy or ReminderPolicy()
    _require_aware(now)
    if policy.window_any:
        return True
    local = now.astimezone(policy.tz)
    if local.weekday() not in policy.window_days:
        return False
    return policy.window_start <= local.time().replace(tzinfo=None) < policy.window_end


def next_window_start(now: datetime, policy: ReminderPolicy | None = None) -> datetime:
    """When the daemon may next send: ``now`` itself if inside the window.

    Otherwise the next window opening, as an aware datetime in the policy's
    time zone (a start time that a DST change skips moves to the first real
    instant after it).
    """
    policy = policy or ReminderPolicy()
    _require_aware(now)
    if in_sending_window(now, policy):
        return now
    tz = policy.tz
    local = now.astimezone(tz)
    for days_ahead in range(8):
        day = local.date() + timedelta(days=days_ahead)
        if day.weekday() not in policy.window_days:
            continue
        # normalise through UTC so a wall time inside a DST gap becomes a real instant
        start = (
            datetime.combine(day, policy.window_start, tzinfo=tz)
            .astimezone(ZoneInfo("UTC"))
            .astimezone(tz)
        )
        if start > now:
            return start
    raise AssertionError("a window with at least one weekday opens within 8 days")
