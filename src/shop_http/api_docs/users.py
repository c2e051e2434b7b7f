"""The documentation of `controllers.users`: staff's views of accounts."""

from __future__ import annotations

from shop_core.services.views import UserView
from shop_http.api_docs.examples import AT, CUSTOMER
from shop_http.openapi import example, ok
from shop_http.pagination import PageOf

ADMIN = UserView(
    id=1,
    email="admin@example.com",
    username="admin",
    first_name="",
    last_name="",
    phone="",
    is_staff=True,
    date_joined=AT,
)
PAGE = ok(
    PageOf[UserView],
    "A page of accounts.",
    example(PageOf(count=2, next=None, previous=None, results=[ADMIN, CUSTOMER]), "Every account"),
)
LIST = "Inactive accounts too (`is_active: false`)."
