"""One tree of domain errors; every driver maps it once (HTTP status, CLI exit code, failed job)."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the shop raises on purpose."""

    code = "error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(DomainError):
    """The input breaks a rule; `errors` names the fields and what is wrong with each."""

    code = "invalid"

    def __init__(self, detail: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or {}

    @classmethod
    def field(cls, name: str, message: str) -> InvalidInput:
        return cls(message, {name: [message]})


class InvalidToken(InvalidInput):
    """A one-time token (a password-reset link's) that is unknown, already used or expired."""

    code = "invalid_token"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class AuthenticationFailed(DomainError):
    """Missing, wrong, expired or revoked credentials."""

    code = "not_authenticated"


class PermissionDenied(DomainError):
    code = "permission_denied"


class TooManyAttempts(DomainError):
    """Too many failures; try again after `retry_after` seconds."""

    code = "too_many_attempts"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class ServiceUnavailable(DomainError):
    """A dependency the use case needs is down."""

    code = "service_unavailable"

    def __init__(self, detail: str, retry_after: int = 5) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class GatewayUnavailable(DomainError):
    """A payment gateway did not answer, or answered with an error we could not act on."""

    code = "gateway_error"


class PaymentDeclined(DomainError):
    """The gateway refused the customer's payment details; they may try again."""

    code = "payment_declined"
