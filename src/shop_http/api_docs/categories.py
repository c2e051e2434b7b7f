"""The documentation of `controllers.categories`: the catalog's categories (what each operation does
is in its handler's docstring)."""

from __future__ import annotations

from shop_core.domain.catalog import check_parent
from shop_core.domain.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from shop_core.services.catalog_commands import CreateCategory, ReplaceCategory, UpdateCategory
from shop_core.services.catalog_views import CategoryView, ProductView
from shop_http.api_docs.examples import CATEGORY, PRODUCT
from shop_http.openapi import PAST_THE_END, body, error, example, ok, refusal, request_example, sample
from shop_http.pagination import PageOf


class CategoryDetailView(CategoryView, kw_only=True):
    """The category, its direct children, and a page of its products (those of descendants too)."""

    children: list[CategoryView]
    products: PageOf[ProductView]


HOME = CategoryView(id=1, name="Home", slug="home", parent=None, description="")
ONE_CATEGORY = example(CATEGORY)

# --- answers ---------------------------------------------------------------------------------------

PAGE = ok(
    PageOf[CategoryView],
    "A page of categories, by id.",
    example(PageOf(count=2, next=None, previous=None, results=[HOME, CATEGORY]), "Every category"),
)
DETAIL = ok(
    CategoryDetailView,
    "The category.",
    example(
        CategoryDetailView(
            id=1,
            name="Home",
            slug="home",
            parent=None,
            description="",
            children=[CATEGORY],
            products=PageOf(count=1, next=None, previous=None, results=[PRODUCT]),
        )
    ),
)
CREATED = ok(CategoryView, "The new category.", ONE_CATEGORY, status=201)
THE_CATEGORY = ok(CategoryView, "The category.", ONE_CATEGORY)

# --- errors ----------------------------------------------------------------------------------------

OPTIONAL_BEARER = error(
    AuthenticationFailed, "A bearer token was sent and it is invalid, expired or revoked (it is optional)."
)
NO_CATEGORY = error(NotFound, "No category has that id.", sample(NotFound("No such category.")))
NO_CATEGORY_OR_PAGE = error(
    NotFound,
    "No category has that id, or the products' page is past the end.",
    sample(NotFound("No such category.")),
    PAST_THE_END,
)
BAD_CATEGORY = error(
    InvalidInput,
    "A field is missing or invalid, `parent` names no category, or would make a cycle.",
    sample(refusal(check_parent, 1, 2, {1: None, 2: 1}, kind=InvalidInput)),
)
SLUG_TAKEN = error(
    Conflict,
    "The slug is taken by another category.",
    sample(Conflict("A category with the slug 'mugs' already exists.")),
)
NOT_EMPTY = error(
    Conflict,
    "The category still has products or subcategories.",
    sample(Conflict("The category has products; move or delete them first.")),
)

# --- request bodies --------------------------------------------------------------------------------

CREATE_BODY = body(
    request_example(CreateCategory, "A top-level category", name="Home"),
    request_example(
        CreateCategory,
        "A subcategory",
        name="Mugs",
        parent=1,
        description="Stoneware and enamel.",
    ),
)
REPLACE_BODY = body(
    request_example(ReplaceCategory, "Renamed and moved", name="Cups & mugs", slug="cups-and-mugs", parent=1)
)
UPDATE_BODY = body(
    request_example(UpdateCategory, "A new description", description="Stoneware and enamel."),
    request_example(UpdateCategory, "Make it top-level", parent=None),
)
