"""The Stripe adapter against the real ``stripe`` library and a real localstripe.

Failures localstripe cannot produce (rate limit, 5xx, retries) are played by a
small real HTTP server on 127.0.0.1 that answers like Stripe does.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import stripe

from commands.config import Config, load_config
from commands.errors import UserError
from commands.stripe_gateway import (
    NO_KEY_MESSAGE,
    PaymentMethodInfo,
    StripeGateway,
    gateway_from_config,
)
from tests.stripe_server import StripeEnv, add_test_card

SECRET_KEY = "sk_test_SECRETdistinct9f8e7d"


def client(env: StripeEnv) -> stripe.StripeClient:
    return stripe.StripeClient(env.api_key, base_addresses={"api": env.api_base})


@pytest.fixture
def gateway(stripe_env: StripeEnv) -> StripeGateway:
    return StripeGateway(stripe_env.api_key, api_base=stripe_env.api_base)


@pytest.fixture
def customer(gateway: StripeGateway) -> str:
    return gateway.find_or_create_customer("ops@acme.test", "Acme Ltd")


def stored_default(env: StripeEnv, customer_id: str) -> str | None:
    settings = client(env).v1.customers.retrieve(customer_id).invoice_settings
    assert settings is not None
    value = settings.default_payment_method
    return value if value is None or isinstance(value, str) else value.id


def closed_port_url() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# linking


def test_link_creates_then_finds_the_same_customer(
    gateway: StripeGateway, stripe_env: StripeEnv
) -> None:
    first = gateway.find_or_create_customer("ops@acme.test", "Acme Ltd")
    again = gateway.find_or_create_customer("ops@acme.test", "Acme Ltd")
    assert first.startswith("cus_")
    assert again == first
    found = client(stripe_env).v1.customers.list(params={"email": "ops@acme.test"})
    assert [c.id for c in found.data] == [first]
    assert found.data[0].name == "Acme Ltd"


def test_link_finds_a_customer_created_elsewhere(
    gateway: StripeGateway, stripe_env: StripeEnv
) -> None:
    other = client(stripe_env).v1.customers.create(
        params={"email": "billing@globex.test", "name": "Globex"}
    )
    client(stripe_env).v1.customers.create(params={"email": "x@else.test", "name": "Else"})
    assert gateway.find_or_create_customer(" billing@globex.test ", "Globex Corp") == other.id


def test_link_without_email_is_refused(gateway: StripeGateway) -> None:
    with pytest.raises(UserError, match="needs an email"):
        gateway.find_or_create_customer("  ", "Nameless")


# listing and details


def test_list_shows_brand_last4_expiry_and_default(
    gateway: StripeGateway, stripe_env: StripeEnv, customer: str
) -> None:
    visa = add_test_card(stripe_env, customer, name="Ann Acme")
    other = add_test_card(stripe_env, customer, number="4000056655665556", exp_month=3, exp_year=31)
    assert gateway.list_payment_methods(customer)[0].is_default is False

    gateway.set_default_payment_method(customer, other)
    methods = gateway.list_payment_methods(customer)

    assert {m.id for m in methods} == {visa, other}
    by_id = {m.id: m for m in methods}
    assert by_id[visa].brand == "visa"
    assert by_id[visa].last4 == "4242"
    assert (by_id[visa].exp_month, by_id[visa].exp_year) == (12, 2030)
    assert by_id[visa].expiry == "12/2030"
    assert by_id[visa].billing_name == "Ann Acme"
    assert by_id[visa].type == "card"
    assert by_id[visa].country == "FR"
    assert by_id[visa].is_default is False
    assert by_id[other].last4 == "5556"
    assert by_id[other].expiry == "03/2031"
    assert by_id[other].is_default is True
    assert [m for m in methods if m.is_default] == [by_id[other]]


def test_list_of_a_customer_without_cards_is_empty(gateway: StripeGateway, customer: str) -> None:
    assert gateway.list_payment_methods(customer) == []


def test_list_only_shows_this_customers_cards(
    gateway: StripeGateway, stripe_env: StripeEnv, customer: str
) -> None:
    mine = add_test_card(stripe_env, customer)
    stranger = gateway.find_or_create_customer("someone@else.test", "Someone")
    add_test_card(stripe_env, stranger)
    assert [m.id for m in gateway.list_payment_methods(customer)] == [mine]


def test_details_of_a_card(gateway: StripeGateway, stripe_env: StripeEnv, customer: str) -> None:
    pm = add_test_card(stripe_env, customer, exp_month=7, exp_year=2029, name="Ann")
    info = gateway.payment_method_details(customer, pm)
    assert isinstance(info, PaymentMethodInfo)
    assert (info.id, info.brand, info.last4, info.expiry) == (pm, "visa", "4242", "07/2029")
    assert info.billing_name == "Ann"
    assert info.is_default is False
    assert info.created.tzinfo is not None
    gateway.set_default_payment_method(customer, pm)
    assert gateway.payment_method_details(customer, pm).is_default is True


def test_details_of_another_customers_card_is_refused(
    gateway: StripeGateway, stripe_env: StripeEnv, customer: str
) -> None:
    stranger = gateway.find_or_create_customer("someone@else.test", "Someone")
    theirs = add_test_card(stripe_env, stranger)
    with pytest.raises(UserError) as err:
        gateway.payment_method_details(customer, theirs)
    assert err.value.message == f"No payment method {theirs} on this customer"


# set default and detach


def test_set_default_writes_invoice_settings(
    gateway: StripeGateway, stripe_env: StripeEnv, customer: str
) -> None:
    first = add_test_card(stripe_env, customer)
    second = add_test_card(stripe_env, customer)
    gateway.set_default_payment_method(customer, first)
    gateway.set_default_payment_method(customer, second)
    gateway.set_default_payment_method(customer, first)  # fresh idempotency key each time
    assert stored_default(stripe_env, customer) == first


def test_set_default_to_another_customers_card_changes_nothing(
    gateway: StripeGateway, stripe_env: StripeEnv, customer: str
) -> None:
    stranger = gateway.find_or_create_customer("someone@else.test", "Someone")
    theirs = add_test_card(stripe_env, stranger)
    with pytest.raises(UserError, match=f"^No payment method {theirs} on this customer$"):
        gateway.set_default_payment_method(customer, theirs)
    assert stored_default(stripe_env, customer) is None


def test_detach_a_card_that_is_not_the_default(
    gateway: StripeGateway, stripe_env: StripeEnv, customer: str
) -> None:
    keep = add_test_card(stripe_env, customer)
    drop = add_test_card(stripe_env, customer)
    gateway.set_default_payment_method(customer, keep)
    gateway.detach_payment_method(customer, drop)
    assert [m.id for m in gateway.list_payment_methods(customer)] == [keep]
    assert gateway.list_payment_methods(customer)[0].is_default is True
    assert client(stripe_env).v1.payment_methods.retrieve(drop).customer is None


def test_detach_the_default_clears_the_default(
    gateway: StripeGateway, stripe_env: StripeEnv, customer: str
) -> None:
    keep = add_test_card(stripe_env, customer)
    drop = add_test_card(stripe_env, customer)
    gateway.set_default_payment_method(customer, drop)
    gateway.detach_payment_method(customer, drop)
    assert stored_default(stripe_env, customer) is None
    methods = gateway.list_payment_methods(customer)
    assert [(m.id, m.is_default) for m in methods] == [(keep, False)]
    with pytest.raises(UserError, match=f"^No payment method {drop} on this customer$"):
        gateway.detach_payment_method(customer, drop)


# errors


@pytest.mark.parametrize("action", ["details", "set_default", "detach"])
def test_unknown_payment_method_is_one_sentence(
    gateway: StripeGateway, customer: str, action: str
) -> None:
    calls = {
        "details": gateway.payment_method_details,
        "set_default": gateway.set_default_payment_method,
        "detach": gateway.detach_payment_method,
    }
    with pytest.raises(UserError) as err:
        calls[action](customer, "pm_doesnotexist")
    assert err.value.message == "No payment method pm_doesnotexist on this customer"
    assert err.value.__cause__ is None


def test_unknown_customer_is_one_sentence(gateway: StripeGateway) -> None:
    with pytest.raises(UserError) as err:
        gateway.list_payment_methods("cus_doesnotexist")
    assert err.value.message.startswith("No Stripe customer cus_doesnotexist")
    with pytest.raises(UserError, match=r"^No Stripe customer cus_doesnotexist"):
        gateway.set_default_payment_method("cus_doesnotexist", "pm_whatever")


def test_rejected_key_is_one_sentence_without_the_key(
    stripe_env: StripeEnv, caplog: pytest.LogCaptureFixture
) -> None:
    # localstripe accepts any "sk_..." key longer than 5 characters and
    # answers 401 to anything else, such as this restricted-key lookalike
    bad_key = "rk_test_SECRETdistinct9f8e7d"
    caplog.set_level(logging.DEBUG)
    gateway = StripeGateway(bad_key, api_base=stripe_env.api_base)
    with pytest.raises(UserError) as err:
        gateway.find_or_create_customer("ops@acme.test", "Acme")
    assert err.value.message == (
        "Stripe rejected the API key (check STRIPE_API_KEY or stripe_api_key in the config file)"
    )
    for text in (str(err.value), err.value.message, err.value.detail or "", caplog.text):
        assert bad_key not in text
    assert err.value.__cause__ is None
    assert bad_key not in repr(gateway)


def test_key_with_a_line_break_is_refused_before_any_request() -> None:
    broken = "sk_test_SECRET\ndistinct"
    with pytest.raises(UserError) as err:
        StripeGateway(broken, api_base=closed_port_url())
    assert "line breaks" in err.value.message
    assert "SECRET" not in str(err.value)


@pytest.mark.parametrize("retries", [0, 1])
def test_server_down_is_one_sentence_without_the_key(
    retries: int, caplog: pytest.LogCaptureFixture
) -> None:
    url = closed_port_url()
    caplog.set_level(logging.DEBUG)
    gateway = StripeGateway(SECRET_KEY, api_base=url, max_network_retries=retries)
    with pytest.raises(UserError) as err:
        gateway.list_payment_methods("cus_any")
    assert err.value.message == f"Stripe could not be reached at {url} — is the network up?"
    for text in (str(err.value), err.value.detail or "", caplog.text, repr(gateway)):
        assert SECRET_KEY not in text


# Stripe-like failures on a real local HTTP server


class FakeStripeHandler(BaseHTTPRequestHandler):
    """Answers from the server's ``script``: a list of (status, headers, body)."""

    server: StubServer

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.seen.append(
            (
                self.command,
                self.path,
                self.headers.get("Idempotency-Key"),
                self.headers.get("Authorization", ""),
            )
        )
        script = self.server.script
        status, headers, body = script.pop(0) if len(script) > 1 else script[0]
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", "req_stub")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


