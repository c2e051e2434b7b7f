"""Timed sales on the fakes: staff's use cases (nothing stored on any error), and the prices the
catalog shows while a sale runs, cached and computed again when a sale starts or ends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from shop_core.bootstrap import Shop
from shop_core.domain.actors import Actor
from shop_core.domain.errors import Conflict, InvalidInput, NotFound
from shop_core.services.catalog_commands import CreateCategory, CreateProduct, ProductQuery, UpdateProduct
from shop_core.services.catalog_variants import AddVariant
from shop_core.services.sale_prices import sale_percentages, sale_percentages_of
from shop_core.services.sales import CreateSale, SaleView, UpdateSale
from tests.fakes import FakeCatalogReader, FakeClock, FakeDatabase, fake_shop

STAFF = Actor.operator()
HOUR = timedelta(hours=1)


@dataclass
class Shelf:
    shop: Shop
    db: FakeDatabase
    clock: FakeClock
    ids: dict[str, int]

    @property
    def reader(self) -> FakeCatalogReader:
        reader = self.shop.ports.reader
        assert isinstance(reader, FakeCatalogReader)
        return reader

    def at(self, hours: float) -> datetime:
        return self.clock.now() + hours * HOUR

    async def sale(
        self, percentage: str = "20", starts: float = 0, ends: float = 1, **fields: Any
    ) -> SaleView:
        """A sale from `starts` to `ends` hours from now."""
        given = {
            "name": "Sale",
            "percentage": percentage,
            "starts_at": self.at(starts),
            "ends_at": self.at(ends),
        }
        cmd = msgspec.convert(given | fields, CreateSale, strict=False)
        return await self.shop.sales.create_sale(cmd, STAFF)

    async def detail(self, sku: str, *, staff: bool = False) -> dict[str, Any]:
        found: dict[str, Any] = msgspec.json.decode(
            await self.shop.catalog.get_product(self.ids[sku], staff=staff)
        )
        return found

    async def listed(self, *, staff: bool = False, **query: Any) -> dict[str, dict[str, Any]]:
        page = await self.shop.catalog.list_products(
            msgspec.convert(query, ProductQuery, strict=False), page=1, page_size=50, staff=staff
        )
        return {p["sku"]: p for p in msgspec.json.decode(page.results)}

    async def in_category(self, name: str) -> dict[str, dict[str, Any]]:
        detail = await self.shop.catalog.get_category(self.ids[name], page=1, page_size=50, staff=False)
        return {p["sku"]: p for p in msgspec.json.decode(detail.products.results)}

    async def prices(self, sku: str) -> tuple[str, str, str | None]:
        """(final_price in the detail, in the list, in the category's page), as customers see them."""
        category = "Pots" if sku.startswith("POT") else "Garden"
        return (
            (await self.detail(sku))["final_price"],
            (await self.listed())[sku]["final_price"],
            (await self.in_category(category)).get(sku, {}).get("final_price"),
        )


@pytest.fixture
async def shelf() -> Shelf:
    """Home > Kitchen > Pots, and Garden; a pot (20.00) in Pots, a hose (10.00, 10% off of its own)
    in Garden, and a lid (5.00) in no category."""
    shop, db, clock = fake_shop()
    ids: dict[str, int] = {}
    parent = None
    for name in ("Home", "Kitchen", "Pots"):
        parent = ids[name] = (
            await shop.catalog.create_category(CreateCategory(name=name, parent=parent), STAFF)
        ).id
    ids["Garden"] = (await shop.catalog.create_category(CreateCategory(name="Garden"), STAFF)).id
    for sku, price, category, discount in (
        ("POT", "20.00", "Pots", "0"),
        ("HOSE", "10.00", "Garden", "10"),
        ("LID", "5.00", None, "0"),
    ):
        made = CreateProduct(
            name=sku.title(),
            sku=sku,
            price=Decimal(price),
            category=ids[category] if category else None,
            discount_percentage=Decimal(discount),
            stock_quantity=5,
        )
        ids[sku] = (await shop.catalog.create_product(made, STAFF)).id
    return Shelf(shop, db, clock, ids)


# --- staff's use cases -----------------------------------------------------------------------------


async def test_a_sale_is_created_as_sent_in_utc_with_two_decimals(shelf: Shelf) -> None:
    dhaka = timezone(timedelta(hours=6))
    starts = shelf.at(1).astimezone(dhaka)

    made = await shelf.sale("15", starts=1, ends=3, starts_at=starts, product_ids=[shelf.ids["LID"]] * 2)

    assert made.percentage == Decimal("15.00")
    assert str(made.percentage) == "15.00"
    assert made.starts_at == shelf.at(1)
    assert made.starts_at.utcoffset() == timedelta(0)
    assert (made.product_ids, made.category_ids, made.status) == ([shelf.ids["LID"]], [], "scheduled")
    assert made.created_at == made.updated_at == shelf.clock.now()
    assert await shelf.shop.sales.get_sale(made.id, STAFF) == made


async def test_a_sale_starts_now_unless_told_otherwise(shelf: Shelf) -> None:
    cmd = CreateSale(name="Now", percentage=Decimal(5), ends_at=shelf.at(1), category_ids=[shelf.ids["Home"]])

    made = await shelf.shop.sales.create_sale(cmd, STAFF)

    assert (made.starts_at, made.status) == (shelf.clock.now(), "running")


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"percentage": "0"}, {"percentage"}),
        ({"percentage": "-5"}, {"percentage"}),
        ({"percentage": "100.01"}, {"percentage"}),
        ({"percentage": "12.345"}, {"percentage"}),
        ({"percentage": "NaN"}, {"percentage"}),
        ({"ends": -1}, {"ends_at"}),
        ({"ends": 0}, {"ends_at"}),
        ({"name": "   "}, {"name"}),
        ({"product_ids": [999, 998]}, {"product_ids"}),
        ({"category_ids": [77]}, {"category_ids"}),
        ({"product_ids": [], "category_ids": []}, {"product_ids", "category_ids"}),
        ({"percentage": "101", "ends": -1, "product_ids": [999]}, {"percentage", "ends_at", "product_ids"}),
    ],
)
async def test_a_bad_sale_is_refused_naming_every_field_and_nothing_is_stored(
    shelf: Shelf, fields: dict[str, Any], errors: set[str]
) -> None:
    fields = {"product_ids": [shelf.ids["POT"]]} | fields
    commits = shelf.db.commits

    with pytest.raises(InvalidInput) as refused:
        await shelf.sale(**fields)

    assert set(refused.value.errors) == errors
    assert shelf.db.commits == commits
    assert shelf.db.sales == {}


