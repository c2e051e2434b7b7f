"""Tables, and the imperative mapping of domain dataclasses onto them."""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy.orm import registry

from shop_core.domain.users import Role, User

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
mapper_registry = registry(metadata=metadata)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("username", sa.String(150), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("first_name", sa.String(150), nullable=False, server_default=""),
    sa.Column("last_name", sa.String(150), nullable=False, server_default=""),
    sa.Column("phone", sa.String(32), nullable=False, server_default=""),
    sa.Column(
        "role",
        sa.Enum(Role, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        nullable=False,
    ),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("date_joined", DateTimeUTC(timezone=True), nullable=False),
)

revoked_tokens = sa.Table(
    "revoked_tokens",
    metadata,
    sa.Column("jti", sa.String(64), primary_key=True),
    sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=False, index=True),
)

refresh_families = sa.Table(
    "refresh_families",
    metadata,
    sa.Column("family", sa.String(64), primary_key=True),
    sa.Column("current_jti", sa.String(64), nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=False, index=True),
)

login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("key", sa.String(320), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("window_ends", DateTimeUTC(timezone=True), nullable=False),
)

_mapped = False


def map_domain() -> None:
    """Map the domain dataclasses onto the tables, once per process."""
    global _mapped  # noqa: PLW0603 - SQLAlchemy's mapping is process-wide by nature
    if _mapped:
        return
    mapper_registry.map_imperatively(User, users)
    _mapped = True
