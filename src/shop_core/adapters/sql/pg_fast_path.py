"""The PostgreSQL fast path: every statement the repositories send straight through asyncpg.

SQLAlchemy's per-statement work costs several times what asyncpg itself does; on the order
placement path (a handful of statements per order, every order) and on the user lookup that every
authenticated request makes, the repositories send these statements through the session's asyncpg
connection instead, inside the same transaction the unit of work commits or rolls back. Everywhere
else, and on SQLite, they use SQLAlchemy as usual.

    fast = await pg_fast_path(session)      # None unless the database is PostgreSQL (asyncpg)
    if fast is not None:
        row = await fast.take_stock(product_id, quantity, now)

The asyncpg connection comes from SQLAlchemy's public `driver_connection`. One thing has no public
API: SQLAlchemy begins its asyncpg transaction lazily, on its first statement, so a statement sent
before it would be autocommitted. `_begin_sqlalchemy_transaction` is the one place that reaches
into SQLAlchemy's adapter to begin it; `SQLALCHEMY_PRIVATE_API` names what it uses, and a test
checks that the installed SQLAlchemy still has it (and that a statement sent here rolls back with
the unit of work).

Positional parameters (`$1`, `$2`, ...) are numbered by `_Parameters` from the column lists below,
never by hand; every value is a parameter, and the statements are built once, at import.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shop_core.adapters.sql.orm import Hundredths, order_events, users
from shop_core.domain.jobs import Job
from shop_core.domain.orders import OrderEvent, OrderLine
from shop_core.domain.stock import OrderStockMovement
from shop_core.domain.tax import rate_bp

SQLALCHEMY_PRIVATE_API = ("_transaction", "_start_transaction")
"""What `_begin_sqlalchemy_transaction` uses of SQLAlchemy's asyncpg connection adapter
(`sqlalchemy.dialects.postgresql.asyncpg.AsyncAdapt_asyncpg_connection`): nothing else here is
private."""

_SESSION_KEY = "shop.pg_fast_path"  # where a session keeps its PgFastPath (or None: not PostgreSQL)


async def _begin_sqlalchemy_transaction(adapted: Any) -> None:
    """Begin the asyncpg transaction SQLAlchemy would begin on its next statement, unless it has.

    The one use of SQLAlchemy's private API (see SQLALCHEMY_PRIVATE_API): what the adapter's own
    cursor does before each statement. Once begun, SQLAlchemy's later statements run in it, and the
    unit of work's commit or rollback ends it."""
    if adapted._transaction is None:
        await adapted._start_transaction()


# --- positional parameters -----------------------------------------------------------------------


@dataclass
class _Parameters:
    """Hands out `$n` placeholders in the order first asked for, one per name: asking again for a
    name gives its number again. `names` is then the order of the values to send."""

    names: list[str] = field(default_factory=list)
    """The names of $1, $2, ...: may be given up front, to number them in that order."""

    def __call__(self, name: str, cast: str = "") -> str:
        if name not in self.names:
            self.names.append(name)
        placeholder = f"${self.names.index(name) + 1}"
        return f"{placeholder}::{cast}" if cast else placeholder

    def values(self, given: Mapping[str, Any]) -> list[Any]:
        """The values in placeholder order (every name must be given)."""
        return [given[name] for name in self.names]


@dataclass(frozen=True)
class _Column:
    """A column filled from an array parameter (`unnest($n::type[], ...)`), one value per row."""

    parameter: str  # `table.column`
    name: str
    sql_type: str
    value: Callable[[Any], Any]  # a row's value, from the domain object


def _column(table: str, name: str, sql_type: str, value: Callable[[Any], Any] | None = None) -> _Column:
    return _Column(f"{table}.{name}", name, sql_type, value or attrgetter(name))


def _names(columns: Iterable[_Column]) -> str:
    return ", ".join(c.name for c in columns)


def _arrays(parameters: _Parameters, columns: Sequence[_Column]) -> str:
    return ", ".join(parameters(c.parameter, f"{c.sql_type}[]") for c in columns)


def _array_values(columns: Sequence[_Column], rows: Sequence[Any]) -> dict[str, list[Any]]:
    return {c.parameter: [c.value(row) for row in rows] for c in columns}


def _clipped(column: str) -> Callable[[Any], str]:
    """An order event's text field cut to its column's length (as the SQLAlchemy path does)."""
    length: int = order_events.c[column].type.length  # type: ignore[attr-defined]
    get = attrgetter(column)
    return lambda event: get(event)[:length]