async def test_unknown_products_and_categories_are_named(shelf: Shelf) -> None:
    with pytest.raises(InvalidInput) as refused:
        await shelf.sale(product_ids=[shelf.ids["POT"], 999, 998], category_ids=[shelf.ids["Home"], 77])

    assert refused.value.errors == {
        "product_ids": ["There is no product 998, 999."],
        "category_ids": ["There is no category 77."],
    }


async def test_sales_are_listed_newest_first(shelf: Shelf) -> None:
    for name in ("First", "Second", "Third"):
        shelf.clock.advance(1)
        await shelf.sale(name=name, product_ids=[shelf.ids["POT"]])

    page = await shelf.shop.sales.list_sales(STAFF, offset=0, limit=2)
    rest = await shelf.shop.sales.list_sales(STAFF, offset=2, limit=2)

    assert [s.name for s in page.items + rest.items] == ["Third", "Second", "First"]
    assert page.total == rest.total == 3


async def test_a_change_touches_only_what_is_sent_and_is_checked_whole(shelf: Shelf) -> None:
    made = await shelf.sale("20", starts=1, ends=2, product_ids=[shelf.ids["POT"]])
    shelf.clock.advance(5)

    changed = await shelf.shop.sales.update_sale(
        made.id, UpdateSale(percentage=Decimal("12.5"), category_ids=[shelf.ids["Garden"]]), STAFF
    )

    assert (changed.percentage, changed.product_ids, changed.category_ids) == (
        Decimal("12.50"),
        [shelf.ids["POT"]],
        [shelf.ids["Garden"]],
    )
    assert (changed.name, changed.starts_at, changed.created_at) == (
        made.name,
        made.starts_at,
        made.created_at,
    )
    assert changed.updated_at == shelf.clock.now()
    for bad, field in (
        (UpdateSale(ends_at=made.starts_at - HOUR), "ends_at"),
        (UpdateSale(product_ids=[404]), "product_ids"),
        (UpdateSale(product_ids=[], category_ids=[]), "category_ids"),
    ):
        with pytest.raises(InvalidInput) as refused:
            await shelf.shop.sales.update_sale(made.id, bad, STAFF)
        assert field in refused.value.errors
    assert await shelf.shop.sales.get_sale(made.id, STAFF) == changed


