"""Sending email: the SMTP adapter, the local Maildir outbox, and message building.

* :func:`build_message` makes an :class:`email.message.EmailMessage` (text
  part plus an optional HTML alternative) with every header set through the
  email API, so a customer name or subject holding CR/LF can never add a
  header. It generates the ``Message-ID`` (``email.utils.make_msgid``); read
  it back with ``msg["Message-ID"]`` and record it *before* sending.
* :func:`mailer_from_config` gives an :class:`SmtpMailer` when ``smtp_url``
  is set (environment ``OPENINVOICE_SMTP_URL`` or the 0600 config file),
  else a :class:`MaildirMailer` that writes each message to a local Maildir
  (``outbox_dir`` or ``<data dir>/outbox``) so a new user sees exactly what
  would be sent.
* ``with mailer.session() as s: s.send(msg)`` reuses one connection for a
  batch and reconnects once when a reused connection turns out dead.
  ``send`` never raises for a delivery problem: it returns a
  :class:`SendOutcome` whose ``status`` is ``sent`` (the server accepted the
  message), ``failed`` (it definitely did not) or ``in_doubt`` (the
  connection was lost after the whole message was transmitted and before
  the server's final reply: it may or may not have been accepted).

The SMTP password is never part of a repr, an error message or a log line.
"""

from __future__ import annotations

import contextlib
import logging
import mailbox
import re
import smtplib
import socket
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email import policy as email_policy
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from enum import StrEnum
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from commands.config import Config, data_dir
from commands.errors import UserError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
DEFAULT_FROM = "OpenInvoice <openinvoice@localhost>"

Security = Literal["none", "starttls", "ssl"]


class SendStatus(StrEnum):
    """What happened to one message (the email history's ``status``)."""

    SENT = "sent"
    FAILED = "failed"
    IN_DOUBT = "in_doubt"


@dataclass(frozen=True)
class SendOutcome:
    """The result of sending one message.

    ``error`` is a sentence for the email history (``None`` when sent).
    ``retryable`` is False when sending the same message again cannot help
    (a 5xx refusal, an invalid address); connection problems and 4xx replies
    are retryable. ``smtp_code``/``smtp_reply`` are the server's answer when
    there was one. ``transport`` is ``"smtp"`` or ``"maildir"``; ``location``
    is the file written by the Maildir outbox. ``connection_failed`` is True
    when no usable session could be had (server down, refused or lost
    connection before the message went out, TLS or login failure): nothing
    was transmitted, and the next messages of the batch would fail the same
    way, so stop the batch, release the claims and retry later.
    """

    status: SendStatus
    message_id: str | None
    error: str | None = None
    retryable: bool = False
    smtp_code: int | None = None
    smtp_reply: str | None = None
    transport: str = "smtp"
    location: str | None = None
    connection_failed: bool = False

    @property
    def sent(self) -> bool:
        return self.status is SendStatus.SENT


class MessageError(UserError):
    """A message that cannot be built or sent as given (bad address, bad header)."""


