"""catalog search and scale: an index for `search=`, narrow indexes for the product list's pages,
and exact per-category product counts kept by triggers

- Search (substring, ignoring case, over a product's name, description and sku, and its other
  variants' skus): on PostgreSQL, pg_trgm GIN indexes on `lower(name || chr(1) || description ||
  chr(1) || sku)` (chr(1) keeps a match from spanning two fields) and on the lower-cased sku of
  variants that are not a product's default. On SQLite, an FTS5 table with the trigram tokenizer
  (`products_search`: rowid = product id, name, description, sku), kept in step by triggers.
- `ix_products_active_id` (id, category_id) and `ix_products_active_price` (min_price, id,
  category_id), both WHERE is_active: the public list's pages (by id, by price, by category) are
  picked from these narrow indexes alone (an index-only scan on PostgreSQL), then joined to their
  rows, so a deep page skips index entries, not rows.
- `product_id_blocks`: per block of 1,024 consecutive ids, how many active products it has (a
  deep page of the public list starts from its block: `catalog_paging`), kept by the same triggers.
- `category_product_counts`: per category (0: none), how many products it has, and how many of
  them are active. Triggers on `products` keep it in the same transaction as every insert, delete,
  move to another category and (de)activation; the list's exact `count` sums it over a category's
  descendants instead of counting the products.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

SEARCHED = "lower(name || chr(1) || description || chr(1) || sku)"

_PG_UPSERT = """
    INSERT INTO category_product_counts AS c (category_id, active, total)
    SELECT coalesce(category_id, 0), {sign} count(*) FILTER (WHERE is_active), {sign} count(*)
    FROM {rows} GROUP BY 1 ORDER BY 1
    ON CONFLICT (category_id) DO UPDATE
    SET active = c.active + excluded.active, total = c.total + excluded.total;
    INSERT INTO product_id_blocks AS b (block, active)
    SELECT id / 1024, {sign} count(*) FILTER (WHERE is_active) FROM {rows} GROUP BY 1 ORDER BY 1
    ON CONFLICT (block) DO UPDATE SET active = b.active + excluded.active;