# --- the order placement: the order, its lines, stock movements, events, key and voucher use in one
# statement ---------------------------------------------------------------------------------------
# The voucher's use (`vc`, `vs`, `vh`, `vu`): a voucher with a `usage_limit` counts it on its own
# row. Usually that use was held before the order's transaction began (`hold_voucher_use`, committed
# on its own, so checkouts with the voucher queue on its row for one statement each, not for a
# whole placement): `vh` takes it as counted. Otherwise (`vc`) it is counted here, conditionally,
# and the row stays locked until the commit. A voucher without a limit takes only a share lock on
# its row (`vs`: checkouts do not queue on each other; a staff change of the voucher waits for
# them). Either way the customer's uses are counted under `per_customer_limit` (`vu`), on the
# customer's own row.

ORDER_COLUMNS = (
    "number",
    "user_id",
    "status",
    "payment_status",
    "payment_method",
    "currency",
    "subtotal",
    "discount_amount",
    "tax_amount",
    "shipping_cost",
    "total_price",
    "shipping_address",
    "billing_address",
    "created_at",
    "updated_at",
    "paid_at",
    "delivered_at",
    "version",
    "voucher_id",
    "voucher_code",
    "voucher_discount",
    "shipping_method_id",
    "shipping_method_name",
    "shipping_method_price",
    "shipping_tax",
    "tax_rate_bp",
    "tax_name",
    "prices_include_tax",
)
"""The columns of `orders` an order is inserted with, the keys of the repository's order row."""
_ORDER_PARAMETERS = tuple((f"orders.{c}", c) for c in ORDER_COLUMNS)
_JSON_PARAMETERS = tuple((f"orders.{c}", c) for c in ("shipping_address", "billing_address"))
_LINE_COLUMNS = (
    _column("order_lines", "product_id", "int"),
    _column("order_lines", "variant_id", "int"),
    _column("order_lines", "variant_name", "text"),
    _column("order_lines", "product_name", "text"),
    _column("order_lines", "sku", "text"),
    _column("order_lines", "unit_price", "bigint"),
    _column("order_lines", "quantity", "int"),
    _column("order_lines", "line_total", "bigint"),
    _column("order_lines", "discount_amount", "bigint"),
    _column("order_lines", "tax_amount", "bigint"),
    _column("order_lines", "voucher_discount", "bigint"),
    _column(
        "order_lines",
        "tax_rate_bp",
        "int",
        lambda line: None if line.tax_rate is None else rate_bp(line.tax_rate),
    ),
    _column("order_lines", "tax_name", "text"),
)
_MOVEMENT_COLUMNS = (
    _column("stock_movements", "product_id", "int"),
    _column("stock_movements", "variant_id", "int"),
    _column("stock_movements", "delta", "int"),
    _column("stock_movements", "reason", "text"),
    _column("stock_movements", "balance_after", "int"),
    _column("stock_movements", "actor", "text"),
    _column("stock_movements", "note", "text"),
    _column("stock_movements", "created_at", "timestamptz"),
)
_EVENT_COLUMNS = (
    _column("order_events", "at", "timestamptz"),
    _column("order_events", "actor", "text", _clipped("actor")),
    _column("order_events", "action", "text"),
    _column("order_events", "from_status", "text"),
    _column("order_events", "to_status", "text"),
    _column("order_events", "note", "text", _clipped("note")),
)


def _bp(rate: Decimal | None) -> int | None:
    return None if rate is None else rate_bp(rate)


# The parts both placements share (`_PLACE_ORDER` and `_PLACE_AT_ONCE`), each a CTE built with its
# statement's own parameters: whether the customer is active (`u`), and, once the order is stored
# (`o`), its lines (`l`), events (`e`), the key claimed before it (`k`) and its job (`j`).


def _user_check(p: _Parameters) -> str:
    return f"""u AS (
    SELECT NOT {p("confirm_user", "bool")}
        OR EXISTS (SELECT 1 FROM users WHERE id = {p("orders.user_id")} AND is_active) AS ok
)"""  # noqa: S608


def _order_lines(p: _Parameters) -> str:
    return f"""l AS (
    INSERT INTO order_lines (order_id, {_names(_LINE_COLUMNS)})
    SELECT o.id, x.* FROM o, unnest({_arrays(p, _LINE_COLUMNS)}) AS x
    RETURNING id
)"""  # noqa: S608


def _order_events_and_key(p: _Parameters) -> str:
    return f"""e AS (
    INSERT INTO order_events (order_id, {_names(_EVENT_COLUMNS)})
    SELECT o.id, z.* FROM o, unnest({_arrays(p, _EVENT_COLUMNS)}) AS z
), k AS (
    UPDATE idempotency_keys SET order_id = o.id FROM o
    WHERE idempotency_keys.user_id = o.user_id AND idempotency_keys.key = {p("claimed_key", "text")}
)"""  # noqa: S608


def _order_job(p: _Parameters) -> str:
    return f"""j AS (
    INSERT INTO jobs (name, key, payload, status, attempts, max_attempts, round, created_at, updated_at)
    SELECT {p("job_name", "text")}, {p("job_name", "text")} || ':' || o.id,
        '{{"order_id":' || o.id || '}}', {p("job_status", "text")}, 0,
        {p("job_max_attempts", "int")}, 0, {p("orders.created_at")}, {p("orders.created_at")}
    FROM o WHERE {p("job_name", "text")} IS NOT NULL
    ON CONFLICT (key) DO NOTHING RETURNING id
)"""  # noqa: S608


