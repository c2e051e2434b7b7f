"""The category tree (no cycles, any depth), slugs, and the invariants of a product."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop_core.domain.catalog import (
    MAX_SLUG_LENGTH,
    Product,
    ProductSlugTaken,
    check_parent,
    check_product,
    descendants,
    discount_percentage,
    numbered_slugs,
    product_slug_base,
    slugify,
    valid_slug,
)
from shop_core.domain.errors import Conflict, InvalidInput

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@st.composite
def trees(draw: st.DrawFn) -> dict[int, int | None]:
    """A forest of 1..40 categories: every category's parent has a smaller id, so no cycles."""
    picks = draw(st.lists(st.integers(min_value=0, max_value=10**6), max_size=39))
    parents: dict[int, int | None] = {1: None}
    for node, pick in enumerate(picks, start=2):
        parents[node] = None if pick % 5 == 0 else 1 + pick % (node - 1)
    return parents


def ancestors(node: int, parents: dict[int, int | None]) -> list[int]:
    found: list[int] = []
    current = parents[node]
    while current is not None:
        found.append(current)
        current = parents[current]
    return found


def chain(depth: int) -> dict[int, int | None]:
    """1 ← 2 ← 3 … ← depth: one branch, as deep as asked."""
    return {n: (n - 1 if n > 1 else None) for n in range(1, depth + 1)}


# --- the tree ------------------------------------------------------------------------------


def test_a_root_needs_no_parent() -> None:
    check_parent(None, None, {})
    check_parent(3, None, chain(3))


def test_a_new_category_may_go_under_any_existing_one() -> None:
    tree = chain(5)
    for parent in tree:
        check_parent(None, parent, tree)


def test_an_unknown_parent_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_parent(None, 99, chain(3))
    assert list(caught.value.errors) == ["parent"]
    assert "no category 99" in caught.value.detail


def test_a_category_cannot_be_its_own_parent() -> None:
    with pytest.raises(InvalidInput, match="itself or its descendants"):
        check_parent(2, 2, chain(3))


@pytest.mark.parametrize("depth", [2, 3, 10, 500])
def test_a_category_cannot_go_under_a_descendant_at_any_depth(depth: int) -> None:
    tree = chain(depth)
    with pytest.raises(InvalidInput, match="itself or its descendants"):
        check_parent(1, depth, tree)
    check_parent(depth, 1, tree)  # the other way round is fine


def test_a_category_can_move_to_another_branch() -> None:
    tree: dict[int, int | None] = {1: None, 2: 1, 3: None, 4: 3}
    check_parent(2, 4, tree)
    check_parent(4, 2, tree)
    check_parent(1, 3, tree)


def test_a_tree_that_already_has_a_cycle_does_not_hang_the_check() -> None:
    broken: dict[int, int | None] = {1: 2, 2: 1, 3: None}
    check_parent(3, 1, broken)
    with pytest.raises(InvalidInput):
        check_parent(1, 2, broken)


@given(tree=trees(), data=st.data())
def test_a_parent_is_refused_exactly_when_it_would_make_a_cycle(
    tree: dict[int, int | None], data: st.DataObject
) -> None:
    node = data.draw(st.sampled_from(sorted(tree)))
    parent = data.draw(st.sampled_from(sorted(tree)))
    would_cycle = parent == node or node in ancestors(parent, tree)
    if would_cycle:
        with pytest.raises(InvalidInput):
            check_parent(node, parent, tree)
    else:
        check_parent(node, parent, tree)
        moved = tree | {node: parent}
        assert node not in ancestors(node, moved)  # still a tree: walking up ends


@given(tree=trees(), data=st.data())
def test_descendants_are_the_nodes_with_the_root_above_them(
    tree: dict[int, int | None], data: st.DataObject
) -> None:
    root = data.draw(st.sampled_from(sorted(tree)))
    expected = {n for n in tree if n == root or root in ancestors(n, tree)}
    assert descendants(root, tree) == expected


def test_descendants_examples() -> None:
    tree: dict[int, int | None] = {1: None, 2: 1, 3: 2, 4: 1, 5: None, 6: 5}
    assert descendants(1, tree) == {1, 2, 3, 4}
    assert descendants(2, tree) == {2, 3}
    assert descendants(3, tree) == {3}
    assert descendants(5, tree) == {5, 6}
    assert descendants(42, tree) == {42}


def test_descendants_of_a_deep_chain() -> None:
    assert descendants(1, chain(2000)) == set(range(1, 2001))


# --- slugs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Café Crème 2", "cafe-creme-2"),
        ("  Hello,   World!  ", "hello-world"),
        ("Ünïcödé—dash", "unicode-dash"),
        ("already-a-slug", "already-a-slug"),
        ("--edges--", "edges"),
        ("日本語", ""),
        ("ﬁne", "fine"),
        ("Red\u2013Blue\u00b7Green", "red-blue-green"),
        ("Cre\u0300me bru\u0302le\u0301e", "creme-brulee"),
    ],
)
def test_slugify_examples(text: str, slug: str) -> None:
    assert slugify(text) == slug


