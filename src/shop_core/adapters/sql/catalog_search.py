"""The product list's `search=`: a substring of a product's name, description or sku, or of one of
its other variants' skus, ignoring case; served by an index (migration 0020).

PostgreSQL: one LIKE over `lower(name || chr(1) || description || chr(1) || sku)`, the expression
of a pg_trgm GIN index (chr(1) between the fields: a match cannot span two of them, unless the
search itself holds that control character), OR the product's id among those of the matching
non-default variants (`= ANY(ARRAY(...))`: computed once, so the planner can OR two index scans).
A default variant's sku is always its product's, so its match is the product's own.

SQLite: the FTS5 table `products_search` (trigram tokenizer: a quoted phrase matches as a
substring, ignoring case) for searches of 3 characters or more; a shorter one has no trigram and
is matched by scanning, as before.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shop_core.adapters.sql.orm import product_variants, products

_V = product_variants.c
TRIGRAM = 3
"""The shortest search an FTS5 trigram index can serve."""
_BETWEEN = sa.func.chr(sa.literal_column("1"))  # a literal, as in the index's expression


def searched_text() -> sa.ColumnElement[str]:
    """The expression of PostgreSQL's `ix_products_search` (it must stay the same)."""
    p = products.c
    return sa.func.lower(p.name + _BETWEEN + p.description + _BETWEEN + p.sku)


def search_condition(dialect: str, *, indexed: bool) -> sa.ColumnElement[bool]:
    """Parameters: `pattern` (the lower-cased search as a LIKE pattern, escaped with a backslash)
    and, on SQLite with `indexed`, `phrase` (the search as an FTS5 phrase)."""
    pattern: sa.BindParameter[str] = sa.bindparam("pattern", type_=sa.String)
    variants = sa.select(_V.product_id).where(
        sa.not_(_V.is_default), sa.func.lower(_V.sku).like(pattern, escape="\\")
    )
    if dialect == "postgresql":
        in_variants: Any = sa.any_(sa.func.array(variants.scalar_subquery()))
        return sa.or_(searched_text().like(pattern, escape="\\"), products.c.id == in_variants)
    if indexed:
        table = sa.table("products_search", sa.column("rowid"))
        matched = sa.select(table.c.rowid).where(
            sa.literal_column("products_search").op("MATCH")(sa.bindparam("phrase", type_=sa.String))
        )
        return products.c.id.in_(sa.union(matched, variants))
    return sa.or_(
        sa.func.lower(products.c.name).like(pattern, escape="\\"),
        sa.func.lower(products.c.description).like(pattern, escape="\\"),
        sa.func.lower(products.c.sku).like(pattern, escape="\\"),
        products.c.id.in_(variants),
    )


def phrase(search: str) -> str:
    """The search as an FTS5 phrase: quoted, its quotes doubled."""
    return '"' + search.replace('"', '""') + '"'
