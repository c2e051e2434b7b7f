"""The checkout reference: `POST /api/orders/` as one bare asyncpg transaction.

Decodes the shop's request body with msgspec, then, in one transaction on the shop's own tables:
one conditional `UPDATE products … WHERE stock_quantity >= $2 RETURNING …` per line in product-id
order (as the shop does, so concurrent orders lock rows in the same order), one `orders` row with
the totals computed from the returned prices (the shop's defaults: no tax, no shipping) and the
`order_lines` rows in one `executemany`. Answers 201 with `{id, order_number, total_price}`.

No authentication, no Idempotency-Key, no order event, no stock movement, no domain objects: the
bare transaction, which `bench/run.py` compares the shop's order placement to.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import asyncpg
import msgspec
from litestar import MediaType, Request, Response, post
from litestar.datastructures import State

TAKE_SQL = """
UPDATE products SET stock_quantity = stock_quantity - $2, updated_at = $3
WHERE id = $1 AND is_active IS true AND stock_quantity >= $2
RETURNING price, discount_percentage, name, sku
"""
ORDER_SQL = """
INSERT INTO orders (number, user_id, status, payment_status, payment_method, currency, subtotal,
                    discount_amount, tax_amount, shipping_cost, total_price, shipping_address,
                    billing_address, created_at, updated_at, version)
VALUES ($1, $2, 'pending', 'unpaid', $3, 'USD', $4, $5, 0, 0, $6, $7, $7, $8, $8, 1)
RETURNING id
"""
LINE_SQL = """
INSERT INTO order_lines (order_id, product_id, product_name, sku, unit_price, quantity, line_total,
                         discount_amount, tax_amount)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0)
"""
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
METHODS = frozenset({"stripe", "sslcommerz", "cod"})


class Item(msgspec.Struct):
    product_id: int
    quantity: int


class Address(msgspec.Struct):
    full_name: str
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str = ""
    phone: str = ""


class PlaceOrder(msgspec.Struct):
    items: list[Item]
    shipping_address: Address
    payment_method: str


class Placed(msgspec.Struct):
    id: int
    order_number: str
    total_price: str


_decode = msgspec.json.Decoder(PlaceOrder).decode
_encode = msgspec.json.Encoder().encode


def _fail(status: int, detail: str) -> Response[bytes]:
    return Response(_encode({"detail": detail}), status_code=status, media_type=MediaType.JSON)


@post("/api/orders/", status_code=201)
async def place_order(request: Request[None, None, State], state: State) -> Response[bytes]:
    """The shop's `POST /api/orders/` without its layers (see the module's docstring)."""
    try:
        order = _decode(await request.body())
    except msgspec.ValidationError as exc:
        return _fail(400, str(exc))
    wanted: dict[int, int] = {}
    for item in order.items:
        wanted[item.product_id] = wanted.get(item.product_id, 0) + item.quantity
    if not wanted or order.payment_method not in METHODS or min(wanted.values()) < 1:
        return _fail(400, "The order cannot be placed as sent.")
    pool: asyncpg.Pool = state.pool
    if not state.get("user_ids"):  # no auth: the orders go round the accounts there are
        state.user_ids = [r[0] for r in await pool.fetch("SELECT id FROM users ORDER BY id")]
        state.next_user = 0
        if not state.user_ids:
            return _fail(409, "There is no user to place the order for.")
    users: list[int] = state.user_ids
    state.next_user = (state.next_user + 1) % len(users)
    user_id = users[state.next_user]
    address = msgspec.json.encode(msgspec.structs.asdict(order.shipping_address)).decode()
    now = datetime.now(UTC)
    number = f"ORD-{now.year}-{''.join(secrets.choice(ALPHABET) for _ in range(8))}"
    async with pool.acquire() as conn, conn.transaction():
        lines = []
        subtotal = discount_total = 0
        for product_id, quantity in sorted(wanted.items()):
            row = await conn.fetchrow(TAKE_SQL, product_id, quantity, now)
            if row is None:
                raise Short(product_id)  # rolls the transaction back
            price, discount, name, sku = row
            final = (price * (10_000 - discount) + 5_000) // 10_000  # half-up, as the shop
            line_total, line_discount = price * quantity, (price - final) * quantity
            subtotal += line_total
            discount_total += line_discount
            lines.append((product_id, name, sku, price, quantity, line_total, line_discount))
        total = subtotal - discount_total
        order_id = await conn.fetchval(
            ORDER_SQL, number, user_id, order.payment_method, subtotal, discount_total, total, address, now
        )
        await conn.executemany(LINE_SQL, [(order_id, *line) for line in lines])
    body = _encode(Placed(order_id, number, f"{total // 100}.{total % 100:02d}"))
    return Response(body, status_code=201, media_type=MediaType.JSON)


class Short(Exception):
    def __init__(self, product_id: int) -> None:
        super().__init__(f"product {product_id} is out of stock or unknown")
        self.product_id = product_id


def short_handler(_request: Request[None, None, State], exc: Short) -> Response[bytes]:
    return _fail(409, str(exc))
