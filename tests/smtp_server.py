"""A real SMTP server for tests (aiosmtpd on 127.0.0.1, a free port) and what it received."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

REFUSED = "nobody@refused.example"
"""A recipient the server refuses (550)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Inbox:
    """What the SMTP server received."""

    envelopes: list[Envelope] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        """An `SHOP_SMTP_URL` that sends here."""
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address == REFUSED:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"

    @property
    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(e.original_content or b"", policy=email.policy.default)  # type: ignore[misc]
            for e in self.envelopes
        ]


def start(inbox: Inbox, **smtp_kwargs: Any) -> Controller:
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port, **smtp_kwargs)
    controller.start()
    return controller


@contextmanager
def running_inbox(**smtp_kwargs: Any) -> Iterator[Inbox]:
    """A server running for the block; the inbox it fills."""
    box = Inbox()
    controller = start(box, **smtp_kwargs)
    try:
        yield box
    finally:
        controller.stop()
