"""The documentation of `controllers.products`: the catalog's products (what each operation does is
in its handler's docstring)."""

from __future__ import annotations

from functools import partial

from shop_core.domain.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from shop_core.services.catalog_commands import CreateProduct, ProductQuery, ReplaceProduct, UpdateProduct
from shop_core.services.catalog_reads import ORDERINGS, product_filter
from shop_core.services.catalog_views import ProductView, StaffProductView
from shop_http.api_docs.examples import ON_SALE, PRODUCT, STAFF_PRODUCT
from shop_http.openapi import body, error, example, ok, refusal, request_example, sample
from shop_http.pagination import PageOf

# --- answers ---------------------------------------------------------------------------------------

PAGE = ok(
    PageOf[ProductView],
    "A page of products (staff also see `cost_price`, and inactive products).",
    example(
        PageOf(
            count=41,
            next="http://127.0.0.1:8000/api/products/?page=2&page_size=20",
            previous=None,
            results=[PRODUCT],
        ),
        "The first page",
    ),
    example(PageOf(count=1, next=None, previous=None, results=[ON_SALE]), "A product on sale"),
)
ONE_PRODUCT = ok(
    ProductView,
    "The product (staff also see `cost_price`).",
    example(PRODUCT, "A product"),
    example(ON_SALE, "A product on sale"),
)
STAFF_VIEW = example(STAFF_PRODUCT)
CREATED = ok(StaffProductView, "The new product, as staff see it.", STAFF_VIEW, status=201)
AS_STAFF_SEE_IT = ok(StaffProductView, "The product, as staff see it.", STAFF_VIEW)

# --- errors ----------------------------------------------------------------------------------------

TAKEN = error(
    Conflict,
    "The sku or slug is taken by another product.",
    sample(Conflict("A product with the sku 'MUG-ENAMEL-350' already exists.")),
)
BAD_PRODUCT = error(
    InvalidInput,
    "A field is missing or invalid, or `category` names no category.",
    sample(InvalidInput.field("category", "There is no category 99.")),
)
NO_PRODUCT = error(NotFound, "No product has that id.", sample(NotFound("No such product.")))
HIDDEN_PRODUCT = error(
    NotFound,
    "No product has that id, or it is inactive (staff see inactive products).",
    sample(NotFound("No such product.")),
)
BAD_QUERY = error(
    InvalidInput,
    "A filter or page parameter is invalid (e.g. `min_price` above `max_price`, an unknown `ordering`).",
    sample(
        refusal(
            partial(product_filter, staff=False), ProductQuery(ordering="cheapest"), "USD", kind=InvalidInput
        )
    ),
)
OPTIONAL_BEARER = error(
    AuthenticationFailed, "A bearer token was sent and it is invalid, expired or revoked (it is optional)."
)

# --- parameters and request bodies -----------------------------------------------------------------

CATEGORY_FILTER = "A category id; its descendants count."
SEARCH_FILTER = "Words in name, description or sku."
MIN_PRICE = 'e.g. "10.00"'
MAX_PRICE = 'e.g. "99.99"'
IN_STOCK = "Only products with stock."
ORDERING = f"One of {', '.join(ORDERINGS)}."
NEW_PRODUCT = {
    "name": "Enamel mug",
    "sku": "MUG-ENAMEL-350",
    "price": "12.50",
    "category": 2,
    "description": "A 350 ml camping mug.",
    "discount_percentage": "10.00",
    "cost_price": "4.80",
    "stock_quantity": 42,
    "image_url": "https://cdn.example.com/mugs/enamel.jpg",
}
CREATE_BODY = body(
    request_example(
        CreateProduct, "The fields a product needs", name="Enamel mug", sku="MUG-1", price="12.50"
    ),
    request_example(CreateProduct, "Every field", **NEW_PRODUCT),
)
REPLACE_BODY = body(request_example(ReplaceProduct, "A new product sheet", **NEW_PRODUCT))
UPDATE_BODY = body(
    request_example(UpdateProduct, "A sale", discount_percentage="25.00"),
    request_example(UpdateProduct, "A restock", stock_quantity=120),
    request_example(UpdateProduct, "Take it off sale", is_active=False),
)
DELETE = "A product that orders reference is deactivated instead of erased."
