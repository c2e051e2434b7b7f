"""The `Mailer` port for development: every email goes to the log instead of a mail server.

The embedded default when `SHOP_SMTP_URL` is unset. Each email is one INFO record on the
`shop.mail` logger with the sender, recipient, subject, the plain-text body and the attachments'
names and sizes (never their bytes, never the HTML part). The shop never puts a password in an
email, so none is logged; but a body may hold a single-use link — a password-reset link lets
whoever reads the log reset that account until it expires. That is the point in a development
console; don't run production with this mailer (configure SMTP instead).
"""

from __future__ import annotations

import logging

from shop_core.ports.mail import Email

log = logging.getLogger("shop.mail")


class ConsoleMailer:
    def __init__(self, sender: str) -> None:
        self._sender = sender

    async def send(self, email: Email) -> None:
        attachments = ", ".join(f"{a.filename} ({len(a.content)} bytes)" for a in email.attachments)
        log.info(
            "mail from %s to %s: %s\nattachments: %s\n\n%s",
            self._sender,
            email.to,
            email.subject,
            attachments or "none",
            email.text,
        )
