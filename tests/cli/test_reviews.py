"""`shop reviews list|show|publish|unpublish|delete`: staff moderate reviews from the command line."""

from __future__ import annotations

import asyncio
import json

from shop_core.bootstrap import bootstrap
from shop_core.domain.actors import Actor
from shop_core.services.reviews import WriteReview
from tests.cli.conftest import Cli, error_line, ok, table_rows
from tests.cli.test_orders import cli, product_ids  # noqa: F401 - `cli`: the fixture with products
from tests.cli.test_returns import delivered
from tests.conftest import fast_hasher, make_settings


def write(cli: Cli, user_id: int, product_id: int, rating: int, *, title: str = "", body: str = "") -> int:  # noqa: F811
    """The customer writes a review (through the service: the CLI is staff's); its id."""

    async def run() -> int:
        async with bootstrap(
            make_settings(cli.database_url, reviews_require_approval=True), hasher=fast_hasher()
        ) as shop:
            cmd = WriteReview(rating=rating, title=title, body=body)
            return (await shop.reviews.write(product_id, cmd, Actor(f"user:{user_id}", user_id))).id

    return asyncio.run(run())


def rating_of(cli: Cli, sku: str) -> tuple[str | None, int]:  # noqa: F811
    products = json.loads(ok(cli("products", "list", "--json")))["results"]
    [found] = [p for p in products if p["sku"] == sku]
    return found["rating_average"], found["rating_count"]


def test_staff_list_the_queue_publish_unpublish_and_delete(cli: Cli) -> None:  # noqa: F811
    _, user_id, _ = delivered(cli)
    ids = product_ids(cli)
    lamp = write(cli, user_id, ids["LAMP-1"], 4, title="[bold]Bright[/bold]", body="Line one\nLine two")
    mug = write(cli, user_id, ids["MUG-1"], 2, title="Chipped")

    rows = table_rows(ok(cli("reviews", "list", "--unpublished")))
    assert [(r["id"], r["rating"], r["published"]) for r in rows] == [
        (str(mug), "2/5", "no"),
        (str(lamp), "4/5", "no"),
    ]
    assert rows[1]["title"] == "[bold]Bright[/bold]"  # shown as written, never read as markup
    assert rating_of(cli, "LAMP-1") == (None, 0)

    assert "published" in ok(cli("reviews", "publish", str(lamp)))
    assert rating_of(cli, "LAMP-1") == ("4.0", 1)
    assert [r["id"] for r in table_rows(ok(cli("reviews", "list", "--unpublished")))] == [str(mug)]
    only_lamp = table_rows(ok(cli("reviews", "list", "--product", str(ids["LAMP-1"]))))
    assert [r["id"] for r in only_lamp] == [str(lamp)]
    shown = ok(cli("reviews", "show", str(lamp)))
    assert "title: [bold]Bright[/bold]" in shown
    assert "Line one\nLine two" in shown
    as_json = json.loads(ok(cli("reviews", "show", str(lamp), "--json")))
    assert (as_json["rating"], as_json["is_published"], as_json["body"]) == (4, True, "Line one\nLine two")

    assert "not published" in ok(cli("reviews", "unpublish", str(lamp)))
    assert rating_of(cli, "LAMP-1") == (None, 0)
    ok(cli("reviews", "publish", str(lamp)))
    assert f"Deleted review {lamp}." in ok(cli("reviews", "delete", str(lamp), "--yes"))
    assert rating_of(cli, "LAMP-1") == (None, 0)
    page = json.loads(ok(cli("reviews", "list", "--json")))
    assert (page["count"], [r["id"] for r in page["results"]]) == (1, [mug])


def test_refusals_are_one_clear_line_and_change_nothing(cli: Cli) -> None:  # noqa: F811
    _, user_id, _ = delivered(cli)
    ids = product_ids(cli)
    review = write(cli, user_id, ids["LAMP-1"], 5)
    for command in ("show", "publish", "unpublish"):
        for bad in ("999999", "0", "3000000000"):
            assert "no such review" in error_line(cli("reviews", command, bad)).lower()
    assert "no such review" in error_line(cli("reviews", "delete", "999999", "--yes")).lower()
    assert "--product" in error_line(cli("reviews", "list", "--product", "0"))
    for usage in (("list", "--product", "x"), ("publish", "x"), ("delete",)):
        wrong = cli("reviews", *usage)
        assert wrong.exit_code == 2, wrong.output
        assert "Traceback" not in wrong.output
    declined = cli("reviews", "delete", str(review), input="n\n")
    assert declined.exit_code == 1
    assert "Aborted: nothing was changed" in declined.stderr
    assert "past the end" in error_line(cli("reviews", "list", "--page", "2"))
    page = json.loads(ok(cli("reviews", "list", "--json")))
    assert [(r["id"], r["is_published"]) for r in page["results"]] == [(review, False)]
