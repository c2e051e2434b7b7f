"""A million products (`nox -s bench_scale`): the uncached catalog reads at 10,000 and at 1,000,000
products, side by side.

Creates its own PostgreSQL database (`shop_bench_scale`), migrates it (`shop db upgrade`), seeds
10,000 products in 1,000 categories (`shop catalog seed`), settles it (VACUUM ANALYZE), serves it
(`shop serve --workers 2`, `SHOP_CACHE_ENABLED=false`) and times each read with one client making
N sequential requests on one keep-alive connection; then seeds on to 1,000,000 products in the same
1,000 categories and times the same reads again. The reads:

1. `GET /api/products/` (page 1)               2. `GET /api/products/?page=5000` (a deep page)
3. `GET /api/products/?category=<root>`      (the root category with the most descendants)
4. `GET /api/products/?search=<word>`          5. `GET /api/products/?ordering=price`
and, beside them, a search that matches the same 100 products at both sizes (`search=SEED-0042`).

Prints p50/p99 per read and size, the ratio of the p50s (1M / 10k) and PASS (<= 2.0x) or MISS, how
many products the search word matches at each size, and the plan of the search's and the deep
page's statements at 1M (EXPLAIN ANALYZE). Writes `bench/results/scale-<UTC stamp>.json`. Whatever
happens, the server is stopped, the database dropped and the run's Redis keys deleted. At 10,000
products page 5,000 is past the end (404): the same request, answered from the same indexes.

    python bench/scale.py [--requests 300] [--small 10000] [--large 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import platform
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import asyncpg
from redis import Redis
from rich.console import Console
from rich.table import Table

import run  # bench/run.py: the catalog benchmark's database and server helpers
from run import BenchError, free_port, run_checked, with_database

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
TARGET = 2.0
# Seeded names are "<adjective> <noun> <n>" from ten of each: a shopper looking for a kettle types
# "kettle". It matches a tenth of the catalog at any size (1,000 products at 10k, 100,000 at 1M).
SEARCH_WORD = "kettle"
# A partial product code, as staff or a shopper holding a label type it: SEED-004200 to SEED-004299,
# the same 100 products at both sizes (a word of a long-tail catalog matches a bounded number too).
NARROW_SEARCH = "SEED-0042"
DEEP_PAGE = 5000
console = Console()


def options(argv: list[str]) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="timed requests per read and size")
    parser.add_argument("--warmup", type=int, default=30, help="untimed requests first")
    parser.add_argument("--small", type=int, default=10_000, help="products of the first measure")
    parser.add_argument("--large", type=int, default=1_000_000, help="products of the second")
    parser.add_argument("--categories", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--search", default=SEARCH_WORD, help="the search word")
    parser.add_argument(
        "--postgres-url",
        default=env("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="an admin URL: the bench creates and drops its own database there",
    )
    parser.add_argument("--database", default=env("BENCH_SCALE_DATABASE", "shop_bench_scale"))
    parser.add_argument("--redis-url", default=env("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.warmup < 0 or not 0 < args.small < args.large:
        parser.error("--requests >= 1, --warmup >= 0 and 0 < --small < --large")
    return args


async def _execute(url: str, *statements: str) -> list[Any]:
    conn = await asyncpg.connect(url)
    try:
        # Queries fetch their rows; anything else (VACUUM cannot be prepared) is executed.
        return [
            await conn.fetch(s) if s.startswith(("SELECT", "WITH", "EXPLAIN")) else await conn.execute(s)
            for s in statements
        ]
    finally:
        await conn.close()


def sql(url: str, *statements: str) -> list[Any]:
    return asyncio.run(_execute(url, *statements))


class Server(run.Server):
    """`shop serve` on a free port, ready, in a process group of its own; `get` can reuse a
    keep-alive connection."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path) -> None:
        port = free_port()
        super().__init__("shop serve", [*command, "--port", str(port)], env, cwd, port)
        self.wait_ready()

    def get(self, path: str, conn: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
        own = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            own.request("GET", path)
            answer = own.getresponse()
            return answer.status, answer.read()
        finally:
            if conn is None:
                own.close()


def reads(root: int, word: str) -> dict[str, str]:
    return {
        "list page 1": "/api/products/",
        f"list page {DEEP_PAGE:,}": f"/api/products/?page={DEEP_PAGE}",
        "category with descendants": f"/api/products/?category={root}",
        f"search={word}": f"/api/products/?search={word}",
        f"search={NARROW_SEARCH}": f"/api/products/?search={NARROW_SEARCH}",
        "ordering=price": "/api/products/?ordering=price",
    }


def measure(server: Server, path: str, args: argparse.Namespace) -> dict[str, Any]:
    """p50/p99 (ms) of `args.requests` sequential GETs on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        status, body = server.get(path, conn)
        if status not in (200, 404) or (status == 404 and f"page={DEEP_PAGE}" not in path):
            raise BenchError(f"GET {path} answered {status}: {body[:300]!r}")
        for _ in range(args.warmup):
            server.get(path, conn)
        times: list[float] = []
        for _ in range(args.requests):
            started = time.perf_counter()
            server.get(path, conn)
            times.append((time.perf_counter() - started) * 1000)
    finally:
        conn.close()
    times.sort()
    count = json.loads(body).get("count") if status == 200 else None
    return {
        "status": status,
        "count": count,
        "p50_ms": round(statistics.median(times), 3),
        "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 3),
    }


def explain(db_url: str, root: int, word: str) -> dict[str, list[str]]:
    """EXPLAIN ANALYZE of the search's and the deep page's statements, as the shop builds them."""
    from sqlalchemy.dialects import postgresql

    from shop_core.adapters.sql.catalog_reader import list_statement_for
    from shop_core.ports.catalog import ProductFilter

    plans: dict[str, list[str]] = {}
    wanted: dict[str, tuple[ProductFilter, int, Literal["page", "count"]]] = {
        "search page": (ProductFilter(search=word), 0, "page"),
        "search count": (ProductFilter(search=word), 0, "count"),
        "narrow search count": (ProductFilter(search=NARROW_SEARCH), 0, "count"),
        "deep page": (ProductFilter(), (DEEP_PAGE - 1) * 20, "page"),
        "deep page count": (ProductFilter(), (DEEP_PAGE - 1) * 20, "count"),
        "category count": (ProductFilter(category_id=root), 0, "count"),
    }
    for name, (query, offset, which) in wanted.items():
        statement = list_statement_for(query, "postgresql", which, offset=offset, limit=20)
        assert statement is not None
        text = str(
            statement.compile(dialect=postgresql.asyncpg.dialect(), compile_kwargs={"literal_binds": True})
        )
        rows = sql(db_url, "EXPLAIN (ANALYZE, COSTS OFF) " + text)[0]
        plans[name] = [row[0] for row in rows]
    return plans


def plan_nodes(lines: list[str]) -> str:
    """The plan's node names, in order (what reads or skips rows)."""
    nodes = [line.strip().removeprefix("->").strip().split("  (")[0] for line in lines if "(actual" in line]
    return " > ".join(
        dict.fromkeys(
            n.split(" on ")[0] + (" on " + n.split(" on ")[1] if " on " in n else "") for n in nodes
        )
    )


class Bench:
    def __init__(self, args: argparse.Namespace, shop: str) -> None:
        self.args = args
        self.shop = shop
        self.stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.prefix = f"shop-bench-scale-{os.getpid()}:"
        self.db_url = with_database(args.postgres_url, args.database)
        self.workdir = Path(tempfile.mkdtemp(prefix="shop-bench-scale-"))
        self.created = False
        self.server: Server | None = None
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")} | {
            "SHOP_ENV": "production",
            "SHOP_SECRET_KEY": secrets.token_urlsafe(48),
            "SHOP_METRICS_TOKEN": secrets.token_urlsafe(24),
            "SHOP_DATABASE_URL": with_database(args.postgres_url, args.database, "postgresql+asyncpg"),
            "SHOP_REDIS_URL": args.redis_url,
            "SHOP_REDIS_KEY_PREFIX": self.prefix,
            "SHOP_RATE_LIMIT_ENABLED": "false",
            "SHOP_CACHE_ENABLED": "false",
            "SHOP_LOG_LEVEL": "warning",
            "PYTHONUNBUFFERED": "1",
        }

    def seed(self, products: int) -> float:
        seconds = run_checked(
            [
                self.shop,
                "catalog",
                "seed",
                "--yes",
                "--products",
                str(products),
                "--categories",
                str(self.args.categories),
            ],
            self.env,
            self.workdir,
        )
        sql(self.db_url, "VACUUM ANALYZE")  # settled, as autovacuum leaves a table that stopped growing
        return seconds

    def size(self, products: int, root: int) -> dict[str, Any]:
        server = self.server = Server(
            [self.shop, "serve", "--host", "127.0.0.1", "--workers", str(self.args.workers)],
            self.env,
            self.workdir,
        )
        try:
            measured = {}
            for name, path in reads(root, self.args.search).items():
                with console.status(f"{products:,} products: {name}"):
                    measured[name] = {"path": path, **measure(server, path, self.args)}
            return measured
        finally:
            server.stop()
            self.server = None

    def run(self) -> None:
        args = self.args
        console.print(f"creating {args.database}, migrating, seeding {args.small:,} products")
        Redis.from_url(args.redis_url).ping()
        sql(
            args.postgres_url,
            f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)',
            f'CREATE DATABASE "{args.database}"',
        )
        self.created = True
        run_checked([self.shop, "db", "upgrade"], self.env, self.workdir)
        seeded = {args.small: self.seed(args.small)}
        root = sql(
            self.db_url,
            "WITH RECURSIVE tree (root, id) AS (SELECT id, id FROM categories WHERE parent_id IS NULL "
            "UNION ALL SELECT tree.root, c.id FROM categories c JOIN tree ON c.parent_id = tree.id) "
            "SELECT root FROM tree GROUP BY root ORDER BY count(*) DESC, root LIMIT 1",
        )[0][0]["root"]
        results = {args.small: self.size(args.small, root)}
        console.print(f"seeding on to {args.large:,} products (this takes minutes)")
        seeded[args.large] = self.seed(args.large)
        results[args.large] = self.size(args.large, root)
        plans = explain(self.db_url, root, args.search)
        descendants = sql(
            self.db_url,
            f"WITH RECURSIVE tree (id) AS (SELECT {int(root)} UNION ALL SELECT c.id FROM categories c "  # noqa: S608 - an int
            "JOIN tree ON c.parent_id = tree.id) SELECT count(*) AS n FROM tree",
        )[0][0]["n"]
        self.report(results, seeded, plans, root, descendants)

    def report(
        self,
        results: dict[int, dict[str, Any]],
        seeded: dict[int, float],
        plans: dict[str, list[str]],
        root: int,
        descendants: int,
    ) -> None:
        small, large = self.args.small, self.args.large
        table = Table(title=f"Uncached reads, one client, p50/p99 in ms ({self.args.requests} requests each)")
        for column in (
            "read",
            f"p50 {small:,}",
            f"p99 {small:,}",
            f"p50 {large:,}",
            f"p99 {large:,}",
            "ratio",
            "target",
        ):
            table.add_column(column, justify="left" if column == "read" else "right")
        verdicts = {}
        for name, at_small in results[small].items():
            at_large = results[large][name]
            ratio = at_large["p50_ms"] / at_small["p50_ms"]
            verdicts[name] = {"ratio": round(ratio, 2), "pass": ratio <= TARGET}
            table.add_row(
                name,
                f"{at_small['p50_ms']:.2f}",
                f"{at_small['p99_ms']:.2f}",
                f"{at_large['p50_ms']:.2f}",
                f"{at_large['p99_ms']:.2f}",
                f"{ratio:.2f}x",
                "[green]PASS[/]" if ratio <= TARGET else "[red]MISS[/]",
            )
        console.print(table)
        word = self.args.search
        matched = {n: results[n][f"search={word}"]["count"] for n in (small, large)}
        narrow = {n: results[n][f"search={NARROW_SEARCH}"]["count"] for n in (small, large)}
        console.print(
            f"search={word} matches {matched[small]:,} products at {small:,} "
            f"and {matched[large]:,} at {large:,}"
        )
        console.print(f"search={NARROW_SEARCH} matches {narrow[small]:,} and {narrow[large]:,}")
        console.print(f"category {root} has {descendants} categories under it (itself included)")
        console.print(
            f"seeding took {seeded[small]:.1f} s ({small:,}) and {seeded[large]:.1f} s (on to {large:,})"
        )
        for name, lines in plans.items():
            console.print(
                f"[bold]{name}[/] at {large:,}: {plan_nodes(lines)}", soft_wrap=True, highlight=False
            )
        if self.args.no_save:
            return
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"scale-{self.stamp}.json"
        path.write_text(
            json.dumps(
                {
                    "stamp": self.stamp,
                    "machine": {
                        "platform": platform.platform(),
                        "cpus": os.cpu_count(),
                        "python": platform.python_version(),
                    },
                    "requests": self.args.requests,
                    "workers": self.args.workers,
                    "categories": self.args.categories,
                    "root_category": {"id": root, "categories": descendants},
                    "search_word": word,
                    "search_matches": {str(k): v for k, v in matched.items()},
                    "narrow_search": NARROW_SEARCH,
                    "narrow_search_matches": {str(k): v for k, v in narrow.items()},
                    "seed_seconds": {str(k): round(v, 1) for k, v in seeded.items()},
                    "results": {str(k): v for k, v in results.items()},
                    "verdicts": verdicts,
                    "plans": plans,
                },
                indent=2,
            )
            + "\n"
        )
        console.print(f"wrote {path.relative_to(BENCH.parent)}")

    def clean_up(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self.created:
            with suppress(Exception):
                sql(self.args.postgres_url, f'DROP DATABASE IF EXISTS "{self.args.database}" WITH (FORCE)')
        with suppress(Exception):
            redis = Redis.from_url(self.args.redis_url)
            for key in redis.scan_iter(match=self.prefix + "*"):
                redis.delete(key)
            redis.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


def main(argv: list[str]) -> int:
    args = options(argv)
    shop = shutil.which("shop", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if shop is None:
        console.print("[bold red]error:[/] the `shop` command is missing: pip install -e '.[all]'")
        return 2

    return run.run_to_the_end(Bench(args, shop))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
