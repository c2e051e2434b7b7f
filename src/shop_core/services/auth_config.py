from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AuthConfig:
    """Token lifetimes and the failed-login lockout, from settings."""

    access_ttl: int = 900
    refresh_ttl: int = 604_800
    max_failed_logins: int = 5
    failed_login_window: int = 900
