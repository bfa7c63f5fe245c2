"""The Stripe sentences end to end: executor, database and the real ``stripe``
library against a real localstripe (``stripe_env``), plus the CLI."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import stripe
from click.testing import CliRunner
from sqlalchemy import Engine, func, select

from commands.config import Config
from commands.errors import UserError
from commands.executor import run
from commands.results import ConfirmationNeeded, MessageResult, MutationResult, TableResult
from commands.stripe_gateway import NO_KEY_MESSAGE
from commands.verbs_stripe import DEFAULT_MARK, PM_COLUMNS, payment_methods_result
from commands.workspace import Workspace
from grammar import ast as A
from grammar.parser import parse
from store.engine import make_engine
from store.models import AuditEntry, Customer
from tests.stripe_server import StripeEnv, add_test_card

ROOT = Path(__file__).resolve().parents[1]
SECRET_KEY = "sk_test_SECRETcommands5c4b3a2"

c: Any = Customer.__table__
log_t: Any = AuditEntry.__table__


def make_ws(engine: Engine) -> Workspace:
    return Workspace(engine=engine, config=Config({}), as_of_override=date(2026, 6, 30))


@pytest.fixture
def ws(engine: Engine) -> Workspace:
    """A workspace on each database kind, with Acme (email) and Bare (no email)."""
    w = make_ws(engine)
    run(w, "add customer Acme with email ops@acme.test")
    run(w, "add customer Bare")
    return w


@pytest.fixture
def sws(sqlite_engine: Engine) -> Workspace:
    """The same on SQLite only, for tests that are about Stripe, not the database."""
    w = make_ws(sqlite_engine)
    run(w, "add customer Acme with email ops@acme.test")
    run(w, "add customer Bare")
    return w


def client(env: StripeEnv) -> stripe.StripeClient:
    return stripe.StripeClient(env.api_key, base_addresses={"api": env.api_base})


def stripe_id_of(ws: Workspace, name: str) -> str | None:
    with ws.read() as conn:
        value = conn.execute(select(c.c.stripe_customer_id).where(c.c.name == name)).scalar()
    return str(value) if value else None


def customer_id_of(ws: Workspace, name: str) -> int:
    with ws.read() as conn:
        return int(conn.execute(select(c.c.id).where(c.c.name == name)).scalar_one())


def audit_count(ws: Workspace) -> int:
    with ws.read() as conn:
        return int(conn.execute(select(func.count()).select_from(log_t)).scalar_one())


def last_audit(ws: Workspace) -> Any:
    with ws.read() as conn:
        return conn.execute(select(log_t).order_by(log_t.c.id.desc()).limit(1)).one()


def stored_default(env: StripeEnv, customer_id: str) -> str | None:
    settings = client(env).v1.customers.retrieve(customer_id).invoice_settings
    value = settings.default_payment_method if settings is not None else None
    return value if value is None or isinstance(value, str) else value.id


def attached(env: StripeEnv, customer_id: str) -> list[str]:
    page = client(env).v1.payment_methods.list(params={"customer": customer_id, "type": "card"})
    return sorted(pm.id for pm in page.data)


def closed_port_url() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def linked(sws: Workspace, stripe_env: StripeEnv) -> Iterator[tuple[Workspace, str]]:
    """Acme linked to a Stripe customer; yields (workspace, cus_...)."""
    run(sws, "link acme to stripe")
    cus = stripe_id_of(sws, "Acme")
    assert cus is not None
    yield sws, cus


# linking


def test_link_creates_then_finds_the_same_customer(ws: Workspace, stripe_env: StripeEnv) -> None:
    before = audit_count(ws)
    result = run(ws, "link acme to stripe")
    assert isinstance(result, MutationResult) and result.affected == 1
    cus = stripe_id_of(ws, "Acme")
    assert cus is not None and cus.startswith("cus_")
    assert result.message == f"Linked Acme to Stripe customer {cus}"
    found = client(stripe_env).v1.customers.list(params={"email": "ops@acme.test"}).data
    assert [x.id for x in found] == [cus]
    assert found[0].name == "Acme"
    entry = last_audit(ws)
    assert (entry.action, entry.affected, entry.id) == ("link to stripe", 1, result.audit_id)
    assert audit_count(ws) == before + 1

    again = run(ws, "link acme to stripe")
    assert isinstance(again, MutationResult) and again.affected == 0
    assert again.message == f"Acme is already linked to Stripe customer {cus}"
    assert audit_count(ws) == before + 1

    # undo forgets the link; linking again finds the Stripe customer by email
    run(ws, "undo")
    assert stripe_id_of(ws, "Acme") is None
    run(ws, "link acme to stripe")
    assert stripe_id_of(ws, "Acme") == cus
    assert len(client(stripe_env).v1.customers.list(params={"email": "ops@acme.test"}).data) == 1


def test_link_finds_a_stripe_customer_made_elsewhere(sws: Workspace, stripe_env: StripeEnv) -> None:
    made = client(stripe_env).v1.customers.create(
        params={"email": "ops@acme.test", "name": "Acme (Stripe)"}
    )
    run(sws, "link acme to stripe")
    assert stripe_id_of(sws, "Acme") == made.id


def test_link_replaces_a_link_to_a_deleted_stripe_customer(
    linked: tuple[Workspace, str], stripe_env: StripeEnv
) -> None:
    ws, cus = linked
    client(stripe_env).v1.customers.delete(cus)
    with pytest.raises(UserError, match="may have been deleted in Stripe"):
        run(ws, "payment methods of acme")
    result = run(ws, "link acme to stripe")
    assert isinstance(result, MutationResult) and result.affected == 1
    fresh = stripe_id_of(ws, "Acme")
    assert fresh and fresh != cus
    assert run(ws, "payment methods of acme").rows == []  # type: ignore[union-attr]


def test_link_without_email_is_a_clear_error(sws: Workspace, stripe_env: StripeEnv) -> None:
    before = audit_count(sws)
    with pytest.raises(UserError) as err:
        run(sws, "link bare to stripe")
    assert err.value.message == (
        "Bare has no email address, and Stripe customers are found by email: "
        "set one first (set email of Bare to ...)"
    )
    assert stripe_id_of(sws, "Bare") is None
    assert audit_count(sws) == before
    assert client(stripe_env).v1.customers.list().data == []


def test_link_several_skips_those_without_email(sws: Workspace, stripe_env: StripeEnv) -> None:
    run(sws, "add customer Beta with email billing@beta.test")
    dry = run(sws, "link customers to stripe", dry_run=True)
    assert isinstance(dry, MutationResult) and dry.dry_run and dry.affected == 2
    assert "1 customer without email will be skipped" in dry.message
    assert client(stripe_env).v1.customers.list().data == []

    result = run(sws, "link customers to stripe")
    assert isinstance(result, MutationResult) and result.affected == 2
    assert "1 customer without email skipped" in result.message
    assert stripe_id_of(sws, "Acme") and stripe_id_of(sws, "Beta")
    assert stripe_id_of(sws, "Acme") != stripe_id_of(sws, "Beta")
    assert stripe_id_of(sws, "Bare") is None

    # one undo forgets both links
    run(sws, "undo")
    assert stripe_id_of(sws, "Acme") is None and stripe_id_of(sws, "Beta") is None


# listing


def test_payment_methods_list_with_default_marker(
    linked: tuple[Workspace, str], stripe_env: StripeEnv
) -> None:
    ws, cus = linked
    empty = run(ws, "payment methods of acme")
    assert isinstance(empty, TableResult) and empty.rows == []
    assert empty.footer == f"No saved payment methods on Stripe customer {cus}"

    first = add_test_card(stripe_env, cus, exp_month=3, exp_year=2031, name="Ada Ops")
    second = add_test_card(stripe_env, cus, number="5555555555554444", exp_month=11, exp_year=2029)
    client(stripe_env).v1.customers.update(
        cus, params={"invoice_settings": {"default_payment_method": second}}
    )
    result = run(ws, "show payment methods for acme")
    assert isinstance(result, TableResult)
    assert (
        result.columns
        == PM_COLUMNS
        == [
            "id",
            "brand",
            "last 4",
            "expiry",
            "default",
            "billing name",
            "country",
            "created",
        ]
    )
    assert result.title == "Payment methods of Acme"
    assert result.kind == "payment-methods"
    rows = {r[0]: dict(zip(result.columns, r, strict=True)) for r in result.rows}
    assert set(rows) == {first, second}
    assert rows[first]["last 4"] == "4242" and rows[first]["expiry"] == "03/2031"
    assert rows[first]["billing name"] == "Ada Ops"
    assert rows[first]["brand"] and rows[first]["country"]
    assert rows[first]["default"] == "" and rows[second]["default"] == DEFAULT_MARK
    assert rows[second]["last 4"] == "4444" and rows[second]["expiry"] == "11/2029"
    assert result.footer == f"2 payment methods on Stripe customer {cus}"

    # the TUI tab gets exactly the same table
    tab = payment_methods_result(ws, customer_id_of(ws, "Acme"))
    assert tab == result


def test_listing_writes_nothing(linked: tuple[Workspace, str]) -> None:
    ws, _ = linked
    before = audit_count(ws)
    run(ws, "payment methods of acme")
    assert audit_count(ws) == before


# set default


def test_set_default_payment_method(linked: tuple[Workspace, str], stripe_env: StripeEnv) -> None:
    ws, cus = linked
    first = add_test_card(stripe_env, cus)
    second = add_test_card(stripe_env, cus, number="4000056655665556")
    before = audit_count(ws)

    dry = run(ws, f"set default payment method of acme to {second}", dry_run=True)
    assert isinstance(dry, MutationResult) and dry.dry_run and second in dry.message
    assert stored_default(stripe_env, cus) is None
    assert audit_count(ws) == before

    result = run(ws, f"set default payment method of acme to {second}")
    assert isinstance(result, MutationResult) and result.affected == 1
    assert not result.undoable
    assert stored_default(stripe_env, cus) == second
    assert "is now the default payment method of Acme" in result.message
    entry = last_audit(ws)
    assert entry.action == "set default payment method" and entry.undo is None
    assert audit_count(ws) == before + 1
    table = run(ws, "payment methods of acme")
    assert isinstance(table, TableResult)
    assert [r[4] for r in table.rows if r[0] == second] == [DEFAULT_MARK]
    assert [r[4] for r in table.rows if r[0] == first] == [""]

    again = run(ws, f"set default payment method of acme to {second}")
    assert isinstance(again, MutationResult) and again.affected == 0
    assert audit_count(ws) == before + 1


def test_set_default_to_another_customers_card_changes_nothing(
    linked: tuple[Workspace, str], stripe_env: StripeEnv
) -> None:
    ws, cus = linked
    mine = add_test_card(stripe_env, cus)
    other = client(stripe_env).v1.customers.create(params={"email": "x@other.test"})
    theirs = add_test_card(stripe_env, other.id)
    before = audit_count(ws)
    with pytest.raises(UserError) as err:
        run(ws, f"set default payment method of acme to {theirs}")
    assert err.value.message == f"No payment method {theirs} on this customer"
    with pytest.raises(UserError, match="No payment method pm_nope on this customer"):
        run(ws, "set default payment method of acme to pm_nope")
    assert stored_default(stripe_env, cus) is None
    assert attached(stripe_env, cus) == [mine]
    assert audit_count(ws) == before


# remove


def test_remove_asks_first_even_for_one(
    linked: tuple[Workspace, str], stripe_env: StripeEnv
) -> None:
    ws, cus = linked
    keep = add_test_card(stripe_env, cus)
    gone = add_test_card(stripe_env, cus, number="5555555555554444", exp_month=1, exp_year=2032)
    before = audit_count(ws)
    sentence = f"remove payment method {gone} from acme"

    dry = run(ws, sentence, dry_run=True)
    assert isinstance(dry, MutationResult) and dry.dry_run
    assert dry.message == f"would remove visa •••• 4444, expires 01/2032 ({gone}) from Acme"
    assert attached(stripe_env, cus) == sorted([keep, gone])

    ask = run(ws, sentence)
    assert isinstance(ask, ConfirmationNeeded)
    assert ask.affected == 1 and ask.action == "remove payment method"
    assert "4444" in ask.message and gone in ask.message and "cannot be undone" in ask.message
    assert attached(stripe_env, cus) == sorted([keep, gone])
    assert audit_count(ws) == before

    done = run(ws, sentence, confirmed=True)
    assert isinstance(done, MutationResult) and done.affected == 1 and not done.undoable
    assert attached(stripe_env, cus) == [keep]
    entry = last_audit(ws)
    assert entry.action == "remove payment method" and entry.undo is None
    assert entry.sentence == sentence
    assert audit_count(ws) == before + 1

    # a second removal of the same card is one sentence, nothing changes
    with pytest.raises(UserError, match=f"No payment method {gone} on this customer"):
        run(ws, sentence, confirmed=True)
    assert audit_count(ws) == before + 1


def test_remove_the_default_clears_it(linked: tuple[Workspace, str], stripe_env: StripeEnv) -> None:
    ws, cus = linked
    card = add_test_card(stripe_env, cus)
    run(ws, f"set default payment method of acme to {card}")
    run(ws, f"detach payment method {card} from acme", confirmed=True)
    assert attached(stripe_env, cus) == []
    assert stored_default(stripe_env, cus) is None


# not linked, no key, Stripe down


def test_unlinked_customer_says_to_link_first(sws: Workspace, stripe_env: StripeEnv) -> None:
    run(sws, 'add customer "Acme Ltd" with email ap@acmeltd.test')
    for sentence in (
        "payment methods of acme",
        "set default payment method of acme to pm_x",
        "remove payment method pm_x from acme",
    ):
        with pytest.raises(UserError) as err:
            run(sws, sentence, confirmed=True)
        assert err.value.message == (
            "Acme is not linked to Stripe yet: run `link Acme to stripe` first"
        )
    tab = payment_methods_result(sws, customer_id_of(sws, "Acme Ltd"))
    assert tab == MessageResult(
        'Acme Ltd is not linked to Stripe yet: run `link "Acme Ltd" to stripe` first',
        kind="stripe-setup",
    )


def test_without_a_key_every_stripe_sentence_says_how_to_configure_one(
    sws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    before = audit_count(sws)
    for sentence in (
        "link acme to stripe",
        "payment methods of acme",
        "set default payment method of acme to pm_x",
        "remove payment method pm_x from acme",
    ):
        with pytest.raises(UserError) as err:
            run(sws, sentence, confirmed=True)
        assert err.value.message == NO_KEY_MESSAGE
    assert payment_methods_result(sws, customer_id_of(sws, "Acme")) == MessageResult(
        NO_KEY_MESSAGE, kind="stripe-setup"
    )
    # nothing else needs Stripe
    assert run(sws, "list customers").total == 2  # type: ignore[union-attr]
    run(sws, "set terms of acme to net 30")
    assert audit_count(sws) == before + 1


def test_a_key_in_a_world_readable_config_file_is_refused(
    sws: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    path = tmp_path / "config.toml"
    path.write_text(f'stripe_api_key = "{SECRET_KEY}"\n')
    path.chmod(0o644)
    sws.config = Config({"stripe_api_key": SECRET_KEY}, path)
    with pytest.raises(UserError, match="chmod 600") as err:
        run(sws, "payment methods of acme")
    assert SECRET_KEY not in str(err.value)
    with pytest.raises(UserError, match="chmod 600"):
        payment_methods_result(sws, customer_id_of(sws, "Acme"))


def test_stripe_down_is_one_sentence_and_changes_nothing(
    ws: Workspace, stripe_env: StripeEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = closed_port_url()
    monkeypatch.setenv("OPENINVOICE_STRIPE_API_BASE", url)
    before = audit_count(ws)
    with pytest.raises(UserError) as err:
        run(ws, "link acme to stripe")
    assert err.value.message == f"Stripe could not be reached at {url} — is the network up?"
    assert stripe_id_of(ws, "Acme") is None
    assert audit_count(ws) == before

    # a linked customer: writes fail the same way and leave no audit entry
    with ws.write() as conn:
        conn.execute(c.update().where(c.c.name == "Acme").values(stripe_customer_id="cus_gone"))
    for sentence in (
        "link acme to stripe",  # checks that cus_gone is still there
        "payment methods of acme",
        "set default payment method of acme to pm_x",
        "remove payment method pm_x from acme",
    ):
        with pytest.raises(UserError) as err:
            run(ws, sentence, confirmed=True)
        assert err.value.message == f"Stripe could not be reached at {url} — is the network up?"
        assert "\n" not in err.value.message
    with pytest.raises(UserError, match="could not be reached"):
        payment_methods_result(ws, customer_id_of(ws, "Acme"))
    assert audit_count(ws) == before
    assert stripe_id_of(ws, "Acme") == "cus_gone"


def test_a_failure_halfway_through_a_bulk_link_stores_nothing(
    sws: Workspace, stripe_env: StripeEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(sws, "add customer Beta with email billing@beta.test")
    from commands.stripe_gateway import StripeGateway

    real = StripeGateway.find_or_create_customer
    calls: list[str] = []

    def flaky(self: StripeGateway, email: str, name: str) -> str:
        calls.append(email)
        if len(calls) == 2:
            raise UserError("Stripe is limiting the request rate; wait a minute and try again")
        return real(self, email, name)

    monkeypatch.setattr(StripeGateway, "find_or_create_customer", flaky)
    before = audit_count(sws)
    with pytest.raises(UserError, match="limiting the request rate"):
        run(sws, "link customers to stripe")
    assert len(calls) == 2
    assert stripe_id_of(sws, "Acme") is None and stripe_id_of(sws, "Beta") is None
    assert audit_count(sws) == before
    # running it again picks up the Stripe customer already made, not a second one
    monkeypatch.setattr(StripeGateway, "find_or_create_customer", real)
    run(sws, "link customers to stripe")
    assert len(client(stripe_env).v1.customers.list(params={"email": calls[0]}).data) == 1


# payment preferences (the customer's own fields)


def test_payment_preferences_are_set_and_undone(engine: Engine) -> None:
    ws = make_ws(engine)
    run(ws, "add customer Acme with email ops@acme.test")
    run(ws, "set terms of acme to net 14")

    def prefs() -> tuple[Any, ...]:
        with ws.read() as conn:
            return tuple(
                conn.execute(
                    select(
                        c.c.preferred_payment_method, c.c.payment_terms_days, c.c.billing_frequency
                    ).where(c.c.name == "Acme")
                ).one()
            )

    assert prefs() == (None, 14, None)
    run(ws, "set preferred payment method of acme to card")
    run(ws, "set terms of acme to net 45")
    run(ws, "set billing frequency of acme to quarterly")
    assert prefs() == ("card", 45, "quarterly")
    with pytest.raises(UserError, match="billing frequency must be one of"):
        run(ws, "set billing frequency of acme to fortnightly")
    assert prefs() == ("card", 45, "quarterly")
    run(ws, "undo")
    assert prefs() == ("card", 45, None)
    run(ws, "undo")
    assert prefs() == ("card", 14, None)
    run(ws, "undo")
    assert prefs() == (None, 14, None)


# the command line


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENINVOICE_", "STRIPE_"))}
    env.update(
        {
            "OPENINVOICE_CONFIG": str(tmp_path / "absent-config.toml"),
            "OPENINVOICE_DATA_DIR": str(tmp_path / "data"),
            "OPENINVOICE_AS_OF": "2026-06-30",
            "PYTHONPATH": str(ROOT),
            "NO_COLOR": "1",
        }
    )
    env.update(extra)
    return env


def openinvoice(db: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from commands.cli import main; main()", "--db", db, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def test_cli_never_prints_or_stores_the_key(stripe_env: StripeEnv, tmp_path: Path) -> None:
    db_file = tmp_path / "cli.db"
    db = f"sqlite:///{db_file}"
    eng = make_engine(db)
    w = make_ws(eng)
    run(w, "add customer Acme with email ops@acme.test")
    eng.dispose()
    env = cli_env(
        tmp_path, STRIPE_API_KEY=SECRET_KEY, OPENINVOICE_STRIPE_API_BASE=stripe_env.api_base
    )
    outputs = []
    linked = openinvoice(db, env, "run", "link acme to stripe", "--json")
    assert linked.returncode == 0, linked.stderr
    outputs.append(linked)
    cus = json.loads(linked.stdout)["message"].rsplit(" ", 1)[-1]
    card = add_test_card(stripe_env, cus)
    listed = openinvoice(db, env, "run", "payment methods of acme", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [r["id"] for r in json.loads(listed.stdout)["rows"]] == [card]
    outputs.append(listed)
    outputs.append(openinvoice(db, env, "run", "payment methods of acme"))
    outputs.append(openinvoice(db, env, "run", f"remove payment method {card} from acme"))
    assert outputs[-1].returncode == 3  # asks first
    # failures: Stripe down, with and without --json
    down = {**env, "OPENINVOICE_STRIPE_API_BASE": closed_port_url()}
    for args in (("--json",), ()):
        failed = openinvoice(db, down, "run", "payment methods of acme", *args)
        assert failed.returncode == 2
        assert "could not be reached" in failed.stdout + failed.stderr
        outputs.append(failed)
    for out in outputs:
        assert SECRET_KEY not in out.stdout and SECRET_KEY not in out.stderr
        assert "Traceback" not in out.stderr
    assert SECRET_KEY.encode() not in db_file.read_bytes()


def test_cli_payment_methods_json(
    stripe_env: StripeEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from commands.cli import app

    db = f"sqlite:///{tmp_path / 'runner.db'}"
    for key, value in cli_env(tmp_path).items():
        if key.startswith("OPENINVOICE_"):
            monkeypatch.setenv(key, value)
    eng = make_engine(db)
    w = make_ws(eng)
    run(w, "add customer Acme with email ops@acme.test")
    run(w, "link acme to stripe")
    cus = stripe_id_of(w, "Acme")
    eng.dispose()
    assert cus
    card = add_test_card(stripe_env, cus, exp_month=7, exp_year=2033, name="Ada")
    run_cli = CliRunner().invoke
    result = run_cli(app, ["--db", db, "run", f"set default payment method of acme to {card}"])
    assert result.exit_code == 0, result.output
    result = run_cli(app, ["--db", db, "run", "payment methods of acme", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["title"] == "Payment methods of Acme"
    assert data["columns"] == PM_COLUMNS
    [row] = data["rows"]
    assert row["id"] == card and row["last 4"] == "4242" and row["expiry"] == "07/2033"
    assert row["default"] == DEFAULT_MARK and row["billing name"] == "Ada"
    assert row["created"].startswith("20")

    monkeypatch.delenv("STRIPE_API_KEY")
    result = run_cli(app, ["--db", db, "run", "payment methods of acme", "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["message"] == NO_KEY_MESSAGE


def test_the_cli_and_the_stripe_verbs_do_not_import_stripe_at_start_up() -> None:
    code = (
        "import sys, commands.cli, commands.executor as e\n"
        "e.load_verbs()\n"
        "import commands.verbs_stripe\n"
        "assert 'stripe' not in sys.modules, 'stripe imported eagerly'\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=env, timeout=60)


# the sentences (grammar variations of COMMANDS.md's payment-method lines)

ACME = A.Query(A.CustomerRef("acme"), (), None, False)
ACME_NAME = A.Query(A.NameRef("acme"), (), None, False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("payment methods of acme", A.PaymentMethods(ACME)),
        ("payment method of acme", A.PaymentMethods(ACME)),
        ("Show Payment Method for acme", A.PaymentMethods(ACME)),
        (
            "set default payment method of acme to pm_1Q2w3E",
            A.SetDefaultPaymentMethod(ACME, "pm_1Q2w3E"),
        ),
        # "the" used to make a custom field named "the default payment method"
        (
            "set the default payment method of acme to pm_1Q2w3E",
            A.SetDefaultPaymentMethod(ACME, "pm_1Q2w3E"),
        ),
        (
            "set default payment method of #42 to pm_1Q2w3E",
            A.SetDefaultPaymentMethod(A.Query(A.CustomerRef("#42"), (), None, False), "pm_1Q2w3E"),
        ),
        ("remove payment method pm_1Q2w3E from acme", A.RemovePaymentMethod(ACME, "pm_1Q2w3E")),
        ("detach payment method pm_1Q2w3E from acme", A.RemovePaymentMethod(ACME, "pm_1Q2w3E")),
        ("link acme to stripe", A.LinkStripe(ACME)),
        ("set the terms of acme to net 30", A.SetField(ACME_NAME, "terms", 30)),
        (
            "set the preferred payment method of acme to card",
            A.SetField(ACME_NAME, "preferred_payment_method", "card"),
        ),
        ("set the industry of acme to retail", A.SetField(ACME_NAME, "industry", "retail")),
    ],
)
def test_payment_sentences_parse(text: str, expected: A.Command) -> None:
    assert parse(text) == expected


# the TUI's Payment methods tab: backend-neutral functions in commands.detail


def test_detail_functions_list_set_default_and_remove(
    sws: Workspace, stripe_env: StripeEnv
) -> None:
    from commands import detail

    acme = customer_id_of(sws, "Acme")
    tab = detail.payment_methods(sws, acme)
    assert isinstance(tab, MessageResult) and tab.kind == "stripe-setup"
    assert "link Acme to stripe" in tab.text

    linked = detail.link_to_stripe(sws, acme)
    assert isinstance(linked, MutationResult) and linked.affected == 1
    cus = stripe_id_of(sws, "Acme")
    assert cus
    keep = add_test_card(stripe_env, cus)
    gone = add_test_card(stripe_env, cus, number="5555555555554444")
    tab = detail.payment_methods(sws, acme)
    assert isinstance(tab, TableResult) and sorted(r[0] for r in tab.rows) == sorted([keep, gone])

    done = detail.set_default_payment_method(sws, acme, gone)
    assert isinstance(done, MutationResult) and done.affected == 1
    assert stored_default(stripe_env, cus) == gone
    assert last_audit(sws).sentence == f"set default payment method of #{acme} to {gone}"

    ask = detail.remove_payment_method(sws, acme, gone)
    assert isinstance(ask, ConfirmationNeeded) and gone in ask.message
    assert attached(stripe_env, cus) == sorted([keep, gone])
    removed = detail.remove_payment_method(sws, acme, gone, confirmed=True)
    assert isinstance(removed, MutationResult) and removed.affected == 1
    assert attached(stripe_env, cus) == [keep]
    assert stored_default(stripe_env, cus) is None
    assert last_audit(sws).action == "remove payment method"

    with pytest.raises(UserError, match="is not a Stripe payment method id"):
        detail.remove_payment_method(sws, acme, "pm_x from bare", confirmed=True)
    assert attached(stripe_env, cus) == [keep]


# failures through the executor: bad key, rate limit


def test_rejected_key_through_the_executor_is_one_sentence(
    linked: tuple[Workspace, str], stripe_env: StripeEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, _ = linked
    bad_key = "rk_test_SECRETrejected0a1b2c"  # localstripe answers 401 to non-sk_ keys
    monkeypatch.setenv("STRIPE_API_KEY", bad_key)
    before = audit_count(ws)
    for sentence in ("payment methods of acme", "remove payment method pm_x from acme"):
        with pytest.raises(UserError) as err:
            run(ws, sentence, confirmed=True)
        assert err.value.message == (
            "Stripe rejected the API key (check STRIPE_API_KEY or stripe_api_key in the "
            "config file)"
        )
        assert bad_key not in str(err.value) + (err.value.detail or "")
    assert audit_count(ws) == before


@pytest.fixture
def always_429() -> Iterator[str]:
    """A local HTTP server that answers every request like a rate-limited Stripe."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            body = json.dumps(
                {"error": {"type": "invalid_request_error", "message": "Too many requests"}}
            ).encode()
            self.send_response(429)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Stripe-Should-Retry", "false")
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_rate_limit_through_the_executor_is_one_sentence_and_changes_nothing(
    sws: Workspace, always_429: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", SECRET_KEY)
    monkeypatch.setenv("OPENINVOICE_STRIPE_API_BASE", always_429)
    with sws.write() as conn:
        conn.execute(c.update().where(c.c.name == "Acme").values(stripe_customer_id="cus_1"))
    before = audit_count(sws)
    for sentence in (
        "link customers to stripe",
        "payment methods of acme",
        "set default payment method of acme to pm_x",
        "remove payment method pm_x from acme",
    ):
        with pytest.raises(UserError) as err:
            run(sws, sentence, confirmed=True)
        assert err.value.message == (
            "Stripe is limiting the request rate; wait a minute and try again"
        )
    assert audit_count(sws) == before
    assert stripe_id_of(sws, "Acme") == "cus_1"


# the key stays secret: logs, results, database, audit log


def test_the_key_is_never_logged_returned_or_stored(
    sqlite_url: str,
    stripe_env: StripeEnv,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("STRIPE_API_KEY", SECRET_KEY)
    monkeypatch.setenv("STRIPE_LOG", "debug")
    eng = make_engine(sqlite_url)
    try:
        ws = make_ws(eng)
        run(ws, "add customer Acme with email ops@acme.test")
        results: list[Any] = [run(ws, "link acme to stripe")]
        cus = stripe_id_of(ws, "Acme")
        assert cus
        card = add_test_card(stripe_env, cus)
        results.append(run(ws, "payment methods of acme"))
        results.append(run(ws, f"set default payment method of acme to {card}"))
        results.append(run(ws, f"remove payment method {card} from acme"))
        results.append(run(ws, f"remove payment method {card} from acme", confirmed=True))
        results.append(run(ws, "set terms of acme to net 30"))
        monkeypatch.setenv("OPENINVOICE_STRIPE_API_BASE", closed_port_url())
        with pytest.raises(UserError) as err:
            run(ws, "payment methods of acme")
        results.append(err.value)
        results.append(err.value.detail)
        with ws.read() as conn:
            audit_rows = [repr(tuple(r)) for r in conn.execute(select(log_t))]
        assert len(audit_rows) >= 4
    finally:
        eng.dispose()
    for text in [caplog.text, *map(repr, results), *audit_rows]:
        assert SECRET_KEY not in text
    stored = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "test.db" for p in stored)
    for path in stored:
        assert SECRET_KEY.encode() not in path.read_bytes(), path


# the command line with the key in a 0600 config file


def test_cli_with_the_key_in_a_private_config_file(stripe_env: StripeEnv, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'stripe_api_key = "{SECRET_KEY}"\nstripe_api_base = "{stripe_env.api_base}"\n'
    )
    config.chmod(0o600)
    db_file = tmp_path / "cfg.db"
    db = f"sqlite:///{db_file}"
    env = cli_env(tmp_path, OPENINVOICE_CONFIG=str(config), STRIPE_LOG="debug")
    outputs = [openinvoice(db, env, "run", "add customer Acme with email ops@acme.test")]
    outputs.append(openinvoice(db, env, "run", "link acme to stripe", "--json"))
    assert outputs[-1].returncode == 0, outputs[-1].stderr
    cus = json.loads(outputs[-1].stdout)["message"].rsplit(" ", 1)[-1]
    assert cus.startswith("cus_")
    keep = add_test_card(stripe_env, cus)
    gone = add_test_card(stripe_env, cus, number="5555555555554444")
    outputs.append(openinvoice(db, env, "run", f"set default payment method of acme to {gone}"))
    assert outputs[-1].returncode == 0, outputs[-1].stderr
    assert stored_default(stripe_env, cus) == gone
    outputs.append(openinvoice(db, env, "run", f"remove payment method {gone} from acme"))
    assert outputs[-1].returncode == 3  # ConfirmationNeeded without --yes
    assert attached(stripe_env, cus) == sorted([keep, gone])
    outputs.append(openinvoice(db, env, "run", f"remove payment method {gone} from acme", "--yes"))
    assert outputs[-1].returncode == 0, outputs[-1].stderr
    assert attached(stripe_env, cus) == [keep]
    outputs.append(openinvoice(db, env, "run", "payment methods of acme"))
    assert outputs[-1].returncode == 0 and keep in outputs[-1].stdout
    for sentence in (
        "set preferred payment method of acme to bank transfer",
        "set terms of acme to net 45",
        "set billing frequency of acme to quarterly",
    ):
        outputs.append(openinvoice(db, env, "run", sentence))
        assert outputs[-1].returncode == 0, outputs[-1].stderr
    with make_engine(db).connect() as conn:
        prefs = conn.execute(
            select(c.c.preferred_payment_method, c.c.payment_terms_days, c.c.billing_frequency)
        ).one()
    assert tuple(prefs) == ("bank transfer", 45, "quarterly")

    # the same file readable by others is refused, and says how to fix it
    config.chmod(0o644)
    outputs.append(openinvoice(db, env, "run", "payment methods of acme"))
    assert outputs[-1].returncode == 2 and "chmod 600" in outputs[-1].stdout + outputs[-1].stderr

    for out in outputs:
        assert SECRET_KEY not in out.stdout + out.stderr
        assert "Traceback" not in out.stderr
    for path in tmp_path.rglob("*"):
        if path.is_file() and path != config:
            assert SECRET_KEY.encode() not in path.read_bytes(), path
