"""The `Mailer` port over SMTP with aiosmtplib (the `mail` extra).

The server is one URL (`SHOP_SMTP_URL`):

- `smtp://[user:pass@]host[:port]` — a plain connection (port 25 by default). The mailer does not
  upgrade on its own: add `?starttls=true` to upgrade with STARTTLS (fail if the server can't);
- `smtps://[user:pass@]host[:port]` — TLS from the first byte (implicit TLS, port 465 by default);
- `?verify=false` skips the server certificate check, for development relays with a self-signed
  certificate. It is UNSAFE anywhere else: anyone on the path can read the mail and the password.

User name and password are percent-decoded (`%40` for `@`). Each `send` opens a connection, logs in
when the URL has credentials, sends one message and closes; every failure becomes a one-line
`MailError`. The password never appears in an error, a log line or this object's repr, and the
message body is never logged.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from urllib.parse import parse_qsl, unquote, urlsplit

import aiosmtplib

from shop_core.ports.mail import Email, MailError

log = logging.getLogger("shop.mail")

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _flag(name: str, value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ValueError(f"SMTP URL: {name} must be true or false")


def build_message(email: Email, sender: str) -> EmailMessage:
    """`email` as a MIME message: text, an HTML alternative when given, then the attachments."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = format_datetime(datetime.now(UTC))
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(email.text)
    if email.html is not None:
        message.add_alternative(email.html, subtype="html")
    for attachment in email.attachments:
        maintype, _, subtype = attachment.mime_type.partition("/")
        message.add_attachment(
            attachment.content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return message


class SmtpMailer:
    """Sends each email through the SMTP server at `url`, from `sender` (`SHOP_MAIL_FROM`)."""

    def __init__(self, url: str, sender: str, *, timeout: float = 20.0) -> None:
        # Never put `url` in an error message: it holds the password.
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS:
            raise ValueError("SMTP URL: the scheme must be smtp:// or smtps://")
        if not parts.hostname:
            raise ValueError("SMTP URL: a host is required")
        try:
            port = parts.port
        except ValueError:
            raise ValueError("SMTP URL: the port must be a number from 0 to 65535") from None
        starttls, verify = False, True
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key == "starttls":
                starttls = _flag(key, value)
            elif key == "verify":
                verify = _flag(key, value)
            else:
                raise ValueError(f"SMTP URL: unknown option {key!r} (known: starttls, verify)")
        if starttls and parts.scheme == "smtps":
            raise ValueError("SMTP URL: starttls is for smtp://; smtps:// is TLS already")
        self._host = parts.hostname
        self._port = port or DEFAULT_PORTS[parts.scheme]
        self._implicit_tls = parts.scheme == "smtps"
        self._starttls = starttls
        self._verify = verify
        self._username = unquote(parts.username) if parts.username is not None else None
        self._password = unquote(parts.password) if parts.password is not None else None
        self._sender = sender
        self._timeout = timeout

    def __repr__(self) -> str:
        scheme = "smtps" if self._implicit_tls else "smtp"
        user = f"{self._username}:***@" if self._username is not None else ""
        return f"SmtpMailer({scheme}://{user}{self._host}:{self._port}, sender={self._sender!r})"

    async def send(self, email: Email) -> None:
        message = build_message(email, self._sender)
        client = aiosmtplib.SMTP(
            hostname=self._host,
            port=self._port,
            username=self._username,
            password=self._password,
            use_tls=self._implicit_tls,
            start_tls=self._starttls,
            validate_certs=self._verify,
            timeout=self._timeout,
        )
        try:
            # One deadline for the whole exchange, on top of aiosmtplib's per-operation timeout.
            async with asyncio.timeout(self._timeout * 3), client:
                await client.send_message(message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise MailError(self._describe(exc)) from exc
        log.info("mail sent to %s: %s", email.to, email.subject)

    def _describe(self, exc: BaseException) -> str:
        """One line naming the server and what went wrong, without the password."""
        where = f"SMTP {self._host}:{self._port}"
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            what = f"authentication failed for user {self._username!r} ({exc.code})"
        elif isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
            what = "recipient refused: " + "; ".join(f"{e.code} {e.message}" for e in exc.recipients)
        elif isinstance(exc, aiosmtplib.SMTPResponseException):
            what = f"{type(exc).__name__} {exc.code} {exc.message}"
        elif isinstance(exc, TimeoutError):
            what = f"timed out ({type(exc).__name__})"
        else:
            what = f"{type(exc).__name__}: {exc}"
        line = " ".join(f"{where}: {what}".split())
        if self._password:
            line = line.replace(self._password, "***")
        return line[:500]
