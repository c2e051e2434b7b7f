"""Examples of what several operations answer with (a customer, a product, a cart, an order, its
payments), built from the very Structs the API answers with, so mypy checks them and they encode
exactly as a response would."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import msgspec

from shop_core.domain.variants import Variant
from shop_core.services.cart import CartLineView, CartView
from shop_core.services.catalog_views import (
    CategoryView,
    OptionView,
    ProductView,
    RunningSaleView,
    StaffProductView,
    VariantView,
)
from shop_core.services.order_views import AddressView, OrderEventView, OrderItemView, OrderView
from shop_core.services.payment_views import PaymentView, RefundView
from shop_core.services.sales import SaleView
from shop_core.services.views import UserView

AT = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 26, 18, 5, tzinfo=UTC)

CUSTOMER = UserView(
    id=2,
    email="ada@example.com",
    username="ada",
    first_name="Ada",
    last_name="Lovelace",
    phone="+44 20 7946 0000",
    is_staff=False,
    date_joined=AT,
)
CATEGORY = CategoryView(id=2, name="Mugs", slug="mugs", parent=1, description="Stoneware and enamel.")
PRODUCT = ProductView(
    id=1,
    name="Enamel mug",
    slug="enamel-mug",
    description="A 350 ml camping mug.",
    category=2,
    category_name="Mugs",
    price="12.50",
    discount_percentage=Decimal("10.00"),
    final_price="11.25",
    stock_quantity=42,
    sku="MUG-ENAMEL-350",
    image_url="https://cdn.example.com/mugs/enamel.jpg",
    is_active=True,
    created_at=AT,
    updated_at=LATER,
    variants=[
        VariantView(
            id=1,
            sku="MUG-ENAMEL-350",
            name="",
            options={},
            price="12.50",
            final_price="11.25",
            stock_quantity=42,
            is_active=True,
            weight_grams=None,
        )
    ],
)
STAFF_PRODUCT = StaffProductView(**msgspec.structs.asdict(PRODUCT), cost_price="4.80")
BLACK_FRIDAY = SaleView(
    id=1,
    name="Black Friday",
    percentage=Decimal("20.00"),
    starts_at=datetime(2026, 11, 27, tzinfo=UTC),
    ends_at=datetime(2026, 11, 30, tzinfo=UTC),
    product_ids=[],
    category_ids=[2, 5],
    status="running",
    created_at=AT,
    updated_at=AT,
)
ON_SALE = msgspec.structs.replace(
    PRODUCT,
    final_price="10.00",
    variants=[msgspec.structs.replace(PRODUCT.variants[0], final_price="10.00")],
    sale=RunningSaleView(
        id=BLACK_FRIDAY.id,
        name=BLACK_FRIDAY.name,
        percentage=BLACK_FRIDAY.percentage,
        ends_at=BLACK_FRIDAY.ends_at,
    ),
)
"""A product in a category on sale: 20% beats its own 10% (`final_price` 10.00, not 9.00)."""
RED_M = VariantView(
    id=7,
    sku="TEE-M-RED",
    name="M / Red",
    options={"Size": "M", "Color": "Red"},
    price="20.00",
    final_price="20.00",
    stock_quantity=12,
    is_active=True,
    weight_grams=180,
)
SHIRT = ProductView(
    id=3,
    name="Organic T-shirt",
    slug="organic-t-shirt",
    description="Heavy cotton, boxy fit.",
    category=4,
    category_name="Shirts",
    price="18.00",
    discount_percentage=Decimal("0.00"),
    final_price="18.00",
    stock_quantity=20,
    sku="TEE",
    image_url="",
    is_active=True,
    created_at=AT,
    updated_at=LATER,
    options=[
        OptionView(name="Size", values=["S", "M", "L"]),
        OptionView(name="Color", values=["Red", "Black"]),
    ],
    variants=[
        VariantView(
            id=6,
            sku="TEE-S-RED",
            name="S / Red",
            options={"Size": "S", "Color": "Red"},
            price="18.00",
            final_price="18.00",
            stock_quantity=8,
            is_active=True,
            weight_grams=170,
        ),
        RED_M,
    ],
)
EMPTY_CART = CartView(items=[], item_count=0, subtotal="0.00", updated_at=None)
CART = CartView(
    items=[
        CartLineView(
            product_id=1,
            variant_id=1,
            variant_name="",
            name="Enamel mug",
            sku="MUG-ENAMEL-350",
            unit_price="11.25",
            quantity=2,
            line_total="22.50",
            in_stock=True,
            list_unit_price="12.50",
        )
    ],
    item_count=2,
    subtotal="22.50",
    updated_at=LATER,
)
TWO_VARIANTS = [  # a T-shirt's two sizes, for the examples that quote the core's variant rules
    Variant(7, "TEE-CAMP-M-RED", {"Size": "M", "Color": "Red"}, id=23),
    Variant(7, "TEE-CAMP-L-RED", {"Size": "L", "Color": "Red"}, id=24),
]
VARIANT_CART = CartView(
    items=[
        *CART.items,
        CartLineView(
            product_id=7,
            variant_id=23,
            variant_name="M / Red",
            name="Camp T-shirt",
            sku="TEE-CAMP-M-RED",
            unit_price="18.00",
            quantity=1,
            line_total="18.00",
            in_stock=True,
            list_unit_price="18.00",
        ),
    ],
    item_count=3,
    subtotal="40.50",
    updated_at=LATER,
)
ADDRESS = AddressView(
    full_name="Ada Lovelace",
    line1="12 St James's Square",
    line2="",
    city="London",
    postal_code="SW1Y 4JH",
    country="GB",
    phone="+44 20 7946 0000",
)
ORDER = OrderView(
    id=1,
    order_number="ORD-2026-8K4Q2PXM",
    user_id=2,
    status="pending",
    payment_status="unpaid",
    payment_method="stripe",
    currency="USD",
    items=[
        OrderItemView(
            id=1,
            product_id=1,
            variant_id=1,
            product_name="Enamel mug",
            sku="MUG-ENAMEL-350",
            unit_price="12.50",
            quantity=2,
            line_total="25.00",
            discount_amount="2.50",
            tax_amount="0.00",
            final_unit_price="11.25",
        )
    ],
    subtotal="25.00",
    discount_amount="2.50",
    tax_amount="0.00",
    shipping_cost="5.00",
    total_price="27.50",
    shipping_address=ADDRESS,
    billing_address=ADDRESS,
    created_at=AT,
    updated_at=AT,
    paid_at=None,
    delivered_at=None,
)
PAID_ORDER = msgspec.structs.replace(
    ORDER,
    status="paid",
    payment_status="paid",
    updated_at=LATER,
    paid_at=LATER,
    events=[
        OrderEventView(
            at=AT,
            actor="user:2 ada@example.com",
            action="placed",
            from_status="",
            to_status="pending",
            note="",
        ),
        OrderEventView(
            at=LATER, actor="stripe", action="paid", from_status="pending", to_status="paid", note=""
        ),
    ],
)
STRIPE_PAYMENT = PaymentView(
    id=1,
    order_id=1,
    order_number="ORD-2026-8K4Q2PXM",
    gateway="stripe",
    status="pending",
    amount="27.50",
    currency="USD",
    gateway_reference="pi_3Q0aBcDeFgHiJkLm",
    refunded_amount="0.00",
    held=False,
    created_at=AT,
    updated_at=AT,
    client_secret="pi_3Q0aBcDeFgHiJkLm_secret_NoPqRsTuVw",  # noqa: S106 - an example in the docs
)
SSLCOMMERZ_PAYMENT = msgspec.structs.replace(
    STRIPE_PAYMENT,
    id=2,
    gateway="sslcommerz",
    currency="BDT",
    amount="3025.00",
    gateway_reference="ORD-2026-8K4Q2PXM-1",
    client_secret=None,
    redirect_url="https://sandbox.sslcommerz.com/EasyCheckOut/testcde0123456789",
)
REFUNDED_PAYMENT = msgspec.structs.replace(
    STRIPE_PAYMENT,
    status="refunded",
    refunded_amount="27.50",
    client_secret=None,
    updated_at=LATER,
    refunds=[
        RefundView(
            id=1,
            amount="27.50",
            status="succeeded",
            reason="Customer changed their mind",
            gateway_reference="re_3Q0aBcDeFgHiJkLm",
            failure="",
            created_at=LATER,
            updated_at=LATER,
        )
    ],
)
ADDRESS_INPUT = {
    "full_name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
    "phone": "+44 20 7946 0000",
}
IDEMPOTENCY_KEY_EXAMPLE = "5f0c6f5e-8d2b-4f43-9a57-1f1c2b7d9e10"
