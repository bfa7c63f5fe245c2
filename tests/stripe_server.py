"""A real localstripe server for the Stripe tests, bound to loopback only.

Register with ``pytest_plugins = ["tests.stripe_server"]`` in ``conftest.py``.

- ``localstripe_url`` (session): localstripe's own aiohttp application served
  by ``AppRunner`` + ``TCPSite("127.0.0.1", 0)`` on an event loop in a daemon
  thread, so the kernel picks a free port and nothing listens beyond
  loopback. (``python -m localstripe`` would bind ``::`` on every interface.)
- ``stripe_env`` (function): empties localstripe (``DELETE /_config/data``),
  points the app at it (``OPENINVOICE_STRIPE_API_BASE`` and ``STRIPE_API_KEY``
  set for the test) and yields a :class:`StripeEnv`.

Runtime shim, applied in this process only (site-packages is not edited):
localstripe pickles its whole store to ``/tmp/localstripe.pickle`` after every
write, a path shared by every process on the machine (parallel workers, other
test runs). ``Store.dump_to_disk`` becomes a no-op; the store lives in memory.

PYTEST_DONT_REWRITE (no asserts here; tests import helpers from this module).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import urllib.request
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

TEST_API_KEY = "sk_test_12345"
START_TIMEOUT = 15.0

#: urllib without environment proxies: the test server is on loopback
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class StripeEnv:
    """Where the test Stripe lives and the key the tests use."""

    api_base: str
    api_key: str


class LocalStripeServer:
    """localstripe's aiohttp app on 127.0.0.1 and a free port, in a thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run_loop, name="localstripe", daemon=True)
        self.runner: Any = None
        self.url = ""

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self) -> str:
        with warnings.catch_warnings():
            # aiohttp warns about localstripe's plain-function handlers
            warnings.simplefilter("ignore", DeprecationWarning)
            import localstripe.resources as ls_resources
            import localstripe.server as ls_server

        ls_resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
        ls_resources.store.clear()
        self.thread.start()
        future = asyncio.run_coroutine_threadsafe(self._serve(ls_server.app), self.loop)
        host, port = future.result(timeout=START_TIMEOUT)[:2]
        self.url = f"http://{host}:{port}"
        wait_until_answers(self.url, START_TIMEOUT)
        return self.url

    async def _serve(self, app: Any) -> tuple[str, int]:
        from aiohttp import web

        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        return self.runner.addresses[0]  # type: ignore[no-any-return]

    async def _shutdown(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        # localstripe schedules a webhook task per event (each sleeps 1 s)
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> None:
        if not self.thread.is_alive():
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop)
        with contextlib.suppress(Exception):
            future.result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        if not self.thread.is_alive():
            self.loop.close()


def _request(method: str, url: str, timeout: float = 5.0) -> int:
    req = urllib.request.Request(url, method=method)
    with _opener.open(req, timeout=timeout) as resp:
        return int(resp.status)


def wait_until_answers(url: str, timeout: float) -> None:
    """Poll localstripe's reset endpoint until it answers 200."""
    import time

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if _request("DELETE", f"{url}/_config/data", timeout=1.0) == 200:
                return
        except OSError as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"localstripe did not answer at {url}: {last}")


def reset_localstripe(url: str) -> None:
    """Forget every customer, payment method and event."""
    status = _request("DELETE", f"{url}/_config/data")
    if status != 200:
        raise RuntimeError(f"localstripe reset answered HTTP {status}")


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    server = LocalStripeServer()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def stripe_env(localstripe_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[StripeEnv]:
    reset_localstripe(localstripe_url)
    monkeypatch.setenv("OPENINVOICE_STRIPE_API_BASE", localstripe_url)
    monkeypatch.setenv("STRIPE_API_KEY", TEST_API_KEY)
    yield StripeEnv(api_base=localstripe_url, api_key=TEST_API_KEY)


def add_test_card(
    env: StripeEnv,
    customer_id: str,
    *,
    number: str = "4242424242424242",
    exp_month: int = 12,
    exp_year: int = 2030,
    name: str | None = None,
) -> str:
    """Create a card payment method, attach it to the customer, return its id.

    localstripe takes raw test card numbers (16 digits; ``exp_year`` 2019-2099;
    brand is always ``visa`` and country ``FR``). Numbers such as
    ``4000000000000002`` are declined on attach (``stripe.CardError``).
    """
    import stripe

    client = stripe.StripeClient(env.api_key, base_addresses={"api": env.api_base})
    params: dict[str, Any] = {
        "type": "card",
        "card": {
            "number": number,
            "exp_month": exp_month,
            "exp_year": exp_year,
            "cvc": "123",
        },
    }
    if name is not None:
        params["billing_details"] = {"name": name}
    pm = client.v1.payment_methods.create(params=params)  # type: ignore[arg-type]
    client.v1.payment_methods.attach(pm.id, params={"customer": customer_id})
    return str(pm.id)