# --- settings ---------------------------------------------------------------

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to connect: parsed from ``smtp_url``; the password never shows."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security: Security = "none"
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        """Parse ``smtp://user:pass@host:587?starttls=1``, ``smtps://user:pass@host:465``,
        ``smtp://host:25``.

        User and password are percent-decoded (write ``@`` as ``%40``, ``/``
        as ``%2F``, ``:`` in the user name as ``%3A``). Query parameters:
        ``starttls`` (1/0, true/false) and ``timeout`` (seconds). Default
        ports are 25 for ``smtp`` (587 with ``starttls=1``) and 465 for
        ``smtps``. Errors never repeat the password.
        """
        text = url.strip()
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        if scheme not in ("smtp", "smtps"):
            raise UserError(
                "The SMTP URL must start with smtp:// or smtps://, "
                "e.g. smtp://user:password@mail.example.com:587?starttls=1"
            )
        host = parts.hostname
        if not host:
            raise UserError("The SMTP URL names no host, e.g. smtp://mail.example.com:25")
        starttls = False
        timeout = DEFAULT_TIMEOUT
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            name = key.lower()
            if name == "starttls":
                if value.lower() in _TRUE:
                    starttls = True
                elif value.lower() in _FALSE:
                    starttls = False
                else:
                    raise UserError(f"The SMTP URL's starttls must be 1 or 0, not '{value}'")
            elif name == "timeout":
                try:
                    timeout = float(value)
                except ValueError:
                    timeout = -1.0
                if not timeout > 0:
                    raise UserError(
                        f"The SMTP URL's timeout must be a positive number of seconds, "
                        f"not '{value}'"
                    )
            else:
                raise UserError(
                    f"The SMTP URL has an unknown parameter '{key}'; known: starttls, timeout"
                )
        if scheme == "smtps" and starttls:
            raise UserError("Use either smtps:// (TLS from the start) or starttls=1, not both")
        try:
            port = parts.port
        except ValueError as exc:
            raise UserError("The SMTP URL's port must be a number between 1 and 65535") from exc
        security: Security = "ssl" if scheme == "smtps" else ("starttls" if starttls else "none")
        if port is None:
            port = {"ssl": 465, "starttls": 587, "none": 25}[security]
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        if password is not None and not username:
            raise UserError("The SMTP URL has a password but no user name")
        return cls(host, port, username, password, security, timeout)

    def redacted_url(self) -> str:
        """The URL with the password replaced by ``***`` (safe to show or log)."""
        scheme = "smtps" if self.security == "ssl" else "smtp"
        auth = ""
        if self.username:
            auth = self.username.replace("%", "%25").replace("@", "%40").replace(":", "%3A")
            if self.password is not None:
                auth += ":***"
            auth += "@"
        host = f"[{self.host}]" if ":" in self.host else self.host
        query = "?starttls=1" if self.security == "starttls" else ""
        return f"{scheme}://{auth}{host}:{self.port}{query}"

    def __str__(self) -> str:
        return self.redacted_url()

    def __repr__(self) -> str:
        return f"SmtpSettings({self.redacted_url()!r}, timeout={self.timeout})"


# --- building messages ------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")
_ADDR_SPEC = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$"
)
_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
_RESERVED_HEADERS = {
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "sender",
    "reply-to",
}


def single_line(text: str) -> str:
    """``text`` with control characters (CR, LF, tab, ...) turned into single spaces."""
    return " ".join(_CONTROL.sub(" ", text).split())


def make_address(email: str, name: str | None = None) -> Address:
    """An :class:`Address`; the display name is flattened to one line.

    The address itself must be a plain ASCII ``local@domain`` (no spaces,
    no control characters) or :class:`MessageError` is raised.
    """
    addr = email.strip()
    domain = addr.rpartition("@")[2]
    if not _ADDR_SPEC.match(addr) or ".." in addr or ("." not in domain and domain != "localhost"):
        raise MessageError(f"'{single_line(email)}' is not a valid email address")
    display = single_line(name or "")
    try:
        return Address(display_name=display, addr_spec=addr)
    except (ValueError, IndexError) as exc:
        raise MessageError(f"'{addr}' is not a valid email address") from exc


def parse_mailbox(text: str) -> Address:
    """``"Name <addr@host>"`` or ``"addr@host"`` as an :class:`Address` (validated)."""
    if _CONTROL.search(text):
        raise MessageError("A sender address must be on one line")
    name, addr = parseaddr(text)
    if not addr:
        raise MessageError(f"'{text}' is not a valid email address")
    return make_address(addr, name or None)


class _CachedHeaderRegistry(HeaderRegistry):
    """The standard header registry, but each header class is made once.

    ``HeaderRegistry`` builds a new class with ``type()`` for every header set,
    which is most of the cost of composing a message; the classes (and so the
    parsing and the protection against header injection) are the same.
    """

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls


#: ``email.policy.default`` with the cached header registry
POLICY = email_policy.default.clone(header_factory=_CachedHeaderRegistry())


def build_message(
    *,
    mail_from: str | Address,
    to_email: str,
    to_name: str | None = None,
    subject: str,
    text: str,
    html: str | None = None,
    reply_to: str | None = None,
    headers: Mapping[str, str] | None = None,
    date: datetime | None = None,
    message_id_domain: str | None = None,
) -> EmailMessage:
    """A ready-to-send message: text/plain, plus text/html as an alternative.

    Every header goes through the email API; names and the subject are
    flattened to one line, so no input can inject a header. ``headers`` adds
    extra headers (e.g. ``X-OpenInvoice-Template``); the standard ones
    (From, To, Subject, Date, Message-ID, Content-*) cannot be overridden.
    The ``Message-ID`` is generated with ``make_msgid`` for the sender's
    domain (or ``message_id_domain``); read it with ``msg["Message-ID"]``.
    """
    sender = mail_from if isinstance(mail_from, Address) else parse_mailbox(mail_from)
    msg = EmailMessage(policy=POLICY)
    msg["From"] = sender
    msg["To"] = make_address(to_email, to_name)
    if reply_to:
        msg["Reply-To"] = parse_mailbox(reply_to)
    msg["Subject"] = single_line(subject)
    msg["Date"] = format_datetime(date or datetime.now().astimezone())
    domain = message_id_domain or sender.domain or "openinvoice.localhost"
    msg["Message-ID"] = make_msgid(domain=domain)
    for name, value in (headers or {}).items():
        if not _HEADER_NAME.match(name) or name.lower() in _RESERVED_HEADERS:
            raise MessageError(f"'{single_line(name)}' cannot be set as an extra header")
        msg[name] = single_line(value)
    body = text if text.endswith("\n") else text + "\n"
    msg.set_content(body, subtype="plain", charset="utf-8", cte="quoted-printable")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg


def _envelope(msg: EmailMessage) -> tuple[str, list[str]]:
    """The envelope sender and recipients from the From/To/Cc headers."""
    sender_header = msg["From"]
    if sender_header is None or not getattr(sender_header, "addresses", None):
        raise MessageError("The message has no From address")
    sender = sender_header.addresses[0].addr_spec
    recipients: list[str] = []
    for name in ("To", "Cc"):
        for header in msg.get_all(name, []):
            for address in getattr(header, "addresses", ()):
                if address.addr_spec not in recipients:
                    recipients.append(address.addr_spec)
    if not recipients:
        raise MessageError("The message has no recipient")
    for addr in (sender, *recipients):
        if not addr.isascii() or _CONTROL.search(addr):
            raise MessageError(f"'{single_line(addr)}' cannot be used as an SMTP address")
    return sender, recipients


def _wire_bytes(msg: EmailMessage) -> bytes:
    """The message as sent after DATA: CRLF lines, leading dots doubled, final dot."""
    data = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


# --- mailers ----------------------------------------------------------------


class MailSession(Protocol):
    def send(self, msg: EmailMessage) -> SendOutcome: ...


