"""Carts in Redis: one hash per cart (`cart:{owner}` → line → quantity) whose TTL every write
refreshes. Changes run as Lua scripts, so concurrent edits of one cart are atomic.

A line's hash field is `"<product id>"` for the product's default variant (variant key 0: exactly
what carts from before variants hold) and `"<product id>:<variant id>"` for any other variant.

The cart limits are the core's (`shop_core.domain.cart`: `within_line_maximum`, `has_room_for`);
the scripts repeat those two comparisons in Lua because only inside a script are the check and the
write one step, which is what keeps concurrent adds within the limits. They report which limit was
hit (-1 lines, -2 quantity); the core decides what the customer is told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from shop_core.adapters.redis_errors import reachable
from shop_core.domain.cart import (
    DEFAULT_VARIANT,
    CartLimits,
    CartSnapshot,
    LineKey,
    is_expired,
    within_line_maximum,
)
from shop_core.ports.cart import CartLimitReached

UPDATED = "updated_at"
VOUCHER = "voucher"  # the hash field of the cart's voucher code (not a line)
# Every script first drops a cart whose `updated_at` is a TTL or more before `now`: Redis expires
# keys on its own clock, but the stores agree to treat a cart as gone from the caller's `now`.
_FRESH = """
local function fresh(key, ttl, now)
  local stamp = redis.call('HGET', key, 'updated_at')
  if stamp and tonumber(stamp) + tonumber(ttl) * 1000000 <= tonumber(now) then
    redis.call('DEL', key)
  end
end
"""
# KEYS[1] cart; ARGV: line (its hash field), quantity, max quantity, max lines, ttl seconds, now (epoch µs)
# `lines >= max lines` is the core's has_room_for, `new > max quantity` its within_line_maximum.
_ADD = (
    _FRESH
    + """
fresh(KEYS[1], ARGV[5], ARGV[6])
local have = redis.call('HEXISTS', KEYS[1], ARGV[1])
local lines = redis.call('HLEN', KEYS[1]) - redis.call('HEXISTS', KEYS[1], 'updated_at')
  - redis.call('HEXISTS', KEYS[1], 'voucher')
if have == 0 and lines >= tonumber(ARGV[4]) then
  return -1
end
local new = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
if new > tonumber(ARGV[3]) then
  if redis.call('HINCRBY', KEYS[1], ARGV[1], -tonumber(ARGV[2])) <= 0 then
    redis.call('HDEL', KEYS[1], ARGV[1])
  end
  return -2
end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[6])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return new
"""
)
_SET = (
    _FRESH
    + """
fresh(KEYS[1], ARGV[5], ARGV[6])
local have = redis.call('HEXISTS', KEYS[1], ARGV[1])
local lines = redis.call('HLEN', KEYS[1]) - redis.call('HEXISTS', KEYS[1], 'updated_at')
  - redis.call('HEXISTS', KEYS[1], 'voucher')
if have == 0 and lines >= tonumber(ARGV[4]) then
  return -1
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2], 'updated_at', ARGV[6])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""
)
# KEYS[1] cart; ARGV: line (its hash field), ttl seconds, now (epoch µs)
_REMOVE = (
    _FRESH
    + """
fresh(KEYS[1], ARGV[2], ARGV[3])
local gone = redis.call('HDEL', KEYS[1], ARGV[1])
if gone == 1 then
  redis.call('HSET', KEYS[1], 'updated_at', ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return gone
"""
)


