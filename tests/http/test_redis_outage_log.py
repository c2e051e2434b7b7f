"""A Redis outage does not flood the log: each component says once that Redis is unreachable,
then at most one summary per interval while it stays so, and once that it is back. The clock of
the summaries is injected; the outage is a real one (a proxy in front of Redis that goes down)."""

from __future__ import annotations

import logging

import pytest
from litestar.testing import AsyncTestClient

from shop_core.services.circuit_breaker import OutageLog
from shop_http.limits import AUTH_STORE, GENERAL_STORE
from tests.conftest import build_app, make_settings
from tests.http.conftest import Client, new_account, shop_of
from tests.redis_outage import redis_outage

REQUESTS = 60


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def outage_logs(client: Client) -> list[OutageLog]:
    shop = shop_of(client)
    stores = client.app.stores
    return [
        stores.get(GENERAL_STORE).outage,
        stores.get(AUTH_STORE).outage,
        shop.ports.tokens.breaker.log,  # type: ignore[attr-defined]
        shop.ports.throttle.breaker.log,  # type: ignore[attr-defined]
        shop.catalog_cache.breaker.log,
    ]


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "reachable" in r.getMessage()]


async def browse(client: Client, headers: dict[str, str], times: int) -> None:
    for _ in range(times):
        assert (await client.get("/api/products/")).status_code == 200
        assert (await client.get("/api/auth/profile/", headers=headers)).status_code == 200


@pytest.mark.redis
async def test_an_outage_logs_its_start_a_summary_per_interval_and_its_end(
    sqlite_url: str, redis_url: str, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    async with redis_outage(redis_url) as outage:
        settings = make_settings(
            sqlite_url, rate_limit_enabled=True, redis_url=outage.url, redis_key_prefix=redis_prefix
        )
        async with AsyncTestClient(build_app(settings)) as client:
            for log in outage_logs(client):
                log.clock = clock
            me = await new_account(client)
            caplog.set_level(logging.INFO)
            caplog.clear()

            outage.down()
            await browse(client, me.headers, REQUESTS)
            started = outage_lines(caplog)
            assert "Rate limiter (Redis) unreachable: not limited" in started
            assert len(started) <= 4, started  # one per component that noticed, not per request
            assert len(set(started)) == len(started), started

            caplog.clear()
            clock.now += 5
            await browse(client, me.headers, REQUESTS)
            summaries = outage_lines(caplog)
            limiter = [line for line in summaries if line.startswith("Rate limiter")]
            assert len(limiter) == 1, summaries
            assert "still unreachable" in limiter[0]
            assert "not limited in the last 5 s" in limiter[0]
            assert len(summaries) <= 4, summaries

            caplog.clear()
            outage.up()
            shop = shop_of(client)  # end the shop's pauses now rather than wait them out
            shop.ports.tokens.breaker.reset()  # type: ignore[attr-defined]
            shop.catalog_cache.breaker.reset()
            await browse(client, me.headers, REQUESTS)
            back = outage_lines(caplog)
            assert back.count("Rate limiter (Redis) reachable again") == 1, back
            assert not [line for line in back if "still unreachable" in line], back
            assert len(back) == len(set(back)), back


def test_an_outage_log_says_it_once_then_sums_up_then_says_it_is_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    log = OutageLog("Thing (Redis)", "not counted", summary_every=5, clock=clock)
    caplog.set_level(logging.INFO, logger="shop.outage")

    for _ in range(1000):
        log.failed()
    clock.now += 4.9
    for _ in range(10):
        log.failed()
    assert [r.getMessage() for r in caplog.records] == ["Thing (Redis) unreachable: not counted"]

    caplog.clear()
    clock.now += 0.1
    log.failed()
    log.failed()
    assert [r.getMessage() for r in caplog.records] == [
        "Thing (Redis) still unreachable: 1010 more calls not counted in the last 5 s"
    ]

    caplog.clear()
    log.succeeded()
    log.succeeded()
    log.failed()
    assert [r.getMessage() for r in caplog.records] == [
        "Thing (Redis) reachable again",
        "Thing (Redis) unreachable: not counted",
    ]
