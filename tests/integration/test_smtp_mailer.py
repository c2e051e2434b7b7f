"""The SMTP mailer against a real SMTP server (aiosmtpd on 127.0.0.1), and the console mailer.

No TLS variant: generating a throwaway certificate needs the `cryptography` package, which the test
extra does not install; the TLS options are checked at construction instead.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from shop_core.adapters.console_mailer import ConsoleMailer
from shop_core.adapters.smtp_mailer import SmtpMailer
from shop_core.bootstrap import bootstrap
from shop_core.ports.mail import Attachment, Email, MailError
from tests.conftest import make_settings
from tests.smtp_server import REFUSED, Inbox, free_port, start

SENDER = "Corner Shop <shop@corner.example>"
USER = "mailer"
PASSWORD = "s3cr3t-p@ss"

# The AUTH test server runs without TLS on purpose (a local relay); aiosmtpd warns about it.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


def authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
    ok = (
        isinstance(data, LoginPassword) and data.login == USER.encode() and data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    controller = start(box)
    yield box
    controller.stop()


@pytest.fixture
def auth_inbox() -> Iterator[Inbox]:
    """A server that requires AUTH (allowed without TLS, as on a local test relay)."""
    box = Inbox()
    controller = start(box, authenticator=authenticate, auth_required=True, auth_require_tls=False)
    yield box
    controller.stop()


def full_email(to: str = "ada@example.com") -> Email:
    return Email(
        to=to,
        subject="Your order ORD-2026-0042 is confirmed — Corner Shop",
        text="Thank you for your order ORD-2026-0042.\n",
        html="<p>Thank you for your order <strong>ORD-2026-0042</strong>.</p>",
        attachments=(
            Attachment("invoice-INV-1.pdf", b"%PDF-1.7\x00\xff binary", "application/pdf"),
            Attachment("notes.csv", b"a,b\n1,2\n", "text/csv"),
        ),
    )


async def test_delivers_a_complete_mime_message(inbox: Inbox) -> None:
    await SmtpMailer(f"smtp://127.0.0.1:{inbox.port}", SENDER).send(full_email())

    [envelope] = inbox.envelopes
    assert envelope.mail_from == "shop@corner.example"
    assert envelope.rcpt_tos == ["ada@example.com"]
    [message] = inbox.messages
    assert message["From"] == SENDER
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "Your order ORD-2026-0042 is confirmed — Corner Shop"
    assert message["Date"]
    assert message["Message-ID"].endswith("@corner.example>")
    assert message.get_content_type() == "multipart/mixed"

    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    assert text.get_content().replace("\r\n", "\n") == "Thank you for your order ORD-2026-0042.\n"
    assert "<strong>ORD-2026-0042</strong>" in html.get_content()

    attachments = {part.get_filename(): part for part in message.iter_attachments()}
    assert set(attachments) == {"invoice-INV-1.pdf", "notes.csv"}
    pdf = attachments["invoice-INV-1.pdf"]
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_content() == b"%PDF-1.7\x00\xff binary"
    assert attachments["notes.csv"].get_content_type() == "text/csv"
    assert attachments["notes.csv"].get_payload(decode=True) == b"a,b\n1,2\n"


async def test_text_only(inbox: Inbox) -> None:
    await SmtpMailer(f"smtp://127.0.0.1:{inbox.port}", SENDER).send(
        Email(to="ada@example.com", subject="Hi", text="Just text.\n")
    )
    [message] = inbox.messages
    assert message.get_content_type() == "text/plain"
    assert message.get_content().replace("\r\n", "\n") == "Just text.\n"


async def test_logs_in_with_the_url_credentials(auth_inbox: Inbox) -> None:
    url = f"smtp://{USER}:{PASSWORD.replace('@', '%40')}@127.0.0.1:{auth_inbox.port}"
    await SmtpMailer(url, SENDER).send(full_email())
    assert [m["Subject"] for m in auth_inbox.messages] == [full_email().subject]


async def test_wrong_password_is_a_mail_error_without_the_password(auth_inbox: Inbox) -> None:
    wrong = "wrong-Pa55word"
    mailer = SmtpMailer(f"smtp://{USER}:{wrong}@127.0.0.1:{auth_inbox.port}", SENDER)
    with pytest.raises(MailError, match="authentication failed") as caught:
        await mailer.send(full_email())
    message = str(caught.value)
    assert wrong not in message
    assert "\n" not in message
    assert wrong not in repr(mailer)
    assert auth_inbox.envelopes == []


async def test_missing_credentials_on_a_server_that_requires_them(auth_inbox: Inbox) -> None:
    with pytest.raises(MailError):
        await SmtpMailer(f"smtp://127.0.0.1:{auth_inbox.port}", SENDER).send(full_email())


async def test_refused_recipient_is_a_mail_error(inbox: Inbox) -> None:
    with pytest.raises(MailError, match=r"recipient refused: 550"):
        await SmtpMailer(f"smtp://127.0.0.1:{inbox.port}", SENDER).send(full_email(to=REFUSED))
    assert inbox.envelopes == []


async def test_server_down_is_a_quick_mail_error() -> None:
    port = free_port()  # nothing listens there
    mailer = SmtpMailer(f"smtp://{USER}:{PASSWORD}@127.0.0.1:{port}", SENDER, timeout=5)
    started = time.monotonic()
    with pytest.raises(MailError, match=f"127.0.0.1:{port}") as caught:
        await mailer.send(full_email())
    assert time.monotonic() - started < 3
    assert PASSWORD not in str(caught.value)
    assert "\n" not in str(caught.value)


async def test_starttls_demanded_but_not_offered_is_a_mail_error(inbox: Inbox) -> None:
    with pytest.raises(MailError):
        await SmtpMailer(f"smtp://127.0.0.1:{inbox.port}?starttls=true", SENDER).send(full_email())
    assert inbox.envelopes == []


async def test_a_server_that_hangs_times_out() -> None:
    with socket.socket() as listener:  # accepts the connection, never greets
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(MailError, match="timed out"):
            await SmtpMailer(f"smtp://127.0.0.1:{port}", SENDER, timeout=0.2).send(full_email())


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://mail.example", "scheme"),
        ("smtp://", "host"),
        ("smtp://mail.example:99999", "port"),
        ("smtps://mail.example?starttls=true", "starttls"),
        ("smtp://mail.example?verify=maybe", "verify"),
        ("smtp://mail.example?tls=1", "unknown option"),
    ],
)
def test_bad_urls_are_refused_without_echoing_them(url: str, error: str) -> None:
    with pytest.raises(ValueError, match=error) as caught:
        SmtpMailer(url.replace("//", f"//{USER}:{PASSWORD}@", 1), SENDER)
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example", "SmtpMailer(smtp://mail.example:25"),
        ("smtps://mail.example", "SmtpMailer(smtps://mail.example:465"),
        (
            f"smtps://{USER}:{PASSWORD}@mail.example:2465?verify=false",
            f"smtps://{USER}:***@mail.example:2465",
        ),
        ("smtp://mail.example:587?starttls=true", "SmtpMailer(smtp://mail.example:587"),
    ],
)
def test_url_forms(url: str, expected: str) -> None:
    assert expected in repr(SmtpMailer(url, SENDER))


async def test_console_mailer_logs_the_email(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="shop.mail")
    await ConsoleMailer(SENDER).send(full_email())
    [record] = [r for r in caplog.records if r.name == "shop.mail"]
    assert record.levelno == logging.INFO
    logged = record.getMessage()
    assert "ada@example.com" in logged
    assert "Your order ORD-2026-0042 is confirmed — Corner Shop" in logged
    assert "Thank you for your order ORD-2026-0042." in logged
    assert "invoice-INV-1.pdf (17 bytes)" in logged
    assert "<strong>" not in logged  # the HTML part is not logged
    assert "%PDF" not in logged  # nor the attachments' bytes


async def test_the_shop_sends_through_smtp_when_configured(sqlite_url: str, inbox: Inbox) -> None:
    settings = make_settings(
        sqlite_url, smtp_url=f"smtp://127.0.0.1:{inbox.port}", mail_from="Corner Shop <hello@corner.test>"
    )
    async with bootstrap(settings) as shop:
        assert shop.ports.mailer is not None
        await shop.ports.mailer.send(Email(to="ada@example.com", subject="Hello", text="Hi Ada"))
    (message,) = inbox.messages
    assert (message["From"], message["To"], message["Subject"]) == (
        "Corner Shop <hello@corner.test>",
        "ada@example.com",
        "Hello",
    )


async def test_without_smtp_the_shop_writes_mail_to_the_log(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="shop.mail")
    async with bootstrap(make_settings(sqlite_url)) as shop:
        assert shop.ports.mailer is not None
        await shop.ports.mailer.send(Email(to="ada@example.com", subject="Hello", text="Hi Ada"))
    assert "ada@example.com" in caplog.text
    assert "Hello" in caplog.text
