"""Staff are emailed about a review that waits for their approval, through a real SMTP server;
the review's text arrives escaped in the HTML part and as written in the plain-text part."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from functools import partial

import pytest
from litestar.testing import AsyncTestClient

from shop_core.bootstrap import bootstrap
from shop_http import create_app
from tests.conftest import fast_hasher, make_settings
from tests.http.conftest import in_app, new_staff, shop_of
from tests.http.reviews_support import ReviewWorld
from tests.http.test_notifications import STORE, inbox, parts, subject_of  # noqa: F401 - `inbox`: a fixture
from tests.smtp_server import Inbox

HOSTILE = "<script>alert('x')</script> & <b>bold</b>"


@pytest.fixture(params=[True, False], ids=["approval", "no-approval"])
async def mailing(
    sqlite_url: str,
    inbox: Inbox,  # noqa: F811 - the fixture
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[ReviewWorld, Inbox, bool]]:
    settings = make_settings(
        sqlite_url,
        smtp_url=inbox.url,
        store_name=STORE,
        job_retry_delay=0.01,
        reviews_require_approval=request.param,
    )
    app = create_app(settings, shop_factory=partial(bootstrap, hasher=fast_hasher()))
    async with AsyncTestClient(app) as client:
        yield ReviewWorld(client, await new_staff(client)), inbox, request.param


async def drain(world: ReviewWorld) -> None:
    await in_app(world.client, shop_of(world.client).jobs.drain_jobs)


def waiting_alerts(box: Inbox, to: str) -> list[EmailMessage]:
    return [m for m in box.messages if m["To"] == to and "waits for approval" in subject_of(m)]


async def test_staff_hear_of_a_waiting_review_with_its_text_escaped(
    mailing: tuple[ReviewWorld, Inbox, bool],
) -> None:
    world, box, approval = mailing
    lamp = await world.product("Desk <Lamp>")
    ada = await world.customer("Ada", "Lovelace")
    await world.delivered(ada, lamp)
    await drain(world)
    made = await world.review(ada, lamp, rating=2, title=HOSTILE, body=f"Line one\n{HOSTILE}")
    await drain(world)
    alerts = waiting_alerts(box, world.staff.email)
    if not approval:
        assert alerts == []  # published at once: nothing waits
        return
    [alert] = alerts
    assert subject_of(alert) == f"A review of {lamp['sku']} waits for approval — {STORE}"
    html_part = alert.get_body(preferencelist=("html",))
    assert html_part is not None
    raw_html = html_part.get_content()
    assert "<script>" not in raw_html
    assert "<b>bold</b>" not in raw_html
    assert "&lt;script&gt;" in raw_html
    assert "Desk &lt;Lamp&gt;" in raw_html
    text, html = parts(alert)
    assert HOSTILE in text  # plain text is plain text
    assert HOSTILE in html  # what the reader sees, once the escaping is undone
    assert "Ada L." in text
    assert ada.email not in text + html
    assert f"shop reviews publish {made['id']}" in text

    assert (await world.edit(world.staff, made, is_published=True)).status_code == 200
    assert (await world.edit(ada, made, rating=2)).status_code == 200  # the same: stays published
    await drain(world)
    assert len(waiting_alerts(box, world.staff.email)) == 1
    assert (await world.edit(ada, made, body="New words")).json()["is_published"] is False
    await drain(world)
    assert len(waiting_alerts(box, world.staff.email)) == 2  # the new words wait: staff hear again
