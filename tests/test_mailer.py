"""The mailer and the email templates, against a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import mailbox
import os
import smtplib
import stat
from datetime import date
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

import pytest

from commands.config import Config
from commands.email_templates import (
    TemplateStore,
    available_templates,
    invoice_line,
    make_context,
    render,
    template_for_stage,
)
from commands.errors import UserError
from commands.mailer import (
    MaildirMailer,
    Mailer,
    MessageError,
    SendStatus,
    SmtpMailer,
    SmtpSettings,
    build_message,
    mailer_from_config,
)
from tests.smtp_server import TEST_PASSWORD, TEST_USER, SmtpTestServer

# the lead also lists this in the root conftest; registering twice is harmless

FROM = "Acme Billing <billing@acme.example>"


def _message(
    to: str = "bob@example.com", name: str | None = "Bob", subject: str = "Hi"
) -> EmailMessage:
    return build_message(
        mail_from=FROM,
        to_email=to,
        to_name=name,
        subject=subject,
        text="Hello Bob,\n.a line starting with a dot\nGrüße\n",
        html="<p>Hello <b>Bob</b> – Grüße</p>",
    )


def _lf(text: str) -> str:
    """Content parsed from the wire has CRLF line ends; compare with LF."""
    return text.replace("\r\n", "\n")


# --- settings ---------------------------------------------------------------


def test_settings_from_url_starttls_with_encoded_credentials() -> None:
    s = SmtpSettings.from_url("smtp://us%40er:p%40ss%3Aw@mail.example.com:587?starttls=1")
    assert (s.host, s.port, s.security) == ("mail.example.com", 587, "starttls")
    assert s.username == "us@er"
    assert s.password == "p@ss:w"
    assert "p@ss" not in repr(s) and "p@ss" not in str(s)
    assert "***" in str(s)


def test_settings_from_url_smtps_and_plain_defaults() -> None:
    s = SmtpSettings.from_url("smtps://user:secret@mail.example.com")
    assert (s.port, s.security, s.username) == (465, "ssl", "user")
    assert "secret" not in repr(s)
    plain = SmtpSettings.from_url("smtp://localhost:25")
    assert (plain.host, plain.port, plain.security, plain.username, plain.password) == (
        "localhost",
        25,
        "none",
        None,
        None,
    )
    assert SmtpSettings.from_url("smtp://h?timeout=2.5").timeout == 2.5


@pytest.mark.parametrize(
    "url",
    [
        "http://user:topsecret@h:25",
        "smtp://user:topsecret@h:25?starttls=maybe",
        "smtp://user:topsecret@h:25?timeout=-1",
        "smtp://user:topsecret@h:25?bogus=1",
        "smtp://user:topsecret@h:notaport",
        "smtps://user:topsecret@h:465?starttls=1",
        "smtp://",
    ],
)
def test_settings_errors_are_user_errors_without_the_password(url: str) -> None:
    with pytest.raises(UserError) as err:
        SmtpSettings.from_url(url)
    assert "topsecret" not in err.value.message


# --- sending over SMTP ------------------------------------------------------


def test_text_and_html_received_intact_with_message_id(smtp_server: SmtpTestServer) -> None:
    mailer = SmtpMailer(SmtpSettings.from_url(smtp_server.url), FROM)
    msg = _message()
    outcome = mailer.send(msg)
    assert outcome.status is SendStatus.SENT, outcome.error
    assert outcome.message_id == msg["Message-ID"]
    assert outcome.message_id and outcome.message_id.endswith("@acme.example>")
    [received] = smtp_server.wait_for(1)
    assert received.mail_from == "billing@acme.example"
    assert received.rcpt_tos == ["bob@example.com"]
    assert received.message_id == outcome.message_id
    got = received.message
    assert got.get_content_type() == "multipart/alternative"
    plain = got.get_body(("plain",))
    html = got.get_body(("html",))
    assert plain is not None and html is not None
    assert _lf(plain.get_content()) == "Hello Bob,\n.a line starting with a dot\nGrüße\n"
    assert _lf(html.get_content()).rstrip("\n") == "<p>Hello <b>Bob</b> – Grüße</p>"
    assert got["Subject"] == "Hi"
    assert got.get_all("MIME-Version") == ["1.0"]


def test_one_connection_for_a_batch(smtp_server: SmtpTestServer) -> None:
    mailer = SmtpMailer(SmtpSettings.from_url(smtp_server.url), FROM)
    with mailer.session() as session:
        outcomes = [session.send(_message(subject=f"n{i}")) for i in range(5)]
    assert all(o.sent for o in outcomes)
    received = smtp_server.wait_for(5)
    assert len({r.peer for r in received}) == 1  # same client port: one connection
    assert len({o.message_id for o in outcomes}) == 5


def test_auth_login_with_password_from_url(smtp_auth_server: SmtpTestServer) -> None:
    settings = SmtpSettings.from_url(smtp_auth_server.url)
    assert settings.password == TEST_PASSWORD
    outcome = SmtpMailer(settings, FROM).send(_message())
    assert outcome.sent, outcome.error
    [received] = smtp_auth_server.wait_for(1)
    assert received.login == TEST_USER


def test_auth_wrong_password_fails_without_leaking_it(smtp_auth_server: SmtpTestServer) -> None:
    url = smtp_auth_server.url.replace("p%40ss", "wrongpw")
    outcome = SmtpMailer(SmtpSettings.from_url(url), FROM).send(_message())
    assert outcome.status is SendStatus.FAILED
    assert outcome.error and "rejected the login" in outcome.error
    assert outcome.connection_failed is True
    assert "wrongpw" not in outcome.error and TEST_PASSWORD not in outcome.error
    assert smtp_auth_server.messages == []


def test_auth_server_refuses_mail_without_login(smtp_auth_server: SmtpTestServer) -> None:
    url = f"smtp://127.0.0.1:{smtp_auth_server.port}"
    outcome = SmtpMailer(SmtpSettings.from_url(url), FROM).send(_message())
    assert outcome.status is SendStatus.FAILED
    assert outcome.smtp_code == 530


@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_refused_is_failed_with_the_servers_message(
    smtp_server: SmtpTestServer, stage: str
) -> None:
    smtp_server.refuse(550, at=stage)
    mailer = SmtpMailer(SmtpSettings.from_url(smtp_server.url), FROM)
    with mailer.session() as session:
        outcome = session.send(_message())
        assert outcome.status is SendStatus.FAILED
        assert outcome.smtp_code == 550
        assert outcome.retryable is False
        assert outcome.connection_failed is False
        assert outcome.error and "refused by the test server" in outcome.error
        # the connection is still usable for the next message
        smtp_server.refuse(None)
        assert session.send(_message()).sent
    assert len(smtp_server.messages) == 1


def test_temporary_refusal_is_retryable(smtp_server: SmtpTestServer) -> None:
    smtp_server.refuse(451, at="rcpt")
    outcome = SmtpMailer(SmtpSettings.from_url(smtp_server.url), FROM).send(_message())
    assert outcome.status is SendStatus.FAILED
    assert outcome.retryable is True


def test_starttls_requested_but_not_offered(smtp_server: SmtpTestServer) -> None:
    url = smtp_server.url + "&starttls=1"
    outcome = SmtpMailer(SmtpSettings.from_url(url), FROM).send(_message())
    assert outcome.status is SendStatus.FAILED
    assert outcome.error and "does not offer STARTTLS" in outcome.error
    assert smtp_server.messages == []


def test_server_down_is_failed_connection_refused(smtp_server: SmtpTestServer) -> None:
    smtp_server.stop()
    outcome = SmtpMailer(SmtpSettings.from_url(smtp_server.url), FROM).send(_message())
    assert outcome.status is SendStatus.FAILED
    assert outcome.retryable is True
    assert outcome.error and "refused the connection" in outcome.error
    assert outcome.connection_failed is True


def test_reconnects_after_the_server_restarts(smtp_server: SmtpTestServer) -> None:
    mailer = SmtpMailer(SmtpSettings.from_url(smtp_server.url), FROM)
    with mailer.session() as session:
        assert session.send(_message(subject="before")).sent
        smtp_server.stop()
        smtp_server.start()
        outcome = session.send(_message(subject="after"))
        assert outcome.sent, outcome.error
    subjects = [r.message["Subject"] for r in smtp_server.wait_for(2)]
    assert subjects == ["before", "after"]


def test_connection_lost_after_data_is_in_doubt(smtp_server: SmtpTestServer) -> None:
    smtp_server.drop_after_data()
    mailer = SmtpMailer(SmtpSettings.from_url(smtp_server.url), FROM)
    with mailer.session() as session:
        msg = _message()
        outcome = session.send(msg)
        assert outcome.status is SendStatus.IN_DOUBT
        assert outcome.message_id == msg["Message-ID"]
        assert outcome.error and "may or may not" in outcome.error
        # the server did get it: that is exactly why it must not be resent blindly
        assert smtp_server.wait_for(1)[0].message_id == outcome.message_id
        smtp_server.drop_after_data(False)
        assert session.send(_message()).sent  # a fresh connection is opened


def test_header_injection_is_impossible(smtp_server: SmtpTestServer) -> None:
    msg = build_message(
        mail_from=FROM,
        to_email="bob@example.com",
        to_name="Bob\r\nBcc: victim@evil.example\r\nX-Injected: yes",
        subject="Invoice\r\nBcc: victim2@evil.example",
        text="body",
        headers={"X-OpenInvoice-Template": "a\r\nX-Injected: yes"},
    )
    outcome = SmtpMailer(SmtpSettings.from_url(smtp_server.url), FROM).send(msg)
    assert outcome.sent, outcome.error
    [received] = smtp_server.wait_for(1)
    assert received.rcpt_tos == ["bob@example.com"]
    got = received.message
    assert got["Bcc"] is None
    assert got["X-Injected"] is None
    assert [a.addr_spec for a in got["To"].addresses] == ["bob@example.com"]
    header_lines = received.data.split(b"\r\n\r\n")[0].split(b"\r\n")
    assert not [line for line in header_lines if line.lower().startswith((b"bcc", b"x-injected"))]
    assert "\n" not in str(got["Subject"])


@pytest.mark.parametrize(
    "address", ["bob@example.com\r\nBcc: x@evil.example", "not an address", "a@b@c.example", ""]
)
def test_invalid_recipient_address_is_refused(address: str) -> None:
    with pytest.raises(MessageError):
        build_message(mail_from=FROM, to_email=address, subject="s", text="t")


def test_standard_headers_cannot_be_overridden() -> None:
    with pytest.raises(MessageError):
        build_message(
            mail_from=FROM,
            to_email="bob@example.com",
            subject="s",
            text="t",
            headers={"Bcc": "x@evil.example"},
        )


def test_text_only_message() -> None:
    msg = build_message(mail_from=FROM, to_email="bob@example.com", subject="s", text="t")
    assert msg.get_content_type() == "text/plain"


# --- configuration and the Maildir fallback ---------------------------------


def test_maildir_fallback_writes_a_message_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENINVOICE_SMTP_URL", raising=False)
    monkeypatch.delenv("OPENINVOICE_MAIL_FROM", raising=False)
    monkeypatch.delenv("OPENINVOICE_OUTBOX", raising=False)
    monkeypatch.setenv("OPENINVOICE_DATA_DIR", str(tmp_path / "data"))
    generic: Mailer = mailer_from_config(Config({}, None))
    assert isinstance(generic, MaildirMailer)
    mailer = generic
    assert mailer.path == tmp_path / "data" / "outbox"
    assert "local outbox" in mailer.description
    msg = mailer.compose(to_email="bob@example.com", to_name="Bob", subject="Hello", text="Hi")
    outcome = mailer.send(msg)
    assert outcome.sent and outcome.transport == "maildir"
    assert outcome.location and Path(outcome.location).is_file()
    box = mailbox.Maildir(str(mailer.path), create=False)
    [stored] = list(box)
    assert stored["Message-ID"] == outcome.message_id
    assert stored["Subject"] == "Hello"


def test_outbox_dir_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENINVOICE_SMTP_URL", raising=False)
    monkeypatch.setenv("OPENINVOICE_OUTBOX", str(tmp_path / "box"))
    mailer = mailer_from_config(Config({}, None))
    assert isinstance(mailer, MaildirMailer)
    assert mailer.path == tmp_path / "box"
    with mailer.session() as session:
        assert session.send(_message()).sent
    assert len(os.listdir(tmp_path / "box" / "new")) == 1


def test_smtp_from_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENINVOICE_SMTP_URL", raising=False)
    monkeypatch.delenv("OPENINVOICE_MAIL_FROM", raising=False)
    path = tmp_path / "config.toml"
    path.write_text("x = 1\n")
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    config = Config(
        {"smtp_url": "smtp://u:hunter2@127.0.0.1:2525?starttls=1", "mail_from": FROM}, path
    )
    mailer = mailer_from_config(config)
    assert isinstance(mailer, SmtpMailer)
    assert mailer.settings.security == "starttls"
    assert "hunter2" not in repr(mailer) and "hunter2" not in mailer.description
    with pytest.raises(UserError, match="sender address"):
        mailer_from_config(Config({"smtp_url": "smtp://127.0.0.1:2525"}, path))


def test_smtp_url_from_environment(
    smtp_server: SmtpTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENINVOICE_SMTP_URL", smtp_server.url)
    monkeypatch.setenv("OPENINVOICE_MAIL_FROM", FROM)
    mailer = mailer_from_config(Config({}, None))
    assert isinstance(mailer, SmtpMailer)
    assert mailer.send(_message()).sent


def test_plain_smtplib_can_talk_to_the_fixture(smtp_server: SmtpTestServer) -> None:
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=5) as conn:
        conn.sendmail("a@example.com", ["b@example.com"], b"Subject: x\r\n\r\nbody\r\n")
    assert smtp_server.wait_for(1)[0].message["Subject"] == "x"


# --- templates ----------------------------------------------------------------

TODAY = date(2026, 6, 30)


def _context(**overrides: object) -> dict[str, object]:
    invoices = [
        invoice_line(
            number="INV-1",
            total=Decimal("100"),
            balance=Decimal("40.5"),
            due_on=date(2026, 6, 1),
            today=TODAY,
            currency="EUR",
        ),
        invoice_line(
            number="INV-2",
            total=Decimal("10"),
            balance=Decimal("10"),
            due_on=date(2026, 6, 20),
            today=TODAY,
            currency="EUR",
        ),
    ]
    args: dict[str, object] = {
        "customer_name": "Ann <Smith> & Co",
        "customer_email": "ann@example.com",
        "customer_company": "Ann Ltd",
        "invoices": invoices,
        "total_due": "50.50 EUR",
        "figures": {"invoice_count": "3", "revenue": "1200.00 EUR"},
        "customer_notes": ["Payment terms: net 30 <as agreed>"],
        "sender_name": "Acme Billing",
        "sender_email": "billing@acme.example",
        "stage": "after-7",
        "today": TODAY,
    }
    args.update(overrides)
    return make_context(**args)  # type: ignore[arg-type]


EXPECTED_BUILTINS = {
    "reminder-before",
    "reminder-due",
    "reminder-overdue-7",
    "reminder-overdue-14",
    "reminder-overdue-30",
    "reminder-repeat",
    "reminder-summary",
    "feedback-request",
    "discount-offer",
}


def test_builtin_templates_all_render(tmp_path: Path) -> None:
    store = TemplateStore(user_dir=tmp_path / "none")
    assert set(store.names()) == EXPECTED_BUILTINS
    for name in store.names():
        rendered = store.render(name, _context())
        assert rendered.subject and "\n" not in rendered.subject
        assert "Ann <Smith> & Co" in rendered.text
        assert rendered.html is not None
        assert "Ann &lt;Smith&gt; &amp; Co" in rendered.html  # autoescaped
        assert "<Smith>" not in rendered.html


def test_summary_template_lists_every_invoice(tmp_path: Path) -> None:
    rendered = TemplateStore(user_dir=tmp_path).render("reminder-summary", _context())
    for text in (rendered.text, rendered.html or ""):
        assert "INV-1" in text and "INV-2" in text and "50.50 EUR" in text
    assert "29 days overdue" in rendered.text


def test_reminder_mentions_invoice_and_days_overdue(tmp_path: Path) -> None:
    rendered = TemplateStore(user_dir=tmp_path).render("reminder-overdue-7", _context())
    assert "INV-1" in rendered.subject
    assert "29 days overdue" in rendered.text
    assert "40.50 EUR" in rendered.text


def test_customer_notes_appear_in_the_email(tmp_path: Path) -> None:
    """The caller passes only customer notes; those are shown (escaped in HTML)."""
    rendered = TemplateStore(user_dir=tmp_path).render("feedback-request", _context())
    assert "Payment terms: net 30 <as agreed>" in rendered.text
    assert "Payment terms: net 30 &lt;as agreed&gt;" in (rendered.html or "")
    none = TemplateStore(user_dir=tmp_path).render("feedback-request", _context(customer_notes=[]))
    assert "Notes" not in none.text


def test_a_context_carrying_internal_notes_is_refused(tmp_path: Path) -> None:
    context = _context()
    context["internal_notes"] = ["never tell the customer: credit risk"]
    with pytest.raises(ValueError, match="internal notes"):
        TemplateStore(user_dir=tmp_path).render("feedback-request", context)


def test_user_override_wins_per_file(tmp_path: Path) -> None:
    (tmp_path / "reminder-due.subject.j2").write_text("Custom: {{ invoice.number }} today")
    store = TemplateStore(user_dir=tmp_path)
    rendered = store.render("reminder-due", _context())
    assert rendered.subject == "Custom: INV-1 today"
    assert "is due today" in rendered.text  # built-in body still used
    info = {i.name: i for i in store.available()}
    assert info["reminder-due"].source == "user override"
    assert info["reminder-before"].source == "built-in"


def test_user_template_new_name_and_layout(tmp_path: Path) -> None:
    (tmp_path / "thanks.subject.j2").write_text("Thank you, {{ customer.name }}")
    (tmp_path / "thanks.txt.j2").write_text("We value you. Revenue {{ figures.revenue }}\n")
    (tmp_path / "thanks.html.j2").write_text(
        '{% extends "_layout.html.j2" %}{% block body %}<p>{{ figures.revenue }}</p>{% endblock %}'
    )
    (tmp_path / "half.subject.j2").write_text("no body: not listed")
    store = TemplateStore(user_dir=tmp_path)
    assert "thanks" in store.names() and "half" not in store.names()
    rendered = store.render("thanks", _context())
    assert rendered.subject == "Thank you, Ann <Smith> & Co"
    assert "1200.00 EUR" in (rendered.html or "") and "Ann &lt;Smith&gt;" in (rendered.html or "")


def test_unknown_template_and_undefined_variable_are_user_errors(tmp_path: Path) -> None:
    store = TemplateStore(user_dir=tmp_path)
    with pytest.raises(UserError) as err:
        store.render("reminder-du", _context())
    assert "reminder-due" in err.value.suggestions
    (tmp_path / "broken.subject.j2").write_text("{{ customer.nmae }}")
    (tmp_path / "broken.txt.j2").write_text("x")
    with pytest.raises(UserError, match=r"broken\.subject\.j2"):
        store.render("broken", _context())
    (tmp_path / "syntax.subject.j2").write_text("{% if %}")
    (tmp_path / "syntax.txt.j2").write_text("x")
    with pytest.raises(UserError, match="line 1"):
        store.render("syntax", _context())


def test_templates_are_sandboxed(tmp_path: Path) -> None:
    (tmp_path / "evil.subject.j2").write_text("{{ customer.__class__.__mro__ }}")
    (tmp_path / "evil.txt.j2").write_text("x")
    with pytest.raises(UserError):
        TemplateStore(user_dir=tmp_path).render("evil", _context())


def test_discount_offer_uses_offer_when_given(tmp_path: Path) -> None:
    store = TemplateStore(user_dir=tmp_path)
    offer = {"percent": "15", "code": "THANKS15", "valid_until": "2026-07-31"}
    rendered = store.render("discount-offer", _context(extra={"offer": offer}))
    assert "15%" in rendered.subject and "THANKS15" in rendered.text
    assert "2026-07-31" in (rendered.html or "")


def test_module_level_render_uses_the_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENINVOICE_CONFIG", str(tmp_path / "config.toml"))
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "reminder-due.subject.j2").write_text("Mine")
    assert set(available_templates()) == EXPECTED_BUILTINS
    assert render("reminder-due", _context()).subject == "Mine"


def test_template_for_stage() -> None:
    names = EXPECTED_BUILTINS
    assert template_for_stage("before-3", names=names) == "reminder-before"
    assert template_for_stage("due", names=names) == "reminder-due"
    assert template_for_stage("after-7", names=names) == "reminder-overdue-7"
    assert template_for_stage("after-14", names=names) == "reminder-overdue-14"
    assert template_for_stage("after-30", names=names) == "reminder-overdue-30"
    assert template_for_stage("after-20", names=names) == "reminder-overdue-14"
    assert template_for_stage("after-3", names=names) == "reminder-overdue-7"
    assert template_for_stage("repeat-44", names=names) == "reminder-repeat"
    assert template_for_stage("after-7", summary=True, names=names) == "reminder-summary"


def test_rendered_template_sent_end_to_end(smtp_server: SmtpTestServer, tmp_path: Path) -> None:
    rendered = TemplateStore(user_dir=tmp_path).render("reminder-summary", _context())
    mailer = SmtpMailer(SmtpSettings.from_url(smtp_server.url), FROM)
    msg = mailer.compose(
        to_email="ann@example.com",
        to_name="Ann <Smith> & Co",
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        headers={"X-OpenInvoice-Template": "reminder-summary"},
    )
    assert mailer.send(msg).sent
    got = smtp_server.wait_for(1)[0].message
    assert got["Subject"] == rendered.subject
    plain = got.get_body(("plain",))
    assert plain is not None and _lf(plain.get_content()) == rendered.text
    assert got["To"].addresses[0].display_name == "Ann <Smith> & Co"