class StubServer(ThreadingHTTPServer):
    script: list[tuple[int, dict[str, str], dict[str, Any]]]
    seen: list[tuple[str, str, str | None, str]]


@pytest.fixture
def stub() -> Iterator[StubServer]:
    server = StubServer(("127.0.0.1", 0), FakeStripeHandler)
    server.script = []
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def stub_url(server: StubServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}"


def error_body(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}}


EMPTY_LIST = {"object": "list", "data": [], "has_more": False, "url": "/v1/customers"}
NEW_CUSTOMER = {"object": "customer", "id": "cus_stub", "created": 1, "email": "a@b.test"}


def test_rate_limit_is_one_sentence(stub: StubServer) -> None:
    stub.script = [
        (429, {"Stripe-Should-Retry": "false"}, error_body("invalid_request_error", "Too many"))
    ]
    gateway = StripeGateway(SECRET_KEY, api_base=stub_url(stub))
    with pytest.raises(UserError) as err:
        gateway.find_or_create_customer("a@b.test", "A")
    assert err.value.message == "Stripe is limiting the request rate; wait a minute and try again"
    assert SECRET_KEY not in str(err.value) + (err.value.detail or "")


def test_server_error_is_one_sentence(stub: StubServer) -> None:
    stub.script = [(500, {"Stripe-Should-Retry": "false"}, error_body("api_error", "Boom"))]
    gateway = StripeGateway(SECRET_KEY, api_base=stub_url(stub))
    with pytest.raises(UserError, match=r"^Stripe failed to answer \(HTTP 500\); try again later$"):
        gateway.list_payment_methods("cus_any")