_place = _Parameters([parameter for parameter, _ in _ORDER_PARAMETERS])  # the order's columns first
# Built from constants only (the column names above and $n placeholders); every value is a parameter.
_PLACE_ORDER = f"""
WITH {_user_check(_place)}, o AS (
    INSERT INTO orders ({", ".join(ORDER_COLUMNS)})
    SELECT {", ".join(_place(parameter) for parameter, _ in _ORDER_PARAMETERS)} FROM u WHERE u.ok
    ON CONFLICT (number) DO NOTHING RETURNING id, user_id
), {_order_lines(_place)}, m AS (
    INSERT INTO stock_movements ({_names(_MOVEMENT_COLUMNS)})
    SELECT y.* FROM o, unnest({_arrays(_place, _MOVEMENT_COLUMNS)}) AS y
), {_order_events_and_key(_place)}, c AS (
    INSERT INTO idempotency_keys (user_id, key, fingerprint, created_at, order_id)
    SELECT o.user_id, {_place("fresh_key", "text")}, {_place("fingerprint", "text")},
        {_place("orders.created_at")}, o.id
    FROM o WHERE {_place("fresh_key", "text")} IS NOT NULL
    ON CONFLICT (user_id, key) DO NOTHING RETURNING 1
), {_order_job(_place)}, vc AS (
    UPDATE vouchers SET used_count = used_count + 1 FROM o
    WHERE vouchers.id = {_place("orders.voucher_id")} AND NOT {_place("voucher_held", "bool")}
        AND vouchers.is_active
        AND vouchers.usage_limit IS NOT NULL AND vouchers.used_count < vouchers.usage_limit
    RETURNING vouchers.id, o.user_id
), vs AS (
    SELECT vouchers.id, o.user_id FROM vouchers, o
    WHERE vouchers.id = {_place("orders.voucher_id")} AND vouchers.is_active AND vouchers.usage_limit IS NULL
    FOR SHARE OF vouchers
), vh AS (
    SELECT {_place("orders.voucher_id")}::int AS id, o.user_id FROM o WHERE {_place("voucher_held", "bool")}
), vu AS (
    INSERT INTO voucher_uses (voucher_id, user_id, count)
    SELECT id, user_id, 1 FROM (
        SELECT id, user_id FROM vc UNION ALL SELECT id, user_id FROM vs UNION ALL SELECT id, user_id FROM vh
    ) AS counted
    ON CONFLICT (voucher_id, user_id) DO UPDATE SET count = voucher_uses.count + 1
    WHERE voucher_uses.count < COALESCE(
        (SELECT per_customer_limit FROM vouchers WHERE vouchers.id = voucher_uses.voucher_id), 2147483647
    )
    RETURNING 1
)
SELECT (SELECT id FROM o), {_place("fresh_key", "text")} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM c),
    {_place("orders.voucher_id")} IS NULL OR EXISTS (SELECT 1 FROM vu),
    (SELECT array_agg(id ORDER BY id) FROM l), (SELECT ok FROM u), (SELECT id FROM j)
"""  # noqa: S608


# --- the other statements ------------------------------------------------------------------------

_claim = _Parameters()
_CLAIM_KEY = (
    "INSERT INTO idempotency_keys (user_id, key, fingerprint, created_at)"  # noqa: S608
    f" VALUES ({_claim('user_id')}, {_claim('key')}, {_claim('fingerprint')}, {_claim('created_at')})"
    " ON CONFLICT (user_id, key) DO NOTHING RETURNING user_id"
)


def _running_sale(products: str, now: str) -> str:
    """The best percentage of the sales running at `now` that cover the product (`products`: the
    name its row goes by): named, or through its category or one above it, as `domain.sales` has
    it (`sale_repository.running_sales_statement` is the same rule for pages). With no sale
    running, an index probe of `sales` and nothing more."""
    return f"""(SELECT max(s.percentage) FROM sales s
     WHERE s.starts_at <= {now} AND s.ends_at > {now}
        AND (EXISTS (SELECT 1 FROM sale_products sp WHERE sp.sale_id = s.id AND sp.product_id = {products}.id)
            OR EXISTS (
                WITH RECURSIVE up(id) AS (
                    SELECT {products}.category_id
                    UNION
                    SELECT c.parent_id FROM categories c JOIN up ON c.id = up.id WHERE c.parent_id IS NOT NULL
                )
                SELECT 1 FROM sale_categories sc
                WHERE sc.sale_id = s.id AND sc.category_id IN (SELECT id FROM up)
            )))"""  # noqa: S608


