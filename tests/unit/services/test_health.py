"""The readiness report: every probe is asked, and one failure makes the whole not ok."""

from __future__ import annotations

import asyncio
import logging

import pytest

from shop_core.services.health import check_health
from tests.unit.services.conftest import World


class Answering:
    def __init__(self) -> None:
        self.pings = 0

    async def ping(self) -> None:
        self.pings += 1


class Failing:
    async def ping(self) -> None:
        raise ConnectionError("connection refused")


class Silent:
    async def ping(self) -> None:
        await asyncio.Event().wait()


async def test_all_probes_answering_is_ok(world: World) -> None:
    database, redis = Answering(), Answering()
    world.shop.ports.probes.update(
        {"database": database, "redis": redis}
    )  # the probes the shop was built with
    report = await world.shop.operations.check_health()
    assert report.ok is True
    assert {name: (d.ok, d.detail) for name, d in report.dependencies.items()} == {
        "database": (True, "ok"),
        "redis": (True, "ok"),
    }
    assert (database.pings, redis.pings) == (1, 1)


async def test_a_failing_probe_makes_the_report_not_ok_with_the_reason(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.shop.ports.probes.update(
        {"database": Answering(), "redis": Failing()}
    )  # the probes the shop was built with
    with caplog.at_level(logging.WARNING, logger="shop.health"):
        report = await world.shop.operations.check_health()
    assert report.ok is False
    assert report.dependencies["database"].ok is True
    assert report.dependencies["redis"].ok is False
    assert report.dependencies["redis"].detail == "ConnectionError: connection refused"
    [record] = caplog.records
    assert record.getMessage() == "health: redis is unavailable: ConnectionError: connection refused"
    assert record.exc_info is None  # one line per probe, no traceback


async def test_the_public_report_names_the_components_and_never_the_reasons(world: World) -> None:
    world.shop.ports.probes.update(
        {"database": Answering(), "redis": Failing()}
    )  # the probes the shop was built with
    report = (await world.shop.operations.check_health()).public()
    assert report.ok is False
    assert {name: (d.ok, d.detail) for name, d in report.dependencies.items()} == {
        "database": (True, "ok"),
        "redis": (False, "unavailable"),
    }


async def test_a_probe_that_does_not_answer_in_time_is_not_ok() -> None:
    report = await check_health(probes={"database": Answering(), "queue": Silent()}, seconds=0.01)
    assert report.ok is False
    assert report.dependencies["database"].ok is True
    assert report.dependencies["queue"].detail == "no answer within 0.01s"
    assert report.public().dependencies["queue"].detail == "unavailable"


async def test_no_probes_is_ok() -> None:
    report = await check_health(probes={})
    assert (report.ok, report.dependencies) == (True, {})