def test_create_is_retried_with_the_same_idempotency_key(stub: StubServer) -> None:
    stub.script = [
        (200, {}, EMPTY_LIST),
        (503, {"Stripe-Should-Retry": "true"}, error_body("api_error", "Try again")),
        (200, {}, NEW_CUSTOMER),
    ]
    gateway = StripeGateway(SECRET_KEY, api_base=stub_url(stub), max_network_retries=1)
    assert gateway.find_or_create_customer("a@b.test", "A") == "cus_stub"
    posts = [s for s in stub.seen if s[0] == "POST"]
    assert len(posts) == 2
    assert posts[0][2] is not None and posts[0][2].startswith("openinvoice-customer-")
    assert posts[0][2] == posts[1][2]
    # the same customer asked again (after a lost answer) reuses the key
    stub.script = [(200, {}, EMPTY_LIST), (200, {}, NEW_CUSTOMER)]
    gateway.find_or_create_customer("a@b.test", "A")
    assert stub.seen[-1][2] == posts[0][2]


def test_set_default_sends_a_fresh_idempotency_key(stub: StubServer) -> None:
    customer = {"object": "customer", "id": "cus_1", "invoice_settings": {}}
    pm = {"object": "payment_method", "id": "pm_1", "customer": "cus_1", "type": "card"}
    stub.script = [(200, {}, customer), (200, {}, pm), (200, {}, customer)]
    gateway = StripeGateway(SECRET_KEY, api_base=stub_url(stub))
    gateway.set_default_payment_method("cus_1", "pm_1")
    stub.script = [(200, {}, customer), (200, {}, pm), (200, {}, customer)]
    gateway.set_default_payment_method("cus_1", "pm_1")
    keys = [s[2] for s in stub.seen if s[0] == "POST"]
    assert len(keys) == 2 and all(k and k.startswith("openinvoice-set-default-") for k in keys)
    assert keys[0] != keys[1]


