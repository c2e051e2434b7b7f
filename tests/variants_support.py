"""Products with option variants, made the way the staff's variant endpoints will make them: straight
through the repositories (until those endpoints land).

    sizes = await add_variants(shop, product_id, "Size", {"S": 5, "M": 3})   # {"S": id, "M": id}

The product gets the option, a variant per value (sku `<product sku>-<value>`, the stock given), and
loses its default variant (deleted, or with `default="deactivate"` kept but inactive): a product
with options has option variants only, so a line without `variant_id` is ambiguous once it has two.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal

from shop_core.bootstrap import Shop
from shop_core.domain.variants import Variant


async def add_variants(
    shop: Shop,
    product_id: int,
    option: str,
    stock: Mapping[str, int],
    *,
    prices: Mapping[str, int] | None = None,
    default: Literal["delete", "deactivate", "keep"] = "delete",
) -> dict[str, int]:
    """Give the product the option `option` with the values of `stock` (in that order), a variant per
    value holding that stock (priced `prices[value]` in minor units, else at the product's price),
    and drop its default variant as `default` says; the new variants' ids by value. Runs on the
    shop's own event loop (in HTTP tests: through `in_app`)."""
    now = datetime.now(UTC)
    ids: dict[str, int] = {}
    async with shop.ports.uow() as uow:
        product = await uow.products.get(product_id, for_update=True)
        assert product is not None, product_id
        product.options = [{"name": option, "values": list(stock)}]
        await uow.products.save(product)
        for value, quantity in stock.items():
            variant = await uow.variants.add(
                Variant(
                    product_id,
                    f"{product.sku}-{value}",
                    {option: value},
                    price=(prices or {}).get(value),
                    stock_quantity=quantity,
                    created_at=now,
                    updated_at=now,
                )
            )
            assert variant.id is not None
            ids[value] = variant.id
        [standard] = [v for v in await uow.variants.for_product(product_id) if v.is_default]
        if default == "delete":
            await uow.variants.delete(standard)
        elif default == "deactivate":
            standard.is_active = False
            standard.updated_at = now
            await uow.variants.save(standard)
        await uow.commit()
    return ids


async def set_variant_active(shop: Shop, variant_id: int, active: bool) -> None:
    """What staff do when they stop (or start again) selling one variant."""
    async with shop.ports.uow() as uow:
        variant = await uow.variants.get(variant_id)
        assert variant is not None, variant_id
        variant.is_active = active
        await uow.variants.save(variant)
        await uow.commit()


async def variant_stock(shop: Shop, product_id: int) -> dict[int, tuple[int, bool]]:
    """Each variant of the product: (stock, is_active) by id."""
    async with shop.ports.uow() as uow:
        return {
            v.id: (v.stock_quantity, v.is_active)
            for v in await uow.variants.for_product(product_id)
            if v.id is not None
        }


async def default_variant_id(shop: Shop, product_id: int) -> int:
    """The id of the product's default variant (the one a product without options has)."""
    async with shop.ports.uow() as uow:
        [found] = [v.id for v in await uow.variants.for_product(product_id) if v.is_default]
    assert found is not None
    return found
