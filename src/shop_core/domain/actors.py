"""Who is acting: every use case that needs to know is given an `Actor`, and the staff-only ones
check it here (`require_staff`), in the core. HTTP guards, CLI checks and workers are a second line,
never the only one."""

from __future__ import annotations

from dataclasses import dataclass

from shop_core.domain.errors import PermissionDenied

STAFF_ONLY = "Only staff may do this."


@dataclass(frozen=True)
class Actor:
    """Who acts: `label` is what audit events and stock movements record."""

    label: str
    user_id: int | None = None
    is_staff: bool = False

    @classmethod
    def user(cls, user_id: int, email: str, *, is_staff: bool) -> Actor:
        """A signed-in customer or staff member (`user:<id> <email>` in the audit trail)."""
        return cls(f"user:{user_id} {email}", user_id, is_staff)

    @classmethod
    def operator(cls, name: str | None = None) -> Actor:
        """Someone running the `shop` command: staff, named `cli` (or `cli:<name>` when named)."""
        return cls("cli" if not name else f"cli:{name}", None, is_staff=True)


SYSTEM = Actor("system", None, is_staff=True)
"""The shop itself: scheduled jobs (expiry, purges) and gateway news."""


def require_staff(actor: Actor, message: str = STAFF_ONLY) -> None:
    """PermissionDenied unless `actor` is staff (or the shop itself)."""
    if not actor.is_staff:
        raise PermissionDenied(message)
