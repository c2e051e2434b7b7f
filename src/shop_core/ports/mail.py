"""Sending email: one message, its plain-text and HTML bodies, and its attachments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


class MailError(Exception):
    """The mail server refused the message or could not be reached (the caller may retry)."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str  # "application/pdf"


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()


class Mailer(Protocol):
    async def send(self, email: Email) -> None:
        """Deliver `email` (from the shop's configured sender); MailError when it cannot."""
        ...


class EmailRenderer(Protocol):
    def render(self, template: str, context: Mapping[str, object]) -> str:
        """The named template (`"welcome.txt"`, `"welcome.html"`) filled with `context`.

        Templates ending in `.html` escape every value they insert; `.txt` templates insert values
        as they are. A name the renderer doesn't know, or a value a template needs but `context`
        lacks, raises (a template bug must not go out as a half-empty email)."""
        ...