_take = _Parameters(["product_id", "quantity", "now", "variant_id"])  # $1, $2, $3, $4 in that order
# The variant first (the product's default one when no variant is named), then the product's total:
# the order every stock change takes the two rows in. It also returns the best percentage of the
# sales running now that cover the product (`_running_sale`). One round trip.
_TAKE_STOCK = f"""
WITH v AS (
    UPDATE product_variants SET stock_quantity = stock_quantity - {_take("quantity")},
        updated_at = {_take("now")}
    WHERE product_id = {_take("product_id")}
        AND CASE WHEN {_take("variant_id", "int")} IS NULL THEN is_default
            ELSE id = {_take("variant_id", "int")} END
        AND is_active AND stock_quantity >= {_take("quantity")}
        AND EXISTS (SELECT 1 FROM products WHERE id = {_take("product_id")} AND is_active)
    RETURNING id, stock_quantity, sku, price, options, weight_grams
)
UPDATE products SET stock_quantity = products.stock_quantity - {_take("quantity")},
    updated_at = {_take("now")}
FROM v WHERE products.id = {_take("product_id")}
RETURNING products.id, products.name, v.sku, COALESCE(v.price, products.price),
    products.discount_percentage, products.stock_quantity, v.id, v.stock_quantity,
    products.options, v.options, products.category_id,
    {_running_sale("products", _take("now"))}, v.weight_grams
"""  # noqa: S608

# --- the order placed at once: one read, then one all-or-nothing statement -------------------------
# Most checkouts find things as they are: the lines' products read once, unlocked (`_QUOTE`, the
# same columns as `_TAKE_STOCK` returns, stock as it stands), priced in Python, then taken and stored
# by one statement (`_PLACE_AT_ONCE`) that runs on its own (no BEGIN and COMMIT round trips) and
# writes nothing unless everything it was priced on still holds. When something does not, the
# caller places the order the usual way (`_TAKE_STOCK` and `_PLACE_ORDER` in one transaction).

_quote = _Parameters(["product_ids", "variant_ids", "now"])  # $1, $2, $3
_QUOTE = f"""
SELECT products.id, products.name, v.sku, COALESCE(v.price, products.price),
    products.discount_percentage, products.stock_quantity, v.id, v.stock_quantity,
    products.options, v.options, products.category_id,
    {_running_sale("products", _quote("now"))}, v.weight_grams
FROM unnest({_quote("product_ids", "int[]")}, {_quote("variant_ids", "int[]")}) WITH ORDINALITY
    AS w(product_id, variant_id, n)
JOIN products ON products.id = w.product_id AND products.is_active
JOIN product_variants v ON v.product_id = products.id AND v.is_active
    AND CASE WHEN w.variant_id IS NULL THEN v.is_default ELSE v.id = w.variant_id END
ORDER BY w.n
"""  # noqa: S608

_HUNDREDTHS: Hundredths = Hundredths()  # how `products.discount_percentage` is stored
_UNIQUE_VIOLATION = "23505"  # asyncpg's UniqueViolationError (asyncpg is imported only where installed)
_QUOTED_COLUMNS = (
    _column("quoted", "product_id", "int", attrgetter("id")),
    _column("quoted", "variant_id", "int"),
    _column("quoted", "price", "bigint"),
    _column(
        "quoted", "discount", "int", lambda p: _HUNDREDTHS.process_bind_param(p.discount_percentage, None)
    ),
    _column("quoted", "category_id", "int"),
    _column("quoted", "weight_grams", "int"),
)
"""What a line was priced on (a `TakenProduct` from `_QUOTE`), checked again under the row locks."""
_AT_ONCE_MOVEMENT_COLUMNS = tuple(c for c in _MOVEMENT_COLUMNS if c.name != "balance_after")

