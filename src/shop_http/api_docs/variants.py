"""The documentation of `controllers.variants`: a product's variants (what each operation does is in
its handler's docstring)."""

from __future__ import annotations

from shop_core.domain.errors import Conflict, InvalidInput, NotFound
from shop_core.domain.variants import DuplicateCombination
from shop_core.services.catalog_variants import AddVariant, UpdateVariant
from shop_core.services.catalog_views import VariantView
from shop_http.api_docs.examples import RED_M
from shop_http.openapi import body, error, example, ok, request_example, sample

LIST = ok(list[VariantView], "Every variant of the product, inactive ones too.", example([RED_M]))
CREATED = ok(VariantView, "The new variant.", example(RED_M), status=201)
CHANGED = ok(VariantView, "The variant as it is now.", example(RED_M))

BAD_VARIANT = error(
    InvalidInput,
    "A field is invalid, or the option values do not match the product's options (an unknown option "
    "or value, or one missing).",
    sample(InvalidInput.field("options", "'XL' is not a value of 'Size'; one of S, M, L.")),
    sample(InvalidInput.field("options", "Unknown option 'Fit'; the product's: Size, Color.")),
)
TAKEN = error(
    Conflict,
    "The sku is in use (by any product or variant), or another variant of the product has these "
    "option values.",
    sample(Conflict("The sku 'TEE-M-RED' is already in use.")),
    sample(DuplicateCombination("M / Red")),
)
LAST_ONE = error(
    Conflict,
    "It is the product's only variant.",
    sample(Conflict("A product keeps at least one variant: delete the product instead.")),
)
NO_VARIANT = error(
    NotFound,
    "No product has that id, or the variant is not one of its variants.",
    sample(NotFound("No such variant of this product.")),
)

ADD_BODY = body(
    request_example(
        AddVariant,
        "A size and colour, with its own price and stock",
        sku="TEE-M-RED",
        options={"Size": "M", "Color": "Red"},
        price="20.00",
        stock_quantity=12,
        weight_grams=180,
    ),
    request_example(
        AddVariant,
        "At the product's price, no stock yet",
        sku="TEE-L-BLACK",
        options={"Size": "L", "Color": "Black"},
    ),
)
UPDATE_BODY = body(
    request_example(UpdateVariant, "A restock", stock_quantity=40),
    request_example(UpdateVariant, "Back to the product's price", price=None),
    request_example(UpdateVariant, "Stop selling it", is_active=False),
)
DELETE = (
    "Erases the variant, or deactivates it when orders reference it (then it stays in their history "
    "and carts show it as not in stock). A product keeps at least one variant: 409 for the last."
)
