"""Deep pages of the public product list (active products by id) without skipping every earlier row.

`product_id_blocks` counts the active products of each block of `BLOCK` consecutive ids (kept by
the triggers of migration 0020, in the transaction of every insert, delete and (de)activation).
To find the ids of the page at OFFSET n, a running sum over the blocks (about a thousand rows at a
million products) finds the block the n-th active product is in and how many of that block's
come before it; the page is then read from that block's first id with an OFFSET below `BLOCK`, by
an index-only scan of `ix_products_active_id`. So page 5,000 costs about what page 1 does: the
DRF page numbers stay, and keyset pagination works under them.

Other lists (a category, a search, prices, another order) pick their page's ids from their narrow
index with a plain OFFSET (see `catalog_reader._list_statements`).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shop_core.adapters.sql.orm import BLOCK, product_id_blocks, products

_B = product_id_blocks.c


def page_ids_by_blocks() -> sa.Select[Any]:
    """The ids (a column `id`) of the active products at `offset` (by id), `limit` of them."""
    offset = sa.bindparam("offset", type_=sa.Integer)
    upto = sa.func.sum(_B.active).over(order_by=_B.block)
    blocks = sa.select(_B.block, _B.active, upto.label("upto")).subquery("blocks")
    start = (
        sa.select(
            (blocks.c.block * BLOCK).label("first_id"),
            (offset - (blocks.c.upto - blocks.c.active)).label("skip"),
        )
        .where(blocks.c.upto > offset)
        .order_by(blocks.c.block)
        .limit(1)
        .cte("start")
    )
    return (
        sa.select(products.c.id.label("id"))
        .where(products.c.is_active.is_(True), products.c.id >= sa.select(start.c.first_id).scalar_subquery())
        .order_by(products.c.id)
        # Past the end there is no block: no first id (no rows), and no skip (SQLite wants a number).
        .offset(sa.func.coalesce(sa.select(start.c.skip).scalar_subquery(), 0))
        .limit(sa.bindparam("limit", type_=sa.Integer))
    )