# KEYS[1] cart; ARGV: voucher code ('' takes it off), ttl seconds, now (epoch µs)
_VOUCHER = (
    _FRESH
    + """
fresh(KEYS[1], ARGV[2], ARGV[3])
if ARGV[1] == '' then
  redis.call('HDEL', KEYS[1], 'voucher')
else
  redis.call('HSET', KEYS[1], 'voucher', ARGV[1])
end
redis.call('HSET', KEYS[1], 'updated_at', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""
)


class RedisCartStore:
    def __init__(self, client: Redis, prefix: str = "shop:") -> None:
        self._redis = client
        self._prefix = prefix
        self._add = client.register_script(_ADD)
        self._set = client.register_script(_SET)
        self._remove = client.register_script(_REMOVE)
        self._voucher = client.register_script(_VOUCHER)

    def _key(self, owner: str) -> str:
        return f"{self._prefix}cart:{owner}"

    async def get(self, owner: str, now: datetime, limits: CartLimits) -> CartSnapshot | None:
        async with reachable("Carts are"):
            raw = await self._redis.hgetall(self._key(owner))
        return _snapshot(raw, now, limits)

    async def take(self, owner: str, now: datetime, limits: CartLimits) -> CartSnapshot | None:
        async with reachable("Carts are"), self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(self._key(owner))
            pipe.delete(self._key(owner))
            raw, _ = await pipe.execute()
        return _snapshot(raw, now, limits)

    async def add(self, owner: str, line: LineKey, quantity: int, now: datetime, limits: CartLimits) -> int:
        async with reachable("Carts are"):
            result = int(
                await self._add(keys=[self._key(owner)], args=self._args(line, quantity, now, limits))
            )
        if result < 0:
            raise CartLimitReached(lines=result == -1)
        return result

    async def set(self, owner: str, line: LineKey, quantity: int, now: datetime, limits: CartLimits) -> None:
        if not within_line_maximum(quantity, limits):
            raise CartLimitReached(lines=False)
        if quantity <= 0:
            await self.remove(owner, line, now, limits)
            return
        async with reachable("Carts are"):
            result = int(
                await self._set(keys=[self._key(owner)], args=self._args(line, quantity, now, limits))
            )
        if result < 0:
            raise CartLimitReached(lines=True)

    async def remove(self, owner: str, line: LineKey, now: datetime, limits: CartLimits) -> bool:
        args: list[int | str] = [field_of(line), int(limits.ttl.total_seconds()), _micros(now)]
        async with reachable("Carts are"):
            return bool(await self._remove(keys=[self._key(owner)], args=args))

    async def set_voucher(self, owner: str, code: str | None, now: datetime, limits: CartLimits) -> None:
        args: list[int | str] = [code or "", int(limits.ttl.total_seconds()), _micros(now)]
        async with reachable("Carts are"):
            await self._voucher(keys=[self._key(owner)], args=args)

    async def clear(self, owner: str) -> None:
        async with reachable("Carts are"):
            await self._redis.delete(self._key(owner))

    async def purge_expired(self, now: datetime, limits: CartLimits) -> int:
        return 0  # Redis expires carts by itself

    def _args(self, line: LineKey, quantity: int, now: datetime, limits: CartLimits) -> list[int | str]:
        ttl = int(limits.ttl.total_seconds())
        return [field_of(line), quantity, limits.max_quantity, limits.max_lines, ttl, _micros(now)]


def field_of(line: LineKey) -> str:
    """A line's hash field: the product id alone for its default variant (as before variants)."""
    product_id, variant_key = line
    return str(product_id) if variant_key == DEFAULT_VARIANT else f"{product_id}:{variant_key}"


def line_of(field: str) -> LineKey:
    """What `field_of` wrote (a plain product id, as carts from before variants hold, is key 0)."""
    product_id, _, variant_key = field.partition(":")
    return int(product_id), int(variant_key) if variant_key else DEFAULT_VARIANT


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _snapshot(raw: dict[Any, Any], now: datetime, limits: CartLimits) -> CartSnapshot | None:
    texts = {_text(k): _text(v) for k, v in raw.items()}
    if not texts:
        return None
    voucher = texts.pop(VOUCHER, None)
    fields = {k: int(v) for k, v in texts.items()}
    stamp = fields.pop(UPDATED, None)
    updated = _EPOCH + timedelta(microseconds=stamp) if stamp is not None else now
    if is_expired(updated, now, limits):
        return None
    return CartSnapshot(
        lines={line_of(k): v for k, v in fields.items()}, updated_at=updated, voucher_code=voucher
    )


def _text(value: Any) -> str:
    return str(value, "utf-8") if isinstance(value, bytes) else str(value)


def _micros(moment: datetime) -> int:
    """Exact microseconds since the epoch (no float rounding)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)