# configuration


def test_no_key_says_how_to_configure_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    with pytest.raises(UserError) as err:
        gateway_from_config(Config({}, None))
    assert err.value.message == NO_KEY_MESSAGE
    assert "STRIPE_API_KEY" in NO_KEY_MESSAGE and "stripe_api_key" in NO_KEY_MESSAGE
    assert "chmod 600" in NO_KEY_MESSAGE


def test_config_from_environment_reaches_localstripe(stripe_env: StripeEnv, tmp_path: Path) -> None:
    gateway = gateway_from_config(load_config(tmp_path / "absent.toml"))
    assert gateway.api_base == stripe_env.api_base
    cus = gateway.find_or_create_customer("env@acme.test", "Env")
    assert gateway.list_payment_methods(cus) == []


def test_config_file_key_at_0600(
    stripe_env: StripeEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STRIPE_API_KEY")
    path = tmp_path / "config.toml"
    path.write_text(f'stripe_api_key = "{SECRET_KEY}"\n')
    path.chmod(0o644)
    with pytest.raises(UserError, match="chmod 600") as err:
        gateway_from_config(load_config(path))
    assert SECRET_KEY not in str(err.value)
    path.chmod(0o600)
    gateway = gateway_from_config(load_config(path))
    assert gateway.find_or_create_customer("file@acme.test", "File").startswith("cus_")
    seen_key = stripe.StripeClient(SECRET_KEY, base_addresses={"api": stripe_env.api_base})
    assert seen_key.v1.customers.list(params={"email": "file@acme.test"}).data


def test_importing_the_gateway_does_not_import_stripe() -> None:
    code = (
        "import sys, commands.stripe_gateway\n"
        "assert 'stripe' not in sys.modules, 'stripe imported eagerly'\n"
    )
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root, env=env, timeout=60)
