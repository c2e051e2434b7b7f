"""Secrets scrubbed from every log line: credentials of the known shapes (bearer tokens, JWTs, URL
passwords, `password=...`, password hashes) and the configured secret values wherever they appear.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable

from shop_core.settings import SECRETS, Settings
from shop_runtime.log_formats import RECORD_FIELDS, message_of, traceback_of

REDACTED = "***"
MIN_SECRET_LENGTH = 6  # shorter configured values are not masked: they would shred every line

_SENSITIVE_NAME = r"[\w.-]*(?:password|passwd|pwd|secret|token|ticket|api[_-]?key|credentials?)[\w.-]*"
_PATTERNS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # `Authorization: Bearer x`, `'authorization': 'Basic x'`, `authorization=x`: the whole value.
    (
        re.compile(r"""(?i)(\bauthorization["']?\s*[:=]\s*["']?)[^"'\r\n,;}]+"""),
        rf"\g<1>{REDACTED}",
    ),
    # A bearer credential wherever it appears.
    (re.compile(r"(?i)\b(bearer\s+)(?!\*\*\*)[A-Za-z0-9._~+/=-]+"), rf"\g<1>{REDACTED}"),
    # JWTs (ours and anyone's): a base64url JSON header and payload, and a signature.
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*"), REDACTED),
    # The password of a URL: `scheme://user:pass@host` → `scheme://user:***@host`.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]*):[^\s@/]+@"), rf"\g<1>:{REDACTED}@"),
    # `password=x`, `"password": "x"`, `'new_password': 'x'`, `?token=x&`, `secret_key: x`, ...
    (
        re.compile(rf"""(?i)(\b{_SENSITIVE_NAME}["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s&,;)}}\]"']+)"""),
        lambda m: m[1] + (m[2][0] + REDACTED + m[2][0] if m[2][0] in "\"'" else REDACTED),
    ),
    # Password hashes.
    (re.compile(r"\$argon2(?:id|i|d)\$(?:[^\s$\"']+\$)*[A-Za-z0-9+/=]+"), f"$argon2{REDACTED}"),
)


# Something each pattern above needs: most lines have none of it, and one search of a character
# class tells (well under a microsecond on an access line, instead of a pass of every pattern).
_CLUES = re.compile(r"[:=@$]|eyJ|(?i:bearer)")


class Redactor:
    """Masks secrets in text: credentials of the known shapes, and the given values (the settings'
    secrets) wherever they appear. The patterns are compiled once."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = tuple(
            sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
        )
        self._values = re.compile("|".join(map(re.escape, self._secrets))) if self._secrets else None

    def __call__(self, text: str) -> str:
        if _CLUES.search(text) is None and not any(secret in text for secret in self._secrets):
            return text
        if self._values is not None:
            text = self._values.sub(REDACTED, text)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    @classmethod
    def of(cls, settings: Settings) -> Redactor:
        """The settings' secret values (SECRETS: the signing key, gateway keys, ...) masked too."""
        values = (getattr(settings, name, None) for name in SECRETS)
        return cls(v for v in values if isinstance(v, str))


class RedactSecrets(logging.Filter):
    """Merges a record's arguments into its message and scrubs it, its traceback and its string
    extra fields, the request id included (in place: a handler after this one sees the scrubbed
    record too)."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(message_of(record))
        record.args = None
        if (exc := traceback_of(record)) is not None:
            record.exc_text = self.redact(exc)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key, value in record.__dict__.items():
            if key not in RECORD_FIELDS and isinstance(value, str):
                record.__dict__[key] = self.redact(value)
        return True
