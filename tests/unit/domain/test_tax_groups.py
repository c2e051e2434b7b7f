"""An order's tax by rate, as its invoice lists it: grouped per name and rate, the shipping's tax
with the order's rate, and the groups adding up to the order's tax exactly."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from shop_core.domain.tax import TaxGroup, grouped, percent_text

VAT = ("VAT", Decimal("0.2"))
REDUCED = ("VAT", Decimal("0.05"))


def test_lines_of_one_rate_and_the_shipping_make_one_group() -> None:
    parts = [(*VAT, 1000, 200), (*VAT, 2000, 400), (*VAT, 500, 100)]

    assert grouped(parts) == [TaxGroup("VAT", Decimal("0.2"), 3500, 700)]
    assert grouped(parts)[0].label == "VAT 20%"


def test_each_rate_is_its_own_group_in_the_order_first_seen() -> None:
    parts = [(*REDUCED, 1000, 50), (*VAT, 2000, 400), (*REDUCED, 300, 15)]

    assert [(g.label, g.base, g.tax) for g in grouped(parts)] == [
        ("VAT 5%", 1300, 65),
        ("VAT 20%", 2000, 400),
    ]


def test_orders_from_before_rates_were_kept_show_one_tax_line() -> None:
    assert [(g.label, g.tax) for g in grouped([(None, None, 1000, 100), (None, None, 0, 0)])] == [
        ("Tax", 100)
    ]


def test_percentages_read_as_people_write_them() -> None:
    assert [percent_text(Decimal(r)) for r in ("0.2", "0.0725", "0.15", "0", "0.1525")] == [
        "20%",
        "7.25%",
        "15%",
        "0%",
        "15.25%",
    ]


parts = st.lists(
    st.tuples(
        st.sampled_from(["VAT", "GST", None]),
        st.sampled_from([Decimal("0.2"), Decimal("0.05"), None]),
        st.integers(0, 10**9),
        st.integers(0, 10**8),
    ),
    max_size=30,
)


@given(parts)
def test_the_groups_add_up_to_the_parts(
    given_parts: list[tuple[str | None, Decimal | None, int, int]],
) -> None:
    groups = grouped(given_parts)

    assert sum(g.tax for g in groups) == sum(p[3] for p in given_parts)
    assert sum(g.base for g in groups) == sum(p[2] for p in given_parts)
    assert len({(g.name, g.rate) for g in groups}) == len(groups)