_once = _Parameters([parameter for parameter, _ in _ORDER_PARAMETERS])  # the order's columns first
# The lines' rows are locked as `_TAKE_STOCK` locks them, line by line in the order given (the caller
# gives (product, variant) order): the variant, then its product (the nested loop of the two LATERAL
# subqueries). `go` holds when every line still has what it was priced on and the stock, leaving at
# least `low_stock` (so no line's take is a fall below the alert threshold: that is for the usual
# path, which records the alert), the customer is active (when asked) and the voucher is usable:
# its use for everyone already held, or one without a `usage_limit`, still active (share-locked, as
# `_PLACE_ORDER` does), and the customer's uses (`vl`, their row locked after the lines', as the
# usual path locks them) under its `per_customer_limit`. Every write is conditioned on `go`, and a
# key or order number already taken fails the statement with a unique violation, so it writes all
# or nothing; so does a customer's first use racing another of theirs (`vf` inserts their row, it
# does not upsert it: the other order may have used the last of their limit).
_PLACE_AT_ONCE = f"""
WITH {_user_check(_once)}, q AS (
    SELECT * FROM unnest({_arrays(_once, _QUOTED_COLUMNS)}, {_once("quantities", "int[]")}) WITH ORDINALITY
        AS q({_names(_QUOTED_COLUMNS)}, quantity, n)
), lk AS (
    SELECT q.n, q.quantity, v.id AS variant_id, v.product_id,
        v.is_active AND p.is_active AND v.product_id = q.product_id
            AND v.stock_quantity - q.quantity >= GREATEST({_once("low_stock", "int")}, 0)
            AND COALESCE(v.price, p.price) = q.price AND p.discount_percentage = q.discount
            AND p.category_id IS NOT DISTINCT FROM q.category_id
            AND v.weight_grams IS NOT DISTINCT FROM q.weight_grams AS ok
    FROM q
    CROSS JOIN LATERAL (
        SELECT id, product_id, stock_quantity, is_active, price, weight_grams
        FROM product_variants WHERE id = q.variant_id FOR NO KEY UPDATE
    ) AS v
    CROSS JOIN LATERAL (
        SELECT is_active, price, discount_percentage, category_id
        FROM products WHERE id = v.product_id FOR NO KEY UPDATE
    ) AS p
), vs AS (
    SELECT id FROM vouchers
    WHERE id = {_once("orders.voucher_id")} AND is_active AND usage_limit IS NULL
    FOR SHARE
), vl AS (
    SELECT count FROM voucher_uses
    WHERE voucher_id = {_once("orders.voucher_id")} AND user_id = {_once("orders.user_id")}
    FOR UPDATE
), go AS (
    SELECT (SELECT ok FROM u) AND count(*) = {_once("line_count", "int")}
        AND coalesce(bool_and(lk.ok), false)
        AND ({_once("orders.voucher_id")} IS NULL
            OR ({_once("voucher_held", "bool")} OR EXISTS (SELECT 1 FROM vs))
                AND coalesce((SELECT count FROM vl), 0) < coalesce(
                    (SELECT per_customer_limit FROM vouchers WHERE id = {_once("orders.voucher_id")}),
                    2147483647
                )) AS ok
    FROM lk
), tv AS (
    UPDATE product_variants AS v SET stock_quantity = v.stock_quantity - lk.quantity,
        updated_at = {_once("orders.created_at")}
    FROM lk WHERE v.id = lk.variant_id AND (SELECT ok FROM go)
    RETURNING v.id, v.stock_quantity
), tp AS (
    UPDATE products AS p SET stock_quantity = p.stock_quantity - s.quantity,
        updated_at = {_once("orders.created_at")}
    FROM (SELECT product_id, sum(quantity) AS quantity FROM lk GROUP BY product_id) AS s
    WHERE p.id = s.product_id AND (SELECT ok FROM go)
), o AS (
    INSERT INTO orders ({", ".join(ORDER_COLUMNS)})
    SELECT {", ".join(_once(parameter) for parameter, _ in _ORDER_PARAMETERS)} FROM go WHERE go.ok
    RETURNING id, user_id
), {_order_lines(_once)}, m AS (
    INSERT INTO stock_movements ({_names(_AT_ONCE_MOVEMENT_COLUMNS)}, balance_after)
    SELECT y.*, tv.stock_quantity
    FROM o, unnest({_arrays(_once, _AT_ONCE_MOVEMENT_COLUMNS)}) AS y({_names(_AT_ONCE_MOVEMENT_COLUMNS)})
    JOIN tv ON tv.id = y.variant_id
), {_order_events_and_key(_once)}, c AS (
    INSERT INTO idempotency_keys (user_id, key, fingerprint, created_at, order_id)
    SELECT o.user_id, {_once("fresh_key", "text")}, {_once("fingerprint", "text")},
        {_once("orders.created_at")}, o.id
    FROM o WHERE {_once("fresh_key", "text")} IS NOT NULL
), {_order_job(_once)}, vf AS (
    INSERT INTO voucher_uses (voucher_id, user_id, count)
    SELECT {_once("orders.voucher_id")}, o.user_id, 1 FROM o
    WHERE {_once("orders.voucher_id")} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM vl)
), vn AS (
    UPDATE voucher_uses SET count = voucher_uses.count + 1 FROM o
    WHERE voucher_uses.voucher_id = {_once("orders.voucher_id")} AND voucher_uses.user_id = o.user_id
        AND EXISTS (SELECT 1 FROM vl)
)
SELECT (SELECT id FROM o), (SELECT array_agg(id ORDER BY id) FROM l), (SELECT id FROM j)
"""  # noqa: S608

_JOB_COLUMNS = (
    "name",
    "key",
    "payload",
    "status",
    "attempts",
    "max_attempts",
    "round",
    "created_at",
    "updated_at",
)
_job = _Parameters()
_ADD_JOB = (
    f"INSERT INTO jobs ({', '.join(_JOB_COLUMNS)})"  # noqa: S608
    f" VALUES ({', '.join(_job(c) for c in _JOB_COLUMNS)}) ON CONFLICT (key) DO NOTHING RETURNING id"
)