async def test_ending_a_running_sale_ends_it_now(shelf: Shelf) -> None:
    running = await shelf.sale(starts=-1, ends=5, product_ids=[shelf.ids["POT"]])
    shelf.clock.advance(60)

    ended = await shelf.shop.sales.end_sale(running.id, STAFF)

    assert (ended.ends_at, ended.status) == (shelf.clock.now(), "ended")
    shelf.clock.advance(60)
    assert await shelf.shop.sales.end_sale(running.id, STAFF) == ended  # already ended: as it was


async def test_a_sale_that_has_not_started_cannot_end_but_can_be_deleted(shelf: Shelf) -> None:
    later = await shelf.sale(starts=1, ends=2, product_ids=[shelf.ids["POT"]])
    now = await shelf.sale(starts=0, ends=2, product_ids=[shelf.ids["POT"]])

    for scheduled in (later, now):
        with pytest.raises(Conflict, match="has not started"):
            await shelf.shop.sales.end_sale(scheduled.id, STAFF)
        await shelf.shop.sales.delete_sale(scheduled.id, STAFF)
        with pytest.raises(NotFound):
            await shelf.shop.sales.get_sale(scheduled.id, STAFF)
    assert shelf.db.sales == {}


async def test_unknown_sales_are_not_found(shelf: Shelf) -> None:
    sales = shelf.shop.sales
    for missing in (
        sales.get_sale(1, STAFF),
        sales.update_sale(1, UpdateSale(name="x"), STAFF),
        sales.end_sale(1, STAFF),
        sales.delete_sale(1, STAFF),
    ):
        with pytest.raises(NotFound, match="No such sale"):
            await missing


# --- prices in the catalog --------------------------------------------------------------------------


async def test_a_running_sale_sets_the_final_price_everywhere_and_says_so(shelf: Shelf) -> None:
    made = await shelf.sale("25", starts=0, ends=2, name="Kitchen week", category_ids=[shelf.ids["Kitchen"]])

    detail = await shelf.detail("POT")

    assert (detail["price"], detail["discount_percentage"], detail["final_price"]) == (
        "20.00",
        "0.00",
        "15.00",
    )
    assert [v["final_price"] for v in detail["variants"]] == ["15.00"]
    assert detail["sale"] == {
        "id": made.id,
        "name": "Kitchen week",
        "percentage": "25.00",
        "ends_at": msgspec.json.decode(msgspec.json.encode(made.ends_at)),
    }
    assert await shelf.prices("POT") == ("15.00", "15.00", "15.00")
    assert (await shelf.detail("POT", staff=True))["final_price"] == "15.00"
    assert (await shelf.listed(staff=True))["POT"]["final_price"] == "15.00"
    assert (await shelf.detail("LID"))["sale"] is None  # not in the kitchen


async def test_the_better_discount_wins_and_they_never_stack(shelf: Shelf) -> None:
    await shelf.sale("5", category_ids=[shelf.ids["Garden"]])
    assert (await shelf.detail("HOSE"))["final_price"] == "9.00"  # its own 10% beats the sale's 5%
    assert (await shelf.detail("HOSE"))["sale"] is None

    await shelf.sale("15", product_ids=[shelf.ids["HOSE"]])
    hose = await shelf.detail("HOSE")
    assert (hose["final_price"], hose["discount_percentage"]) == ("8.50", "10.00")  # 15%, not 10% then 15%
    assert hose["sale"]["percentage"] == "15.00"


async def test_variants_are_priced_by_the_sale_too(shelf: Shelf) -> None:
    pot = shelf.ids["POT"]
    options = msgspec.convert({"options": [{"name": "Size", "values": ["S", "L"]}]}, UpdateProduct)
    await shelf.shop.catalog.update_product(pot, options, STAFF)
    await shelf.shop.catalog.add_variant(pot, AddVariant(sku="POT-S", options={"Size": "S"}), STAFF)
    await shelf.shop.catalog.add_variant(
        pot, AddVariant(sku="POT-L", options={"Size": "L"}, price=Decimal("30.00")), STAFF
    )
    await shelf.sale("10", product_ids=[pot])

    detail = await shelf.detail("POT")
    variants = await shelf.shop.catalog.list_variants(pot, STAFF)

    assert [(v["sku"], v["final_price"]) for v in detail["variants"]] == [
        ("POT-S", "18.00"),
        ("POT-L", "27.00"),
    ]
    assert [(v.sku, v.final_price) for v in variants] == [("POT-S", "18.00"), ("POT-L", "27.00")]


