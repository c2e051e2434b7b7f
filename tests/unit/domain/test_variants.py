"""The variant rules: options, a variant's values, its name, duplicate combinations, the product's
derived price and stock, and which variant a cart or order line means."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop_core.domain.errors import Conflict, InvalidInput, NotFound
from shop_core.domain.variants import (
    MAX_OPTIONS,
    ProductOption,
    Variant,
    VariantMisfit,
    VariantRequired,
    check_fit,
    check_new_combination,
    check_options,
    check_values,
    find_variant,
    line_variant,
    name_in,
    product_price,
    product_stock,
    variant_name,
)

SIZE = ProductOption("Size", ("S", "M", "L"))
COLOR = ProductOption("Color", ("Red", "Blue"))
SHIRT = (SIZE, COLOR)


def test_options_are_trimmed_and_kept_in_order() -> None:
    assert check_options([(" Size ", [" S", "M "]), ("Color", ["Red"])]) == (
        ProductOption("Size", ("S", "M")),
        ProductOption("Color", ("Red",)),
    )


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ([("Size", ["S"])] * 2, "given twice"),
        ([("Size", ["S"]), ("size", ["M"])], "given twice"),
        ([("", ["S"])], "needs a name"),
        ([("Size", [])], "needs 1 to 100 values"),
        ([("Size", ["S", " "])], "Each value"),
        ([("Size", ["M", "m"])], "repeats the value"),
        ([(f"O{n}", ["x"]) for n in range(MAX_OPTIONS + 1)], "at most 3 options"),
    ],
)
def test_bad_options_are_refused_with_the_reason(raw: list[tuple[str, list[str]]], says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        check_options(raw)


def test_values_match_in_any_case_and_are_stored_as_the_product_spells_them() -> None:
    assert check_values(SHIRT, {"color": "blue", "SIZE": "m"}) == {"Size": "M", "Color": "Blue"}


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ({"Size": "M", "Color": "Red", "Fit": "Slim"}, "Unknown option 'Fit'; the product's: Size, Color"),
        ({"Size": "XL", "Color": "Red"}, "'XL' is not a value of 'Size'; one of S, M, L"),
        ({"Size": "M"}, "Give a value for Color"),
    ],
)
def test_bad_values_are_refused_naming_what_is_wrong(given: dict[str, str], says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        check_values(SHIRT, given)


def test_a_variant_is_named_by_its_values_in_the_products_option_order() -> None:
    assert variant_name(SHIRT, {"Color": "Red", "Size": "M"}) == "M / Red"
    assert variant_name((), {}) == ""


def test_the_same_combination_twice_is_a_conflict_in_any_case() -> None:
    red_m = Variant(1, "T-M-R", {"Size": "M", "Color": "Red"}, id=1)
    with pytest.raises(Conflict, match="already has a variant 'M / Red'"):
        check_new_combination(SHIRT, {"Size": "m", "Color": "RED"}, [red_m])
    check_new_combination(SHIRT, {"Size": "L", "Color": "Red"}, [red_m])


def test_the_product_shows_its_lowest_active_price_and_the_stock_of_its_active_variants() -> None:
    variants = [
        Variant(1, "A", {"Size": "S"}, price=None, stock_quantity=3),
        Variant(1, "B", {"Size": "M"}, price=1500, stock_quantity=4),
        Variant(1, "C", {"Size": "L"}, price=900, stock_quantity=5, is_active=False),
    ]
    assert product_price(2000, variants) == 1500
    assert product_stock(variants) == 7
    assert product_price(2000, [Variant(1, "D", price=100, is_active=False)]) == 2000


def test_a_line_without_a_variant_means_the_only_active_one() -> None:
    default = Variant(1, "MUG", id=10)
    assert line_variant(1, [default], None) is default
    two = [Variant(1, "S", {"Size": "S"}, id=11), Variant(1, "M", {"Size": "M"}, id=12)]
    with pytest.raises(VariantRequired) as refused:
        line_variant(1, two, None)
    assert refused.value.code == "variant_required"
    assert line_variant(1, [two[0], Variant(1, "M", {"Size": "M"}, is_active=False, id=12)], None).id == 11


def test_a_variant_of_another_product_is_not_found() -> None:
    with pytest.raises(NotFound):
        line_variant(2, [Variant(1, "S", {"Size": "S"}, id=11)], 11)
    with pytest.raises(NotFound):
        line_variant(1, [Variant(1, "S", {"Size": "S"}, id=11)], 99)


@given(
    base=st.integers(0, 10**9),
    variants=st.lists(
        st.tuples(st.one_of(st.none(), st.integers(0, 10**9)), st.integers(0, 10**6), st.booleans()),
        max_size=20,
    ),
)
def test_derived_price_and_stock_agree_with_the_active_variants(
    base: int, variants: list[tuple[int | None, int, bool]]
) -> None:
    made = [
        Variant(1, f"V{n}", price=p, stock_quantity=q, is_active=a) for n, (p, q, a) in enumerate(variants)
    ]
    active = [v for v in made if v.is_active]
    shown = product_price(base, made)
    assert shown == (min(v.effective_price(base) for v in active) if active else base)
    assert all(shown <= v.effective_price(base) for v in active)
    assert product_stock(made) == sum(v.stock_quantity for v in active)


def test_an_import_row_finds_its_variant_by_sku_else_by_its_values() -> None:
    red_m = Variant(1, "T-M-R", {"Size": "M", "Color": "Red"}, id=1)
    blue_s = Variant(1, "T-S-B", {"Size": "S", "Color": "Blue"}, id=2)
    stored = [red_m, blue_s]
    assert find_variant(stored, "T-S-B", {"Size": "M", "Color": "Red"}) is blue_s  # the sku wins
    assert find_variant(stored, None, {"size": "m", "color": "RED"}) is red_m
    assert find_variant(stored, "NEW", {"Size": "L", "Color": "Red"}) is None
    assert find_variant(stored, None, {"Size": "M", "Color": "Red"}, taken={id(red_m)}) is None


def test_options_must_keep_fitting_every_option_variant() -> None:
    red_m = Variant(1, "T-M-R", {"Size": "M", "Color": "Red"}, id=1)
    default = Variant(1, "T", is_default=True, id=2)
    check_fit(SHIRT, [(red_m, red_m.options), (default, {})])
    with pytest.raises(VariantMisfit) as refused:
        check_fit((SIZE, ProductOption("Color", ("Blue",))), [(red_m, red_m.options)])
    assert (refused.value.sku, list(refused.value.errors)) == ("T-M-R", ["options"])
    assert "'Red' is not a value of 'Color'" in refused.value.problem


def test_a_variant_is_named_from_its_products_stored_options() -> None:
    stored = [{"name": "Size", "values": ["S", "M"]}, {"name": "Color", "values": ["Red"]}]
    assert name_in(stored, {"Color": "Red", "Size": "M"}) == "M / Red"
    assert name_in([], {}) == ""