# The relay's mark after it handed jobs to the queue: one statement, atomic on its own, so it needs
# no transaction of its own (no BEGIN and COMMIT round trips) when none is open.
_MARK_QUEUED = "UPDATE jobs SET status = $2, updated_at = $3 WHERE id = ANY($1::int[]) AND status = $4"

_VOUCHER_COLUMNS = (
    "id",
    "code",
    "kind",
    "percentage",
    "amount",
    "min_subtotal",
    "starts_at",
    "ends_at",
    "usage_limit",
    "per_customer_limit",
    "used_count",
    "is_active",
)
"""The `vouchers` columns `voucher_by_code` returns (then `product_ids` and `category_ids`)."""
# The voucher and its restrictions, by code: one round trip (the checkout reads it unlocked; the
# order placement counts its use, last).
_VOUCHER_BY_CODE = f"""
SELECT {", ".join(f"v.{c}" for c in _VOUCHER_COLUMNS)},
    ARRAY(SELECT product_id FROM voucher_products WHERE voucher_id = v.id) AS product_ids,
    ARRAY(SELECT category_id FROM voucher_categories WHERE voucher_id = v.id) AS category_ids
FROM vouchers v WHERE v.code = $1
"""  # noqa: S608

# Checkout's shipping and tax terms for a country (see SqlShippingRepository.destination): a row per
# (method, rate) pair of the country's zone and rates, outer-joined to one row.
_DESTINATION = """
SELECT EXISTS (SELECT 1 FROM shipping_zones) AS any_zone, zc.zone_id, z.name AS zone_name,
    m.id AS method_id, m.name AS method_name, m.price AS method_price, m.free_over AS method_free_over,
    m.min_weight_grams AS method_min_weight_grams, m.max_weight_grams AS method_max_weight_grams,
    m.delivery_days AS method_delivery_days,
    t.id AS rate_id, t.rate_bp, t.name AS rate_name, t.region AS rate_region
FROM (SELECT 1) AS one
LEFT JOIN shipping_zone_countries zc ON zc.country = $1
LEFT JOIN shipping_zones z ON z.id = zc.zone_id
LEFT JOIN shipping_methods m ON m.zone_id = zc.zone_id
LEFT JOIN tax_rates t ON t.country = $1
"""

# A voucher's use for everyone, held before the order's transaction (see `_PLACE_ORDER`), and given
# back when that order was not stored: each a statement of its own, committed at once.
# The hold commits without waiting for its WAL to reach the disk (`synchronous_commit` off for its
# own implicit transaction only). Every checkout with the voucher queues on its row, and a
# synchronous commit kept the row locked for a disk flush each. Nothing is lost that matters: the
# order that rests on the hold commits synchronously later on the same connection, which flushes
# the WAL up to its own commit, the hold's included; a crash before that loses a hold without an
# order, which is what giving it back would have done.
_HOLD_VOUCHER_USE = """
UPDATE vouchers SET used_count = used_count + 1
FROM (SELECT set_config('synchronous_commit', 'off', true)) AS asynchronous_commit
WHERE id = $1 AND is_active AND usage_limit IS NOT NULL AND used_count < usage_limit RETURNING id
"""

_LISTENED_EVENTS = "SELECT events FROM webhook_subscriptions WHERE is_active"

_PEEK_USER = f"SELECT {', '.join(c.name for c in users.c)} FROM users WHERE id = $1"  # noqa: S608