async def test_staff_writes_answer_with_the_sale_price(shelf: Shelf) -> None:
    await shelf.sale("50", category_ids=[shelf.ids["Home"]])

    changed = await shelf.shop.catalog.update_product(
        shelf.ids["POT"], UpdateProduct(price=Decimal("30.00")), STAFF
    )

    assert (changed.price, changed.final_price) == ("30.00", "15.00")
    assert changed.sale is not None


async def test_price_filters_and_ordering_stay_on_the_list_price(shelf: Shelf) -> None:
    await shelf.sale("90", product_ids=[shelf.ids["POT"]])  # the pot sells at 2.00

    assert list(await shelf.listed(max_price="5.00")) == ["LID"]
    assert list(await shelf.listed(ordering="price")) == ["LID", "HOSE", "POT"]


async def test_a_sale_starts_and_ends_by_the_clock_through_the_cache(shelf: Shelf) -> None:
    await shelf.sale("50", starts=1, ends=2, category_ids=[shelf.ids["Home"]])
    assert await shelf.prices("POT") == ("20.00", "20.00", "20.00")
    computations = shelf.shop.catalog_cache.computations
    assert await shelf.prices("POT") == ("20.00", "20.00", "20.00")
    assert shelf.shop.catalog_cache.computations == computations  # cached

    shelf.clock.advance(3600)
    assert await shelf.prices("POT") == ("10.00", "10.00", "10.00")
    shelf.clock.advance(3599)
    assert await shelf.prices("POT") == ("10.00", "10.00", "10.00")
    shelf.clock.advance(1)
    assert await shelf.prices("POT") == ("20.00", "20.00", "20.00")


async def test_every_sale_write_shows_at_once_through_the_cache(shelf: Shelf) -> None:
    assert await shelf.prices("POT") == ("20.00", "20.00", "20.00")

    made = await shelf.sale("10", ends=5, product_ids=[shelf.ids["POT"]])
    assert await shelf.prices("POT") == ("18.00", "18.00", "18.00")
    await shelf.shop.sales.update_sale(made.id, UpdateSale(percentage=Decimal(20)), STAFF)
    assert await shelf.prices("POT") == ("16.00", "16.00", "16.00")
    shelf.clock.advance(60)
    await shelf.shop.sales.end_sale(made.id, STAFF)
    assert await shelf.prices("POT") == ("20.00", "20.00", "20.00")
    again = await shelf.sale("30", ends=5, product_ids=[shelf.ids["POT"]])
    assert await shelf.prices("POT") == ("14.00", "14.00", "14.00")
    await shelf.shop.sales.delete_sale(again.id, STAFF)
    assert await shelf.prices("POT") == ("20.00", "20.00", "20.00")


async def test_a_page_asks_for_sales_only_while_one_runs(shelf: Shelf) -> None:
    reader = shelf.reader

    async def queries_of_a_fresh_page() -> int:
        before = reader.queries
        await shelf.listed(staff=True)  # staff: never cached
        return reader.queries - before

    assert await queries_of_a_fresh_page() == 1
    await shelf.sale(starts=1, ends=2, product_ids=[shelf.ids["LID"]])
    assert await queries_of_a_fresh_page() == 1  # one is coming, none runs
    shelf.clock.advance(3600)
    assert await queries_of_a_fresh_page() == 2  # one more for the whole page, not one per product


async def test_sale_percentages_are_what_carts_and_checkout_price_with(shelf: Shelf) -> None:
    await shelf.sale("20", category_ids=[shelf.ids["Home"]])
    await shelf.sale("30", starts=1, ends=2, product_ids=[shelf.ids["LID"]])
    wanted = {
        shelf.ids["POT"]: shelf.ids["Pots"],
        shelf.ids["HOSE"]: shelf.ids["Garden"],
        shelf.ids["LID"]: None,
    }

    async with shelf.shop.ports.uow() as uow:
        now = await sale_percentages(uow, wanted, shelf.clock.now())
        later = await sale_percentages(uow, wanted, shelf.at(1.5))

    assert now == {shelf.ids["POT"]: Decimal("20.00")}
    assert later == {shelf.ids["LID"]: Decimal("30.00")}
    async with shelf.shop.ports.uow() as uow:
        assert await sale_percentages_of(uow, list(wanted), shelf.clock.now()) == now