class Mailer(Protocol):
    """What the commands and the daemon use; see :func:`mailer_from_config`."""

    mail_from: Address

    @property
    def description(self) -> str: ...

    def session(self) -> contextlib.AbstractContextManager[MailSession]: ...

    def send(self, msg: EmailMessage) -> SendOutcome: ...

    def compose(
        self,
        *,
        to_email: str,
        to_name: str | None,
        subject: str,
        text: str,
        html: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> EmailMessage: ...


class _ComposeMixin:
    mail_from: Address

    def compose(
        self,
        *,
        to_email: str,
        to_name: str | None,
        subject: str,
        text: str,
        html: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> EmailMessage:
        """:func:`build_message` from this mailer's sender."""
        return build_message(
            mail_from=self.mail_from,
            to_email=to_email,
            to_name=to_name,
            subject=subject,
            text=text,
            html=html,
            headers=headers,
        )


class _Failure(Exception):
    """Internal: a send step failed; carries the outcome fields."""

    def __init__(
        self,
        error: str,
        *,
        retryable: bool,
        code: int | None = None,
        reply: str | None = None,
        connection: bool = True,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.retryable = retryable
        self.code = code
        self.reply = reply
        self.connection = connection


def _reply_text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return single_line(text)


class SmtpSession:
    """One SMTP connection used for a batch of messages (not thread-safe)."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._conn: smtplib.SMTP | None = None

    # connection handling

    @property
    def _where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        conn: smtplib.SMTP | None = None
        try:
            if s.security == "ssl":
                conn = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
                )
            else:
                conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            if s.security == "starttls":
                conn.ehlo()
                if not conn.has_extn("starttls"):
                    raise _Failure(
                        f"The mail server at {self._where} does not offer STARTTLS; "
                        "use smtps:// or drop starttls=1 from the SMTP URL",
                        retryable=False,
                    )
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
            conn.ehlo_or_helo_if_needed()
            if s.username:
                conn.login(s.username, s.password or "")
        except _Failure:
            _close_quietly(conn)
            raise
        except smtplib.SMTPAuthenticationError as exc:
            _close_quietly(conn)
            raise _Failure(
                f"The mail server at {self._where} rejected the login for user "
                f"'{s.username}': {exc.smtp_code} {_reply_text(exc.smtp_error)}",
                retryable=True,
                code=exc.smtp_code,
                reply=_reply_text(exc.smtp_error),
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            _close_quietly(conn)
            raise _Failure(
                f"The mail server at {self._where} does not support login ({exc}); "
                "check the SMTP URL (perhaps it needs starttls=1)",
                retryable=False,
            ) from None
        except ConnectionRefusedError:
            _close_quietly(conn)
            raise _Failure(
                f"The mail server at {self._where} refused the connection (is it running?)",
                retryable=True,
            ) from None
        except socket.gaierror:
            _close_quietly(conn)
            raise _Failure(
                f"The mail server host '{s.host}' could not be found", retryable=True
            ) from None
        except TimeoutError:
            _close_quietly(conn)
            raise _Failure(
                f"The mail server at {self._where} did not answer within {s.timeout:g} seconds",
                retryable=True,
            ) from None
        except ssl.SSLError as exc:
            _close_quietly(conn)
            raise _Failure(
                f"The TLS connection to the mail server at {self._where} failed: "
                f"{exc.reason or exc}",
                retryable=True,
            ) from None
        except smtplib.SMTPResponseException as exc:
            _close_quietly(conn)
            raise _Failure(
                f"The mail server at {self._where} refused the session: "
                f"{exc.smtp_code} {_reply_text(exc.smtp_error)}",
                retryable=True,
                code=exc.smtp_code,
                reply=_reply_text(exc.smtp_error),
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            _close_quietly(conn)
            raise _Failure(
                f"Could not connect to the mail server at {self._where}: "
                f"{type(exc).__name__}: {single_line(str(exc))}",
                retryable=True,
            ) from None
        assert conn is not None
        return conn

    def _drop(self) -> None:
        _close_quietly(self._conn)
        self._conn = None

    def _rset(self) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            code, _ = conn.rset()
            if code != 250:
                self._drop()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def close(self) -> None:
        """QUIT politely; never raises."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            _close_quietly(conn)

    def __enter__(self) -> SmtpSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # sending

    def send(self, msg: EmailMessage) -> SendOutcome:
        """Send one message; see :class:`SendOutcome` for what can happen."""
        message_id = msg["Message-ID"]
        message_id = str(message_id) if message_id is not None else None
        try:
            sender, recipients = _envelope(msg)
            data = _wire_bytes(msg)
        except (MessageError, UnicodeError, ValueError) as exc:
            text = exc.message if isinstance(exc, UserError) else str(exc)
            return SendOutcome(SendStatus.FAILED, message_id, text, retryable=False)
        for attempt in (1, 2):
            reused = self._conn is not None
            try:
                return self._transaction(sender, recipients, data, message_id)
            except _Failure as failure:
                return SendOutcome(
                    SendStatus.FAILED,
                    message_id,
                    failure.error,
                    retryable=failure.retryable,
                    smtp_code=failure.code,
                    smtp_reply=failure.reply,
                    connection_failed=failure.connection,
                )
            except _StaleConnection as stale:
                if reused and attempt == 1:
                    log.info("SMTP connection to %s was closed; reconnecting", self._where)
                    continue
                return SendOutcome(
                    SendStatus.FAILED,
                    message_id,
                    stale.error,
                    retryable=True,
                    connection_failed=True,
                )
        raise AssertionError("unreachable")

    def _transaction(
        self, sender: str, recipients: list[str], data: bytes, message_id: str | None
    ) -> SendOutcome:
        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        phase = "MAIL FROM"
        try:
            code, reply = conn.mail(sender)
            if code != 250:
                self._refused(code, reply, f"refused the sender {sender}")
            phase = "RCPT TO"
            for rcpt in recipients:
                code, reply = conn.rcpt(rcpt)
                if code not in (250, 251):
                    self._refused(code, reply, f"refused the recipient {rcpt}")
            phase = "DATA"
            conn.putcmd("data")
            code, reply = conn.getreply()
            if code != 354:
                self._refused(code, reply, "refused to take the message (DATA)")
            phase = "message"
            conn.send(data)
            phase = "final reply"
            code, reply = conn.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._drop()
            if phase == "final reply":
                return SendOutcome(
                    SendStatus.IN_DOUBT,
                    message_id,
                    f"The connection to the mail server at {self._where} was lost after the "
                    "message was transmitted and before the server confirmed it; it may or "
                    "may not have been delivered",
                    retryable=False,
                )
            raise _StaleConnection(
                f"The connection to the mail server at {self._where} was lost during "
                f"{phase}; the message was not sent ({single_line(str(exc)) or 'closed'})"
            ) from None
        if code == 250:
            return SendOutcome(
                SendStatus.SENT,
                message_id,
                smtp_code=code,
                smtp_reply=_reply_text(reply),
            )
        if code == 421:
            self._drop()
        else:
            self._rset()
        return SendOutcome(
            SendStatus.FAILED,
            message_id,
            f"The mail server at {self._where} refused the message: {code} {_reply_text(reply)}",
            retryable=code < 500,
            smtp_code=code,
            smtp_reply=_reply_text(reply),
        )

    def _refused(self, code: int, reply: bytes, what: str) -> None:
        if code == 421:
            # the server is closing the connection: on a reused one, reconnect and retry
            self._drop()
            raise _StaleConnection(
                f"The mail server at {self._where} is closing the connection: "
                f"{code} {_reply_text(reply)}"
            )
        if code == -1:
            self._drop()
            raise _StaleConnection(
                f"The mail server at {self._where} closed the connection; the message was not sent"
            )
        self._rset()
        raise _Failure(
            f"The mail server at {self._where} {what}: {code} {_reply_text(reply)}",
            retryable=code < 500,
            code=code,
            reply=_reply_text(reply),
            connection=False,
        )


class _StaleConnection(Exception):
    """Internal: the connection died before the message was transmitted."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def _close_quietly(conn: smtplib.SMTP | None) -> None:
    if conn is None:
        return
    with contextlib.suppress(Exception):
        conn.close()


class SmtpMailer(_ComposeMixin):
    """Sends over SMTP (plain, STARTTLS or SSL, optional login)."""

    def __init__(self, settings: SmtpSettings, mail_from: str | Address) -> None:
        self.settings = settings
        self.mail_from = mail_from if isinstance(mail_from, Address) else parse_mailbox(mail_from)

    @property
    def description(self) -> str:
        return f"SMTP {self.settings.redacted_url()}"

    def __repr__(self) -> str:
        return f"SmtpMailer({self.settings.redacted_url()!r}, from={str(self.mail_from)!r})"

    @contextlib.contextmanager
    def session(self) -> Iterator[SmtpSession]:
        """One connection for a batch: ``with mailer.session() as s: s.send(msg)``."""
        session = SmtpSession(self.settings)
        try:
            yield session
        finally:
            session.close()

    def send(self, msg: EmailMessage) -> SendOutcome:
        """Send one message on a connection of its own."""
        with self.session() as session:
            return session.send(msg)


class MaildirSession:
    def __init__(self, mailer: MaildirMailer) -> None:
        self._mailer = mailer

    def send(self, msg: EmailMessage) -> SendOutcome:
        return self._mailer.send(msg)


class MaildirMailer(_ComposeMixin):
    """Writes each message to a local Maildir instead of sending it.

    Every message becomes a file in ``<path>/new`` that any mail reader (or
    ``less``) opens. The outcome is ``sent`` with ``transport="maildir"``
    and ``location`` the file written.
    """

    def __init__(self, path: Path, mail_from: str | Address = DEFAULT_FROM) -> None:
        self.path = Path(path)
        self.mail_from = mail_from if isinstance(mail_from, Address) else parse_mailbox(mail_from)

    @property
    def description(self) -> str:
        return f"local outbox {self.path} (no SMTP server configured)"

    def __repr__(self) -> str:
        return f"MaildirMailer({str(self.path)!r})"

    @contextlib.contextmanager
    def session(self) -> Iterator[MaildirSession]:
        yield MaildirSession(self)

    def send(self, msg: EmailMessage) -> SendOutcome:
        message_id = msg["Message-ID"]
        message_id = str(message_id) if message_id is not None else None
        try:
            _envelope(msg)
            box = mailbox.Maildir(str(self.path), create=True)
            key = box.add(msg)
        except MessageError as exc:
            return SendOutcome(
                SendStatus.FAILED, message_id, exc.message, retryable=False, transport="maildir"
            )
        except OSError as exc:
            return SendOutcome(
                SendStatus.FAILED,
                message_id,
                f"Could not write to the local outbox {self.path}: {exc.strerror or exc}",
                retryable=True,
                transport="maildir",
            )
        return SendOutcome(
            SendStatus.SENT,
            message_id,
            transport="maildir",
            location=str(self.path / "new" / key),
        )


def mailer_from_config(config: Config) -> Mailer:
    """The mailer the settings ask for.

    ``smtp_url`` set (``OPENINVOICE_SMTP_URL`` or the 0600 config file):
    SMTP, and ``mail_from`` (``OPENINVOICE_MAIL_FROM``) is required.
    Otherwise the local Maildir outbox at ``outbox_dir`` (``OPENINVOICE_OUTBOX``)
    or ``<data dir>/outbox``.
    """
    url = config.secret("smtp_url")
    mail_from = config.get("mail_from")
    if url:
        settings = SmtpSettings.from_url(str(url))
        if not mail_from:
            raise UserError(
                "Set the sender address: OPENINVOICE_MAIL_FROM or mail_from in the config "
                'file, e.g. mail_from = "Acme Billing <billing@acme.example>"'
            )
        return SmtpMailer(settings, _sender(str(mail_from)))
    outbox = config.get("outbox_dir")
    path = Path(str(outbox)).expanduser() if outbox else data_dir() / "outbox"
    return MaildirMailer(path, _sender(str(mail_from)) if mail_from else DEFAULT_FROM)


def _sender(text: str) -> Address:
    try:
        return parse_mailbox(text)
    except MessageError as exc:
        raise UserError(f"mail_from: {exc.message}") from exc