class PgFastPath:
    """The statements above, on the asyncpg connection under one session. The writes run in the
    session's transaction (begun here if SQLAlchemy has not begun it yet)."""

    __slots__ = ("_adapted",)

    def __init__(self, adapted: Any) -> None:
        self._adapted = adapted  # SQLAlchemy's adapter of the asyncpg connection

    async def _in_transaction(self) -> Any:
        await _begin_sqlalchemy_transaction(self._adapted)
        return self._adapted.driver_connection

    async def connection(self) -> Any:
        """The asyncpg connection, in the session's transaction (begun now if it was not): for
        what has no statement here, such as a COPY."""
        return await self._in_transaction()

    async def peek_user(self, user_id: int) -> Any | None:
        """The `users` row (an asyncpg Record), or None; one statement, in the session's transaction
        if one is open, else on its own (authentication makes this lookup on every request)."""
        return await self._adapted.driver_connection.fetchrow(_PEEK_USER, user_id)

    async def listened_events(self) -> list[str]:
        """The `events` (JSON text) of every active webhook subscription; one statement, in the
        session's transaction if one is open, else on its own."""
        rows = await self._adapted.driver_connection.fetch(_LISTENED_EVENTS)
        return [events for (events,) in rows]

    async def take_stock(
        self, product_id: int, quantity: int, now: datetime, variant_id: int | None
    ) -> Any | None:
        """Take `quantity` from an active variant of an active product (None: its default variant)
        if it has that many: (product id, name, the variant's sku, its price, the product's
        discount_percentage in hundredths, the product's stock_quantity after, the variant's id and
        stock_quantity after, the product's options and the variant's, as JSON text, the product's
        category_id, the best running sale's percentage in hundredths or None), or None."""
        connection = await self._in_transaction()
        values = {"product_id": product_id, "quantity": quantity, "now": now, "variant_id": variant_id}
        return await connection.fetchrow(_TAKE_STOCK, *_take.values(values))

    async def quote(self, lines: Sequence[tuple[int, int | None]], now: datetime) -> list[Any] | None:
        """For each line (product id, variant id or None: its default variant), in that order, the
        row `take_stock` would return (stock as it stands), read without a transaction or a lock;
        None when a transaction is open on the connection (the order is then placed in it, the usual
        way). A line whose product or variant is unknown or inactive has no row."""
        connection = self._adapted.driver_connection
        if connection.is_in_transaction():
            return None
        values = {"product_ids": [p for p, _ in lines], "variant_ids": [v for _, v in lines], "now": now}
        rows: list[Any] = await connection.fetch(_QUOTE, *_quote.values(values))
        return rows

    async def place_at_once(
        self,
        order: Mapping[str, Any],
        quoted: Sequence[tuple[Any, int]],
        lines: Sequence[OrderLine],
        movements: Sequence[OrderStockMovement],
        events: Sequence[OrderEvent],
        *,
        claimed_key: str | None,
        fresh_key: str | None,
        fingerprint: str | None,
        confirm_user: bool,
        job: tuple[str, str, int] | None,
        voucher_held: bool,
        low_stock: int,
    ) -> tuple[int, list[int], int | None] | None:
        """Take the `quoted` lines' stock (each a `TakenProduct` as `quote` read it, and the quantity)
        and store the order as `place_order` does, in one statement on its own, all or nothing:
        (the order's id, its lines' ids in the order of `lines`, the job's id), or None, having
        written nothing, when something it was priced on changed, a line has not the stock (or would
        be left with less than `low_stock`), the customer is not active (`confirm_user`), the
        voucher is not usable (or the customer is at their limit of it), the key or the order's
        number is taken, or a transaction is open on the connection."""
        connection = self._adapted.driver_connection
        if connection.is_in_transaction():
            return None
        values = _order_values(
            order,
            lines,
            events,
            claimed_key=claimed_key,
            fresh_key=fresh_key,
            fingerprint=fingerprint,
            confirm_user=confirm_user,
            job=job,
        )
        values |= _array_values(_AT_ONCE_MOVEMENT_COLUMNS, movements)
        values |= _array_values(_QUOTED_COLUMNS, [product for product, _ in quoted])
        values |= {"quantities": [quantity for _, quantity in quoted], "line_count": len(quoted)}
        values |= {"voucher_held": voucher_held, "low_stock": low_stock}
        try:
            order_id, line_ids, job_id = await connection.fetchrow(_PLACE_AT_ONCE, *_once.values(values))
        except Exception as exc:
            if getattr(exc, "sqlstate", None) == _UNIQUE_VIOLATION:
                return None  # the key was someone's, or the number was drawn before: nothing written
            raise
        if order_id is None:
            return None
        return order_id, list(line_ids or []), job_id

    async def voucher_by_code(self, code: str) -> Any | None:
        """The voucher's row (`percentage` in hundredths) with its `product_ids` and
        `category_ids`, or None."""
        return await self._adapted.driver_connection.fetchrow(_VOUCHER_BY_CODE, code)

    async def destination(self, country: str) -> list[Any]:
        """The rows of checkout's shipping and tax terms for the country (asyncpg Records)."""
        rows: list[Any] = await self._adapted.driver_connection.fetch(_DESTINATION, country)
        return rows

    async def hold_voucher_use(self, voucher_id: int) -> bool:
        """Count one use of the active voucher with a `usage_limit`, if one is left, in a statement
        committed on its own. False, holding nothing, when no use is left (or it has no limit, or is
        inactive), or when a transaction is open on the connection: the hold must not wait for it."""
        connection = self._adapted.driver_connection
        if connection.is_in_transaction():
            return False
        return await connection.fetchval(_HOLD_VOUCHER_USE, voucher_id) is not None

    async def claim_key(self, user_id: int, key: str, fingerprint: str, now: datetime) -> bool:
        """Whether this insert claimed the idempotency key (it waits for a concurrent claim)."""
        connection = await self._in_transaction()
        values = {"user_id": user_id, "key": key, "fingerprint": fingerprint, "created_at": now}
        return await connection.fetchval(_CLAIM_KEY, *_claim.values(values)) is not None

    async def add_job(self, job: Job, payload: str) -> int | None:
        """The new job's id, or None when a job with its key exists."""
        connection = await self._in_transaction()
        values = {
            "name": job.name,
            "key": job.key,
            "payload": payload,
            "status": job.status.value,
            "attempts": job.attempts,
            "max_attempts": job.max_attempts,
            "round": job.round,
            "created_at": job.created_at,
            "updated_at": job.updated_at or job.created_at,
        }
        job_id: int | None = await connection.fetchval(_ADD_JOB, *_job.values(values))
        return job_id

    async def mark_queued(self, job_ids: list[int], queued: str, now: datetime, pending: str) -> None:
        """Mark the jobs still `pending` as `queued`: one statement, in the session's transaction if
        one is open, else on its own (the relay's unit of work has nothing else to commit)."""
        await self._adapted.driver_connection.execute(_MARK_QUEUED, job_ids, queued, now, pending)

    async def place_order(
        self,
        order: Mapping[str, Any],
        lines: Sequence[OrderLine],
        movements: Sequence[OrderStockMovement],
        events: Sequence[OrderEvent],
        *,
        claimed_key: str | None,
        fresh_key: str | None,
        fingerprint: str | None,
        confirm_user: bool = False,
        job: tuple[str, str, int] | None = None,
        voucher_held: bool = False,
    ) -> tuple[int | None, bool, bool, list[int], bool, int | None]:
        """Insert the order (its row: `ORDER_COLUMNS`), its lines, movements and events, tie its
        idempotency key to it (the `claimed_key` already claimed, or the `fresh_key` claimed here),
        and count the use of its voucher, if it has one (for everyone and for its customer, each
        only within its limit; `voucher_held`: the use for everyone was counted already, by
        `hold_voucher_use`). Returns the order's id (None: its number is taken, nothing was
        written), whether the fresh key was already someone's (then the order is written all the
        same), whether its voucher's use was counted (True without a voucher), and the lines' ids
        in the order of `lines` (they are numbered as unnest hands them over), and whether the
        order's customer is an active user (always True unless `confirm_user`: then nothing is
        written when it is not; authentication let this statement make its per-request check),
        and the id of the `job` (its name, status and max_attempts) recorded for the order, keyed
        `<name>:<order id>` with the payload `{"order_id": <order id>}` (None: no job, or one with
        that key exists)."""
        connection = await self._in_transaction()
        values = _order_values(
            order,
            lines,
            events,
            claimed_key=claimed_key,
            fresh_key=fresh_key,
            fingerprint=fingerprint,
            confirm_user=confirm_user,
            job=job,
        )
        values |= _array_values(_MOVEMENT_COLUMNS, movements)
        values["voucher_held"] = voucher_held
        order_id, key_taken, voucher_counted, line_ids, user_ok, job_id = await connection.fetchrow(
            _PLACE_ORDER, *_place.values(values)
        )
        return order_id, bool(key_taken), bool(voucher_counted), list(line_ids or []), bool(user_ok), job_id


