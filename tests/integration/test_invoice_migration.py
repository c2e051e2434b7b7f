"""Revision 0009: invoice PDFs kept before it (which could say "unpaid" after the payment, and
lacked Bengali text) are dropped, to be rendered again; their numbers stay."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from shop_core.bootstrap import migrate
from tests.conftest import make_settings


async def test_0009_drops_the_kept_pdfs_and_keeps_the_numbers(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    settings = make_settings(url)
    await asyncio.to_thread(migrate, settings, "upgrade", "0008")
    engine = create_async_engine(url, poolclass=NullPool)  # SQLite: foreign keys not enforced here
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO invoices (order_id, year, sequence, issued_at, pdf) "
                    "VALUES (7, 2026, 42, :at, :pdf)"
                ),
                {"at": datetime(2026, 5, 1, tzinfo=UTC), "pdf": b"%PDF-1.3 Payment status: unpaid"},
            )

        assert await asyncio.to_thread(migrate, settings, "upgrade", "0009") == "0009"

        async with engine.connect() as conn:
            rows = (await conn.execute(sa.text("SELECT order_id, year, sequence, pdf FROM invoices"))).all()
        assert [tuple(row) for row in rows] == [(7, 2026, 42, None)]
        assert await asyncio.to_thread(migrate, settings, "downgrade", "0008") == "0008"
    finally:
        await engine.dispose()
