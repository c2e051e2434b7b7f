"""The back-in-stock rule: which variants, and whether the product as a whole, came back from no
stock to some, given the movements of one transaction and the variants as they are after it."""

from __future__ import annotations

from shop_core.domain.wishlist import StockMove, VariantStock, product_came_back, restocked_variants


def test_a_move_from_nothing_to_some_is_a_restock_and_a_raise_in_stock_is_not() -> None:
    assert StockMove(1, 5, 5).came_back
    assert StockMove(1, 3, 3).before == 0
    assert not StockMove(1, 3, 8).came_back  # 5 before
    assert not StockMove(1, -2, 0).came_back
    assert not StockMove(1, 0, 0).came_back


def test_only_active_variants_come_back() -> None:
    variants = [VariantStock(1, True, 5), VariantStock(2, False, 4)]
    assert restocked_variants([StockMove(1, 5, 5), StockMove(2, 4, 4)], variants) == {1}


def test_the_product_comes_back_only_when_every_active_variant_was_out() -> None:
    small, medium, retired = VariantStock(1, True, 2), VariantStock(2, True, 0), VariantStock(3, False, 9)
    assert product_came_back([StockMove(1, 2, 2)], [small, medium, retired])
    in_stock = VariantStock(2, True, 4)  # untouched, and holding some all along
    assert not product_came_back([StockMove(1, 2, 2)], [small, in_stock])


def test_what_the_product_held_before_is_read_from_the_first_move_of_each_variant() -> None:
    small, medium = VariantStock(1, True, 2), VariantStock(2, True, 0)
    # The medium held 3 and was sold out in the same transaction the small came back in.
    assert not product_came_back([StockMove(2, -3, 0), StockMove(1, 2, 2)], [small, medium])
    # Two moves of one variant: 0 -> 2 -> 5 came back once, from nothing.
    assert product_came_back([StockMove(1, 2, 2), StockMove(1, 3, 5)], [VariantStock(1, True, 5)])
    assert restocked_variants([StockMove(1, 2, 2), StockMove(1, 3, 5)], [VariantStock(1, True, 5)]) == {1}


def test_a_product_whose_moves_brought_nothing_back_did_not_come_back() -> None:
    assert not product_came_back([StockMove(1, 3, 8)], [VariantStock(1, True, 8)])
    assert not product_came_back([StockMove(1, 3, 3)], [VariantStock(1, False, 3)])