def _order_values(
    order: Mapping[str, Any],
    lines: Sequence[OrderLine],
    events: Sequence[OrderEvent],
    *,
    claimed_key: str | None,
    fresh_key: str | None,
    fingerprint: str | None,
    confirm_user: bool,
    job: tuple[str, str, int] | None,
) -> dict[str, Any]:
    """The values both placements (`_PLACE_ORDER`, `_PLACE_AT_ONCE`) send alike: the order's row,
    its lines and events, its key, the customer check and its job."""
    values: dict[str, Any] = {parameter: order[column] for parameter, column in _ORDER_PARAMETERS}
    for parameter, column in _JSON_PARAMETERS:
        values[parameter] = json.dumps(order[column])
    values |= _array_values(_LINE_COLUMNS, lines)
    values |= _array_values(_EVENT_COLUMNS, events)
    values |= {"claimed_key": claimed_key, "fresh_key": fresh_key, "fingerprint": fingerprint}
    values["confirm_user"] = confirm_user
    values["job_name"], values["job_status"], values["job_max_attempts"] = job or (None, None, None)
    return values


async def pg_fast_path(session: AsyncSession) -> PgFastPath | None:
    """The fast path of the session's connection; None when the database is not PostgreSQL."""
    if _SESSION_KEY in session.info:
        found: PgFastPath | None = session.info[_SESSION_KEY]
        return found
    connection = await session.connection()
    fast: PgFastPath | None = None
    if connection.dialect.driver == "asyncpg":
        raw = await connection.get_raw_connection()
        fast = PgFastPath(raw.dbapi_connection)
    session.info[_SESSION_KEY] = fast  # the session holds this one connection until it ends
    return fast


def forget_connection(session: AsyncSession) -> None:
    """Drop what `pg_fast_path` kept: the session's transaction ended and with it its hold on the
    connection (the next one may run on another)."""
    session.info.pop(_SESSION_KEY, None)
