"""A real SMTP server on 127.0.0.1 for tests (aiosmtpd), as pytest fixtures.

Register with ``pytest_plugins = ["tests.smtp_server"]`` in the root
conftest. Fixtures:

* ``smtp_server``: a server without authentication;
* ``smtp_auth_server``: the same, but AUTH (PLAIN/LOGIN, allowed without
  TLS) is required, with :data:`TEST_USER` / :data:`TEST_PASSWORD`.

Both yield an :class:`SmtpTestServer`: ``.url`` (an ``smtp://`` URL, with
the credentials for the AUTH server), ``.messages`` (a snapshot list of
:class:`ReceivedMessage`), ``.refuse(code, at="rcpt"|"data")``,
``.refuse(None)`` to accept again, ``.drop_after_data()`` (receive the whole
message, then cut the connection without replying: the "in doubt" case),
``.stop()`` and ``.start()`` (down and up again on the same port),
``.clear()`` and ``.wait_for(n)``.

PYTEST_DONT_REWRITE (test modules import helpers from here before pytest
registers it as a plugin; it has no asserts worth rewriting).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, cast
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

TEST_USER = "mailer@example.test"
TEST_PASSWORD = "p@ss:w/rd%20?#x"  # needs percent-encoding in a URL


@dataclass(frozen=True)
class ReceivedMessage:
    """One message the server accepted (or received before dropping the connection)."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    message: EmailMessage
    login: str | None
    peer: Any = None

    @property
    def message_id(self) -> str | None:
        value = self.message["Message-ID"]
        return str(value) if value is not None else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Handler:
    def __init__(self, server: SmtpTestServer) -> None:
        self.server = server

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        if self.server.require_auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        code = self.server._refusal("rcpt")
        if code is not None:
            return f"{code} 5.7.1 Recipient <{address}> refused by the test server"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        code = self.server._refusal("data")
        if code is not None:
            return f"{code} 5.7.1 Message refused by the test server"
        raw = envelope.original_content or envelope.content
        data = raw if isinstance(raw, bytes) else str(raw).encode("utf-8", "surrogateescape")
        parsed = cast(EmailMessage, email.message_from_bytes(data, policy=email.policy.default))
        auth = session.auth_data
        login = None
        if isinstance(auth, LoginPassword):
            login = auth.login.decode("utf-8", "replace")
        self.server._record(
            ReceivedMessage(
                mail_from=str(envelope.mail_from),
                rcpt_tos=list(envelope.rcpt_tos),
                data=data,
                message=parsed,
                login=login,
                peer=session.peer,
            )
        )
        if self.server._drop_after_data:
            transport = cast(asyncio.Transport | None, server.transport)
            if transport is not None:
                transport.abort()  # no reply ever reaches the client
        return "250 2.0.0 Message accepted for delivery"


def _authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    if (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == TEST_USER.encode()
        and auth_data.password == TEST_PASSWORD.encode()
    ):
        return AuthResult(success=True, auth_data=auth_data)
    return AuthResult(success=False, handled=False)


class SmtpTestServer:
    """A controllable aiosmtpd server on 127.0.0.1 (see the module docstring)."""

    def __init__(self, *, require_auth: bool = False) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.require_auth = require_auth
        self._lock = threading.Lock()
        self._messages: list[ReceivedMessage] = []
        self._refuse: tuple[int, str] | None = None
        self._drop_after_data = False
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        if self.require_auth:
            user = quote(TEST_USER, safe="")
            password = quote(TEST_PASSWORD, safe="")
            return f"smtp://{user}:{password}@{self.host}:{self.port}?timeout=5"
        return f"smtp://{self.host}:{self.port}?timeout=5"

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._lock:
            return list(self._messages)

    @property
    def running(self) -> bool:
        return self._controller is not None

    def _record(self, message: ReceivedMessage) -> None:
        with self._lock:
            self._messages.append(message)

    def _refusal(self, stage: str) -> int | None:
        with self._lock:
            if self._refuse and self._refuse[1] == stage:
                return self._refuse[0]
            return None

    def refuse(self, code: int | None = 550, at: str = "rcpt") -> None:
        """Answer ``code`` at RCPT or DATA from now on (``None``: accept again)."""
        if at not in ("rcpt", "data"):
            raise ValueError("at must be 'rcpt' or 'data'")
        with self._lock:
            self._refuse = (code, at) if code is not None else None

    def drop_after_data(self, enabled: bool = True) -> None:
        """Record the message, then close the connection instead of answering."""
        with self._lock:
            self._drop_after_data = enabled

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMessage]:
        """Wait until at least ``count`` messages arrived; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.messages
            if len(messages) >= count:
                return messages
            time.sleep(0.01)
        raise AssertionError(f"expected {count} messages, got {len(self.messages)}")

    def start(self) -> None:
        """Start (or restart) on the same port."""
        if self._controller is not None:
            return
        kwargs: dict[str, Any] = {}
        if self.require_auth:
            # AUTH is enforced in handle_MAIL (auth_required=True would warn without TLS)
            kwargs.update(authenticator=_authenticator, auth_require_tls=False)
        controller = Controller(
            _Handler(self), hostname=self.host, port=self.port, ready_timeout=5.0, **kwargs
        )
        deadline = time.monotonic() + 5.0
        while True:
            try:
                controller.start()
                break
            except (OSError, RuntimeError):  # port still in TIME_WAIT or similar
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
                controller = Controller(
                    _Handler(self), hostname=self.host, port=self.port, ready_timeout=5.0, **kwargs
                )
        self._controller = controller

    def stop(self) -> None:
        """Go down: the port refuses connections until :meth:`start`."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    server = SmtpTestServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_auth_server() -> Iterator[SmtpTestServer]:
    server = SmtpTestServer(require_auth=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()