"""
PG_UP = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX ix_products_search ON products USING gin (({SEARCHED}) gin_trgm_ops)",
    "CREATE INDEX ix_product_variants_search ON product_variants USING gin (lower(sku) gin_trgm_ops)"
    " WHERE NOT is_default",
    # Statement triggers with transition tables: a COPY or multi-row INSERT of 5,000 products moves
    # each category's counter once. Counters are taken in category order (no deadlock between two).
    "CREATE FUNCTION products_counted_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    + _PG_UPSERT.format(sign="", rows="new_rows")
    + " RETURN NULL; END $$",
    "CREATE FUNCTION products_counted_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    + _PG_UPSERT.format(sign="-", rows="old_rows")
    + " RETURN NULL; END $$",
    # A row trigger, fired only when the category or the state changes: a stock update (every
    # checkout) never calls it.
    """CREATE FUNCTION products_counted_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO category_product_counts AS c (category_id, active, total)
    SELECT k, sum(a), sum(t) FROM (VALUES
        (coalesce(OLD.category_id, 0), -OLD.is_active::int, -1),
        (coalesce(NEW.category_id, 0), NEW.is_active::int, 1)
    ) AS d (k, a, t) GROUP BY k ORDER BY k
    ON CONFLICT (category_id) DO UPDATE
    SET active = c.active + excluded.active, total = c.total + excluded.total;
    INSERT INTO product_id_blocks AS b (block, active)
    VALUES (NEW.id / 1024, NEW.is_active::int - OLD.is_active::int)
    ON CONFLICT (block) DO UPDATE SET active = b.active + excluded.active;
    RETURN NULL; END $$""",
    "CREATE TRIGGER products_counted_insert AFTER INSERT ON products REFERENCING NEW TABLE AS new_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION products_counted_insert()",
    "CREATE TRIGGER products_counted_delete AFTER DELETE ON products REFERENCING OLD TABLE AS old_rows"
    " FOR EACH STATEMENT EXECUTE FUNCTION products_counted_delete()",
    "CREATE TRIGGER products_counted_update AFTER UPDATE OF category_id, is_active ON products"
    " FOR EACH ROW WHEN (OLD.category_id IS DISTINCT FROM NEW.category_id"
    " OR OLD.is_active IS DISTINCT FROM NEW.is_active) EXECUTE FUNCTION products_counted_update()",
)
PG_DOWN = (
    "DROP TRIGGER IF EXISTS products_counted_update ON products",
    "DROP TRIGGER IF EXISTS products_counted_delete ON products",
    "DROP TRIGGER IF EXISTS products_counted_insert ON products",
    "DROP FUNCTION IF EXISTS products_counted_update()",
    "DROP FUNCTION IF EXISTS products_counted_delete()",
    "DROP FUNCTION IF EXISTS products_counted_insert()",
    "DROP INDEX IF EXISTS ix_product_variants_search",
    "DROP INDEX IF EXISTS ix_products_search",
    # pg_trgm stays installed: other objects of the database may use it.
)


_SQLITE_COUNT = (
    "INSERT INTO category_product_counts (category_id, active, total) VALUES ({values}) "
    "ON CONFLICT (category_id) DO UPDATE "
    "SET active = active + excluded.active, total = total + excluded.total;"
)
_SQLITE_BLOCK = (
    "INSERT INTO product_id_blocks (block, active) VALUES ({values}) "
    "ON CONFLICT (block) DO UPDATE SET active = active + excluded.active;"
)
_SQLITE_ADDED = _SQLITE_COUNT.format(
    values="coalesce(NEW.category_id, 0), NEW.is_active, 1"
) + _SQLITE_BLOCK.format(values="NEW.id / 1024, NEW.is_active")
_SQLITE_REMOVED = _SQLITE_COUNT.format(
    values="coalesce(OLD.category_id, 0), -OLD.is_active, -1"
) + _SQLITE_BLOCK.format(values="OLD.id / 1024, -OLD.is_active")
_SQLITE_INDEX = (
    "INSERT INTO products_search (rowid, name, description, sku) "
    "VALUES (NEW.id, NEW.name, NEW.description, NEW.sku);"
)
_SQLITE_UNINDEX = "DELETE FROM products_search WHERE rowid = OLD.id; "
SQLITE_UP = (
    "CREATE VIRTUAL TABLE products_search USING fts5(name, description, sku, tokenize='trigram')",
    "INSERT INTO products_search (rowid, name, description, sku) "
    "SELECT id, name, description, sku FROM products",
    "CREATE TRIGGER products_searched_insert AFTER INSERT ON products BEGIN " + _SQLITE_INDEX + " END",
    "CREATE TRIGGER products_searched_delete AFTER DELETE ON products BEGIN " + _SQLITE_UNINDEX + " END",
    "CREATE TRIGGER products_searched_update AFTER UPDATE OF name, description, sku ON products BEGIN "
    + _SQLITE_UNINDEX
    + _SQLITE_INDEX
    + " END",
    "CREATE TRIGGER products_counted_insert AFTER INSERT ON products BEGIN " + _SQLITE_ADDED + " END",
    "CREATE TRIGGER products_counted_delete AFTER DELETE ON products BEGIN " + _SQLITE_REMOVED + " END",
    "CREATE TRIGGER products_counted_update AFTER UPDATE OF category_id, is_active ON products "
    "WHEN OLD.category_id IS NOT NEW.category_id OR OLD.is_active IS NOT NEW.is_active BEGIN "
    + _SQLITE_REMOVED
    + " "
    + _SQLITE_ADDED
    + " END",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS products_counted_update",
    "DROP TRIGGER IF EXISTS products_counted_delete",
    "DROP TRIGGER IF EXISTS products_counted_insert",
    "DROP TRIGGER IF EXISTS products_searched_update",
    "DROP TRIGGER IF EXISTS products_searched_delete",
    "DROP TRIGGER IF EXISTS products_searched_insert",
    "DROP TABLE IF EXISTS products_search",
)


def upgrade() -> None:
    op.create_table(
        "category_product_counts",
        sa.Column("category_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("active", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("category_id", name=op.f("pk_category_product_counts")),
    )
    op.create_table(
        "product_id_blocks",
        sa.Column("block", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("active", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("block", name=op.f("pk_product_id_blocks")),
    )
    op.execute(
        "INSERT INTO product_id_blocks (block, active) "
        "SELECT id / 1024, sum(CASE WHEN is_active THEN 1 ELSE 0 END) FROM products GROUP BY id / 1024"
    )
    op.execute(
        "INSERT INTO category_product_counts (category_id, active, total) "
        "SELECT coalesce(category_id, 0), sum(CASE WHEN is_active THEN 1 ELSE 0 END), count(*) "
        "FROM products GROUP BY coalesce(category_id, 0)"
    )
    op.create_index(
        "ix_products_active_id",
        "products",
        ["id", "category_id"],
        postgresql_where=sa.text("is_active IS true"),
        sqlite_where=sa.text("is_active IS 1"),
    )
    op.create_index(
        "ix_products_active_price",
        "products",
        ["min_price", "id", "category_id"],
        postgresql_where=sa.text("is_active IS true"),
        sqlite_where=sa.text("is_active IS 1"),
    )
    for statement in PG_UP if op.get_context().dialect.name == "postgresql" else SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in PG_DOWN if op.get_context().dialect.name == "postgresql" else SQLITE_DOWN:
        op.execute(statement)
    op.drop_index("ix_products_active_price", table_name="products")
    op.drop_index("ix_products_active_id", table_name="products")
    op.drop_table("category_product_counts")
    op.drop_table("product_id_blocks")