@given(st.text(max_size=400))
def test_slugify_gives_a_valid_slug_or_nothing(text: str) -> None:
    slug = slugify(text)
    assert slug == "" or SLUG.match(slug)
    assert len(slug) <= MAX_SLUG_LENGTH
    assert slugify(slug) == slug
    if slug:
        assert valid_slug(slug) == slug


def test_slugify_cuts_long_names_without_a_trailing_hyphen() -> None:
    slug = slugify("a" * 199 + " b")
    assert slug == "a" * 199
    assert len(slugify("word " * 100)) <= MAX_SLUG_LENGTH


@pytest.mark.parametrize("raw", ["", "Has Space", "UPPER_case", "double--hyphen", "-lead", "café"])
def test_valid_slug_refuses(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        valid_slug(raw)
    assert list(caught.value.errors) == ["slug"]


def test_valid_slug_trims_and_lowercases() -> None:
    assert valid_slug("  Lamp-2 ") == "lamp-2"


# --- products ------------------------------------------------------------------------------


def product(**fields: object) -> Product:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    values: dict[str, object] = {
        "name": "Lamp",
        "slug": "lamp",
        "sku": "L-1",
        "price": 1999,
        "created_at": now,
        "updated_at": now,
    }
    values.update(fields)
    return Product(**values)  # type: ignore[arg-type]


def test_a_valid_product_passes() -> None:
    check_product(product(cost_price=0, discount_percentage=Decimal(100), stock_quantity=0, price=0))
    check_product(product(cost_price=None, discount_percentage=Decimal("12.50"), stock_quantity=7))


def test_every_broken_invariant_is_listed() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_product(
            product(price=-1, cost_price=-1, discount_percentage=Decimal("100.01"), stock_quantity=-1)
        )
    assert set(caught.value.errors) == {"price", "cost_price", "discount_percentage", "stock_quantity"}


@pytest.mark.parametrize(
    ("fields", "broken"),
    [
        ({"price": -1}, "price"),
        ({"cost_price": -5}, "cost_price"),
        ({"discount_percentage": Decimal("-0.01")}, "discount_percentage"),
        ({"discount_percentage": Decimal(101)}, "discount_percentage"),
        ({"stock_quantity": -1}, "stock_quantity"),
    ],
)
def test_each_invariant(fields: dict[str, object], broken: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_product(product(**fields))
    assert list(caught.value.errors) == [broken]


@given(
    price=st.integers(min_value=0, max_value=10**15),
    percent=st.integers(min_value=0, max_value=10_000).map(lambda n: Decimal(n) / 100),
)
def test_the_final_price_is_never_negative_nor_above_the_price(price: int, percent: Decimal) -> None:
    item = product(price=price, discount_percentage=percent)
    check_product(item)
    assert isinstance(item.final_price, int)
    assert 0 <= item.final_price <= price


def test_final_price_examples() -> None:
    assert product(price=1999, discount_percentage=Decimal(10)).final_price == 1799
    assert product(price=1999).final_price == 1999
    assert product(price=1999, discount_percentage=Decimal(100)).final_price == 0


# --- one rule for the API and the import: discounts and product slugs ------------------------------


@given(hundredths=st.integers(min_value=0, max_value=10_000), zeros=st.integers(min_value=0, max_value=4))
def test_a_discount_with_at_most_two_places_is_kept_with_exactly_two(hundredths: int, zeros: int) -> None:
    given_as = (Decimal(hundredths) / 100).quantize(Decimal(1).scaleb(-2 - zeros))  # "12.5", "12.5000"
    stored = discount_percentage(given_as)
    assert stored == given_as
    assert stored.as_tuple().exponent == -2


@pytest.mark.parametrize("value", ["10.005", "0.001", "99.999", "33.3333"])
def test_a_discount_finer_than_a_hundredth_is_refused(value: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        discount_percentage(Decimal(value))
    assert caught.value.errors == {"discount_percentage": ["Use at most two decimal places."]}


def test_numbered_slugs_start_with_the_base_then_count_from_two() -> None:
    candidates = numbered_slugs("lamp")
    assert [next(candidates) for _ in range(4)] == ["lamp", "lamp-2", "lamp-3", "lamp-4"]


@given(base=st.text(alphabet="abc-", min_size=1, max_size=MAX_SLUG_LENGTH))
def test_numbered_slugs_are_distinct_and_fit_the_column(base: str) -> None:
    candidates = numbered_slugs(base)
    tried = [next(candidates) for _ in range(30)]
    assert len(set(tried)) == len(tried)
    assert all(len(slug) <= MAX_SLUG_LENGTH for slug in tried[1:])


@pytest.mark.parametrize(("name", "base"), [("Café Lamp", "cafe-lamp"), ("", "product"), ("!!!", "product")])
def test_a_product_slug_comes_from_its_name_or_is_product(name: str, base: str) -> None:
    assert product_slug_base(name) == base


def test_a_taken_slug_is_a_conflict_naming_it() -> None:
    taken = ProductSlugTaken("lamp")
    assert isinstance(taken, Conflict)
    assert taken.detail == "A product with the slug 'lamp' already exists."
