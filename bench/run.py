"""The catalog benchmark (`nox -s bench`): the shop against a minimal reference, measured with wrk.

Creates a fresh PostgreSQL database, migrates it (`shop db upgrade`), seeds 10,000 products in 50
categories, then serves and measures, one after the other, each on a free port with 2 workers:

1. the shop (`shop serve`) with its cache on: list, detail, search, category;
2. the shop with `SHOP_CACHE_ENABLED=false`: list, detail;
3. the reference app (`bench/reference_app.py`, uvicorn): list, detail, and the ceiling (a fixed
   JSON body from memory through the same server and workers; the shop's cached reads are also
   reported as a fraction of it);
4. checkout: the shop (cache on) and the reference, both up, each `POST /api/orders/` with 3-line
   orders from authenticated customers (the shop: with its Idempotency-Key, order event and stock
   movements; the reference: the bare transaction of `bench/reference_orders.py`), and the shop
   again with a 10% voucher on every order (`checkout + voucher`, limited per customer;
   `checkout + limited voucher`, also limited in all: every checkout counts it on the voucher's
   row), each measured against the shop's plain checkout: what counting a voucher's use costs.
   The four are measured in turn, in `--rounds` rounds, every other round in reverse order.

Every scenario is warmed up, then driven by wrk at 32 connections (2 threads) for a fixed time.
Prints the table and the targets, writes `bench/results/<UTC timestamp>.json` and `latest.json`.
Whatever happens (errors, Ctrl-C), every server it started is stopped, the bench database dropped
and the bench's Redis keys deleted. A missed target is reported, never an exit status.

    python bench/run.py [--duration 10] [--warmup 3]   # or BENCH_DURATION / BENCH_WARMUP
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from redis import Redis
from rich.console import Console
from rich.table import Table

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
SEARCH_WORD = "lamp"  # seeded names are "<adjective> <noun> <n>", and Lamp is one of ten nouns
WRK_INSTALL = (
    "wrk is not installed (it drives the benchmark). Install it with `sudo apt-get install wrk` "
    "(Debian/Ubuntu), `sudo dnf install wrk` (Fedora) or `brew install wrk` (macOS), then run again."
)
# Prints the numbers we need as one JSON line after wrk's own report (latencies in microseconds).
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%.0f,"duration_us":%.0f,"p50_us":%.1f,"p90_us":%.1f,"p99_us":%.1f,' ..
    '"max_us":%.1f,"mean_us":%.1f,"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
"""
# The checkout: each request a 3-line order (3 distinct products drawn from the seeded catalog, the
# same draws for every app: each thread seeds its own generator with its number), a customer's
# token in turn and a fresh Idempotency-Key (the run's nonce, the thread, a counter). Every answer
# that is not a 201 is counted (the first one kept as a sample); `done` adds them to the JSON.
CHECKOUT_SCRIPT = """
local tokens = {%(tokens)s}
local products = {%(products)s}
local threads = {}
local address = '"shipping_address":{"full_name":"Bench Customer","line1":"1 Bench Street",' ..
  '"city":"Dhaka","postal_code":"1207","country":"BD"},"payment_method":"cod"%(extra)s}'

setup = function(thread)
  table.insert(threads, thread)
  thread:set("number", #threads)
end

init = function(args)
  nonce = args[1] or "run"
  counter = 0
  bad = 0
  sample = ""
  math.randomseed(number * 7919)
end

request = function()
  counter = counter + 1
  local n = #products
  local a = math.random(n)
  local b = math.random(n - 1)
  if b >= a then b = b + 1 end
  local c = math.random(n - 2)
  local low, high = math.min(a, b), math.max(a, b)
  if c >= low then c = c + 1 end
  if c >= high then c = c + 1 end
  local body = string.format(
    '{"items":[{"product_id":%%d,"quantity":%%d},{"product_id":%%d,"quantity":%%d},' ..
    '{"product_id":%%d,"quantity":%%d}],%%s',
    products[a], math.random(3), products[b], 1, products[c], math.random(2), address)
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[(counter * 2 + number) %% #tokens + 1],
    ["Idempotency-Key"] = string.format("%%s-%%d-%%d", nonce, number, counter),
  }
  return wrk.format("POST", "%(path)s", headers, body)
end

response = function(status, headers, body)
  if status ~= 201 then
    bad = bad + 1
    if sample == "" then sample = status .. " " .. string.sub(body or "", 1, 300) end
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  local not201, first = 0, ""
  for _, thread in ipairs(threads) do
    not201 = not201 + (thread:get("bad") or 0)
    local s = thread:get("sample") or ""
    if first == "" and s ~= "" then first = s end
  end
  io.write("BENCH_SAMPLE " .. first:gsub("\\n", " ") .. "\\n")
  io.write(string.format(
    'BENCH_JSON {"requests":%%.0f,"duration_us":%%.0f,"p50_us":%%.1f,"p90_us":%%.1f,"p99_us":%%.1f,' ..
    '"max_us":%%.1f,"mean_us":%%.1f,"connect":%%.0f,"read":%%.0f,"write":%%.0f,"status":%%.0f,' ..
    '"timeout":%%.0f,"not201":%%.0f}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.status,
    e.timeout, not201))
end
"""
CHECKOUT_PATH = "/api/orders/"
CHECKOUT_STOCK = 100_000_000  # never runs out during a run
CHECKOUT_PASSWORD = "bench-Customer-2026"  # noqa: S105 - throwaway accounts in a throwaway database
BENCH_VOUCHER = "BENCH10"  # 10% off, one use per customer... a million times over: no global limit
LIMITED_VOUCHER = "LIMITED10"  # the same with a usage_limit: every checkout queues on its row
VOUCHER_SCENARIO = "checkout + voucher"
LIMITED_SCENARIO = "checkout + limited voucher"
TARGETS = (  # (app run, scenario, minimum ratio to the reference)
    ("cache on", "list", 4.0),
    ("cache on", "detail", 2.0),
    ("cache off", "list", 0.8),
    ("cache off", "detail", 0.8),
    ("cache on", "checkout", 0.7),
    ("cache on", VOUCHER_SCENARIO, 0.9),  # against the shop's plain checkout, not the reference
    ("cache on", LIMITED_SCENARIO, 0.8),  # likewise; every checkout takes the voucher's row in turn
)
MAX_TAIL = 4.0  # p99 / p50
X = "\N{MULTIPLICATION SIGN}"
console = Console(width=None if sys.stdout.isatty() else 120)  # rich's 80 columns wrap the table


@dataclass(frozen=True)
class Scenario:
    key: str
    path: str


# The reference's fixed JSON body from memory: what the server and framework alone can do.
CEILING = Scenario("ceiling", "/bench/ceiling")


@dataclass
class Result:
    run: str  # "cache on", "cache off", "reference"
    scenario: str
    path: str
    requests: int
    requests_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # socket errors, timeouts and non-2xx answers (checkout: anything but a 201)
    ratio: float | None = None  # requests/s over the reference's for the same scenario
    of_ceiling: float | None = None  # cached reads: requests/s over the ceiling's (a fixed body from memory)
    method: str = "GET"
    written: dict[str, int] | None = None  # checkout: rows each table gained during the measured run
    cpu_ms: dict[str, float] | None = None  # checkout: CPU milliseconds per order, by process kind


# --------------------------------------------------------------------------------------- options


def options(argv: list[str]) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--duration", type=int, default=int(env("BENCH_DURATION", "10")), help="seconds per scenario"
    )
    parser.add_argument(
        "--warmup", type=int, default=int(env("BENCH_WARMUP", "3")), help="warm-up seconds per scenario"
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--categories", type=int, default=50)
    parser.add_argument("--customers", type=int, default=64, help="customer accounts placing orders")
    parser.add_argument(
        "--rounds",
        type=int,
        default=int(env("BENCH_ROUNDS", "2")),
        help="the checkouts (the shop's three and the reference's) are measured in this many rounds of "
        "--duration/rounds seconds each, in turn, every other round in reverse order",
    )
    parser.add_argument("--no-checkout", action="store_true", help="skip the checkout scenario")
    parser.add_argument("--checkout-only", action="store_true", help="only the checkout scenario")
    parser.add_argument(
        "--postgres-url",
        default=env("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="an admin URL: the bench creates and drops its own database there",
    )
    parser.add_argument("--database", default=env("BENCH_DATABASE", "shop_bench"))
    parser.add_argument("--redis-url", default=env("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/")
    args = parser.parse_args(argv)
    if args.checkout_only and args.no_checkout:
        parser.error("--checkout-only and --no-checkout exclude each other")
    if args.duration < 1 or args.warmup < 0:
        parser.error("--duration must be at least 1 and --warmup at least 0 (seconds)")
    if not 1 <= args.rounds <= args.duration:
        parser.error("--rounds must be at least 1 and at most --duration")
    return args


def with_database(url: str, name: str, scheme: str | None = None) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme=scheme or parts.scheme, path=f"/{name}"))


# ------------------------------------------------------------------------------- the database


async def _admin(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def create_database(admin_url: str, name: str) -> None:
    asyncio.run(
        _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    )


def drop_database(admin_url: str, name: str) -> None:
    asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _fetch(url: str, query: str) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


def fetch_value(url: str, query: str) -> Any:
    return asyncio.run(_fetch(url, query))


def seed(shop: str, env: dict[str, str], cwd: Path, products: int, categories: int) -> str:
    """Seed with `shop catalog seed` when the CLI has it, else through the core."""
    probe = subprocess.run(  # noqa: S603 - our own command
        [shop, "catalog", "seed", "--help"], env=env, cwd=cwd, capture_output=True, check=False
    )
    if probe.returncode == 0:
        command = [shop, "catalog", "seed", "--products", str(products), "--categories", str(categories)]
        if b"--yes" in probe.stdout:  # it asks first since issue 14
            command.append("--yes")
        run_checked(command, env, cwd)
        return "shop catalog seed"
    code = (
        "import asyncio, sys\n"
        "from shop_core.bootstrap import bootstrap\n"
        "from shop_core.settings import Settings\n"
        "async def main():\n"
        "    async with bootstrap(Settings.from_env(env_file=None)) as shop:\n"
        "        report = await shop.seed_catalog(int(sys.argv[1]), int(sys.argv[2]))\n"
        "    if report.rejected:\n"
        "        sys.exit(f'seeding rejected rows: {report.rejected[:5]}')\n"
        "asyncio.run(main())\n"
    )
    run_checked([sys.executable, "-c", code, str(products), str(categories)], env, cwd)
    return "shop_core Shop.seed_catalog"


def run_checked(command: list[str], env: dict[str, str], cwd: Path) -> float:
    """Run `command`; the seconds it took (BenchError when it failed)."""
    started = time.monotonic()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BenchError(f"`{' '.join(command[:4])}` failed:\n{done.stdout}{done.stderr}")
    return time.monotonic() - started


class BenchError(RuntimeError):
    pass


# -------------------------------------------------------------------------------- the servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """A server process group we started; `stop()` ends the whole group (master and workers)."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], cwd: Path, port: int) -> None:
        self.name = name
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log = cwd / f"{name.replace(' ', '-')}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own commands
                command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self, path: str = "/health/ready", timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")
            with suppress(OSError):
                if get(self.base + path)[0] == 200:
                    return
            time.sleep(0.25)
        raise BenchError(f"{self.name} did not become ready in {timeout:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        for sig, grace in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 5.0)):
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(grace)
                break
        # Workers may outlive their master for a moment; the group is ours alone.
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


@contextmanager
def serving(name: str, command: list[str], env: dict[str, str], cwd: Path, port: int) -> Iterator[Server]:
    server = Server(name, command, env, cwd, port)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - our own http://127.0.0.1
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


# ---------------------------------------------------------------------------------------- wrk


def wrk(
    url: str, seconds: int, args: argparse.Namespace, script: Path, *script_args: str
) -> dict[str, float]:
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        url,
        *(("--", *script_args) if script_args else ()),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    sample = ""
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_SAMPLE "):
            sample = line.removeprefix("BENCH_SAMPLE ").strip()
        if line.startswith("BENCH_JSON "):
            numbers: dict[str, float] = json.loads(line.removeprefix("BENCH_JSON "))
            if numbers.get("not201"):
                raise BenchError(
                    f"{url}: {numbers['not201']:.0f} of {numbers['requests']:.0f} answers were not 201; "
                    f"the first: {sample}"
                )
            return numbers
    raise BenchError(f"wrk gave no result for {url}:\n{done.stdout}{done.stderr}")


def measure(
    server: Server, run: str, scenarios: list[Scenario], args: argparse.Namespace, script: Path
) -> list[Result]:
    results = []
    for scenario in scenarios:
        url = server.base + scenario.path
        status, _ = get(url)
        if status != 200:
            raise BenchError(f"{server.name}: GET {scenario.path} answered {status}, not 200")
        if args.warmup:
            wrk(url, args.warmup, args, script)
        n = wrk(url, args.duration, args, script)
        seconds = n["duration_us"] / 1e6
        errors = int(n["connect"] + n["read"] + n["write"] + n["status"] + n["timeout"])
        result = Result(
            run=run,
            scenario=scenario.key,
            path=scenario.path,
            requests=int(n["requests"]),
            requests_per_s=round(n["requests"] / seconds, 1),
            p50_ms=round(n["p50_us"] / 1000, 3),
            p90_ms=round(n["p90_us"] / 1000, 3),
            p99_ms=round(n["p99_us"] / 1000, 3),
            max_ms=round(n["max_us"] / 1000, 3),
            errors=errors,
        )
        console.print(
            f"  {run:>9}  {scenario.key:<8} {result.requests_per_s:>9,.0f} req/s"
            f"  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms"
            + (f"  [red]{errors} errors[/]" if errors else "")
        )
        results.append(result)
    return results


def same_json(shop: Server, reference: Server, paths: list[str]) -> dict[str, str]:
    """Compare the reference's answers with the shop's: identical bytes, same JSON, or different."""
    verdicts = {}
    for path in paths:
        ours = get(shop.base + path)[1].replace(shop.base.encode(), b"BASE")
        theirs = get(reference.base + path)[1].replace(reference.base.encode(), b"BASE")
        if ours == theirs:
            verdicts[path] = "identical bytes"
        elif json.loads(ours) == json.loads(theirs):
            verdicts[path] = "same JSON"
        else:
            verdicts[path] = "DIFFERENT"
            console.print(f"[red]the reference's answer to {path} differs from the shop's:[/]")
            console.print(f"  shop:      {ours[:400]!r}\n  reference: {theirs[:400]!r}")
    return verdicts


# ----------------------------------------------------------------------------------- checkout


def post_json(url: str, body: object, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(  # noqa: S310 - our own http://127.0.0.1
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def customer_tokens(server: Server, count: int) -> list[str]:
    """Register `count` customers through the shop's API (once) and log each in: their access tokens."""

    def one(i: int) -> str:
        email = f"bench-customer-{i}@example.com"
        status, body = post_json(
            server.base + "/api/auth/register/", {"email": email, "password": CHECKOUT_PASSWORD}
        )
        if status not in (201, 409):
            raise BenchError(f"registering {email} answered {status}: {body[:300]!r}")
        status, body = post_json(
            server.base + "/api/auth/login/", {"email": email, "password": CHECKOUT_PASSWORD}
        )
        if status != 200:
            raise BenchError(f"logging {email} in answered {status}: {body[:300]!r}")
        token: str = json.loads(body)["access"]
        return token

    with ThreadPoolExecutor(4) as pool:  # argon2 hashing is the slow part, in both workers
        return list(pool.map(one, range(1, count + 1)))


def checkout_script(
    path: Path, tokens: list[str], product_ids: list[int], voucher: str | None = None
) -> Path:
    """The checkout's wrk script; with `voucher`, every order sends that `voucher_code`."""
    path.write_text(
        CHECKOUT_SCRIPT
        % {
            "tokens": ",".join(f'"{t}"' for t in tokens),
            "products": ",".join(map(str, product_ids)),
            "path": CHECKOUT_PATH,
            "extra": "" if voucher is None else f',"voucher_code":"{voucher}"',
        }
    )
    return path


async def _add_vouchers(url: str) -> None:
    """Two 10% vouchers with limits so high a run never reaches them, so every use is still counted
    against them: BENCH10 with a per-customer limit (counted on the customer's row), LIMITED10 also
    with a usage_limit (counted on the voucher's own row, which every checkout with it queues on)."""
    conn = await asyncpg.connect(url)
    try:
        for code, usage_limit in ((BENCH_VOUCHER, None), (LIMITED_VOUCHER, 1_000_000_000)):
            await conn.execute(
                "INSERT INTO vouchers (code, kind, percentage, usage_limit, per_customer_limit, used_count,"
                " is_active, created_at, updated_at) VALUES ($1, 'percentage', 1000, $2, 1000000000, 0,"
                " true, now(), now()) ON CONFLICT (code) DO NOTHING",
                code,
                usage_limit,
            )
    finally:
        await conn.close()


COUNTED = ("orders", "order_lines", "order_events", "stock_movements", "idempotency_keys")


async def _counts(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        return {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in COUNTED}  # noqa: S608
    finally:
        await conn.close()


def measure_checkout(
    server: Server,
    run: str,
    args: argparse.Namespace,
    script: Path,
    db_url: str,
    *,
    sample: dict[str, Any],
    scenario: str = "checkout",
    run_for: int | None = None,
) -> Result:
    """One order placed by hand (must be 201), a warm-up, then the measured run (`run_for`
    seconds, else --duration); the rows written."""
    headers = {"Authorization": sample["authorization"], "Idempotency-Key": f"probe-{secrets.token_hex(8)}"}
    status, body = post_json(server.base + CHECKOUT_PATH, sample["body"], headers)
    if status != 201:
        raise BenchError(f"{server.name}: POST {CHECKOUT_PATH} answered {status}, not 201: {body[:400]!r}")
    # Both apps start from settled tables (the earlier run's dead rows vacuumed, statistics fresh)
    # and a fresh checkpoint, so neither pays for flushing what the other (or the seeding) wrote.
    asyncio.run(_admin(db_url, "VACUUM ANALYZE", "CHECKPOINT"))
    url = server.base + CHECKOUT_PATH
    if args.warmup:
        wrk(url, args.warmup, args, script, f"w{secrets.token_hex(4)}")
    before = asyncio.run(_counts(db_url))
    cpu_before = cpu_seconds(server)
    n = wrk(url, run_for or args.duration, args, script, f"m{secrets.token_hex(4)}")
    cpu_after = cpu_seconds(server)
    after = asyncio.run(_counts(db_url))
    seconds = n["duration_us"] / 1e6
    errors = int(n["connect"] + n["read"] + n["write"] + n["timeout"] + n["not201"])
    written = {t: after[t] - before[t] for t in COUNTED}
    if written["orders"] < n["requests"]:  # in-flight orders at the end may add up to -c more
        raise BenchError(
            f"{server.name}: {n['requests']:.0f} answers but only {written['orders']} new orders"
        )
    result = Result(
        run=run,
        scenario=scenario,
        path=CHECKOUT_PATH,
        method="POST",
        requests=int(n["requests"]),
        requests_per_s=round(n["requests"] / seconds, 1),
        p50_ms=round(n["p50_us"] / 1000, 3),
        p90_ms=round(n["p90_us"] / 1000, 3),
        p99_ms=round(n["p99_us"] / 1000, 3),
        max_ms=round(n["max_us"] / 1000, 3),
        errors=errors,
        written=written,
        cpu_ms={
            kind: round(1000 * (cpu_after[kind] - cpu_before[kind]) / max(n["requests"], 1), 3)
            for kind in cpu_after
        },
    )
    console.print(
        f"  {run:>9}  {scenario} {result.requests_per_s:>9,.0f} orders/s"
        f"  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  rows: "
        + ", ".join(f"{k} +{v:,}" for k, v in written.items())
        + (f"  [red]{errors} errors[/]" if errors else "")
    )
    spent = ", ".join(f"{kind} {ms:.2f} ms" for kind, ms in (result.cpu_ms or {}).items())
    console.print(f"             CPU per order: {spent}")
    return result


def combined(parts: list[Result]) -> Result:
    """One scenario's rounds as one result: requests/s over all its seconds; p50 and p90 the
    rounds' weighted by their requests; p99 and max the worst round's; rows written, errors and
    requests added up; CPU per order weighted by requests."""
    if len(parts) == 1:
        return parts[0]
    requests = sum(r.requests for r in parts)
    seconds = sum(r.requests / r.requests_per_s for r in parts if r.requests_per_s)

    def weighted(value: Callable[[Result], float]) -> float:
        return round(sum(value(r) * r.requests for r in parts) / max(requests, 1), 3)

    first = parts[0]
    written = {t: sum((r.written or {}).get(t, 0) for r in parts) for t in first.written or {}}
    cpu = {
        kind: round(sum((r.cpu_ms or {}).get(kind, 0.0) * r.requests for r in parts) / max(requests, 1), 3)
        for kind in first.cpu_ms or {}
    }
    return replace(
        first,
        requests=requests,
        requests_per_s=round(requests / seconds, 1) if seconds else 0.0,
        p50_ms=weighted(lambda r: r.p50_ms),
        p90_ms=weighted(lambda r: r.p90_ms),
        p99_ms=max(r.p99_ms for r in parts),
        max_ms=max(r.max_ms for r in parts),
        errors=sum(r.errors for r in parts),
        written=written or None,
        cpu_ms=cpu or None,
    )


def cpu_seconds(server: Server) -> dict[str, float]:
    """CPU time (user + system) so far of the server's processes, PostgreSQL's and Redis's (Linux
    /proc; empty elsewhere). Per order, it shows where a checkout spends the machine."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    totals = {"server": 0.0, "postgres": 0.0, "redis": 0.0}
    for entry in Path("/proc").iterdir() if Path("/proc/self/stat").exists() else ():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        used = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        if int(fields[2]) == server.process.pid:  # process group: the server and its workers
            totals["server"] += used
        elif name == "postgres":
            totals["postgres"] += used
        elif name.startswith("redis-server"):
            totals["redis"] += used
    return totals


# ---------------------------------------------------------------------------- machine and report


def machine(pg_url: str, redis: Redis) -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = None
    with suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().splitlines()[0].split()[1])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False).stdout  # noqa: S607
    packages = {}
    for name in ("litestar", "uvicorn", "uvloop", "httptools", "msgspec", "sqlalchemy", "asyncpg", "redis"):
        with suppress(metadata.PackageNotFoundError):
            packages[name] = metadata.version(name)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "postgresql": fetch_value(pg_url, "SHOW server_version"),
        "redis": str(redis.info("server").get("redis_version")),  # type: ignore[union-attr]
        "wrk": wrk_version.splitlines()[0] if wrk_version else "unknown",
        "packages": packages,
    }


def targets(results: list[Result]) -> list[dict[str, Any]]:
    by = {(r.run, r.scenario): r for r in results}
    checks = []
    for run, scenario, minimum in TARGETS:
        row = by.get((run, scenario))
        if row is None:  # not measured in this run (--no-checkout, --checkout-only)
            continue
        value = row.ratio
        checks.append(
            {
                "target": f"{'' if 'checkout' in scenario else 'product '}{scenario}, {run}: "
                f"≥ {minimum:.1f}{X} the "
                + ("plain checkout" if scenario in (VOUCHER_SCENARIO, LIMITED_SCENARIO) else "reference"),
                "value": value,
                "ok": value is not None and value >= minimum,
                "shown": "n/a" if value is None else f"{value:.2f}{X}",
            }
        )
    for r in results:
        if r.run == "reference":
            continue
        tail = r.p99_ms / r.p50_ms if r.p50_ms else float("inf")
        checks.append(
            {
                "target": f"{r.scenario}, {r.run}: p99 ≤ {MAX_TAIL:.0f}{X} p50",
                "value": round(tail, 2),
                "ok": tail <= MAX_TAIL,
                "shown": f"{r.p99_ms:.2f} ms = {tail:.1f}{X} p50",
            }
        )
    return checks


def show(results: list[Result], checks: list[dict[str, Any]], args: argparse.Namespace) -> None:
    table = Table(
        title=f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, {args.workers} workers, "
        f"{args.products:,} products"
    )
    columns = ("scenario", "run", "requests/s", "p50", "p90", "p99", "vs reference", "of ceiling", "errors")
    for column in columns:
        table.add_column(column, justify="left" if column in ("scenario", "run") else "right")
    for r in results:
        table.add_row(
            f"{r.method} {r.path}"
            + (f" ({r.scenario})" if r.scenario in (VOUCHER_SCENARIO, LIMITED_SCENARIO) else ""),
            r.run,
            f"{r.requests_per_s:,.0f}",
            f"{r.p50_ms:.2f} ms",
            f"{r.p90_ms:.2f} ms",
            f"{r.p99_ms:.2f} ms",
            "—" if r.ratio is None else f"{r.ratio:.2f}{X}",
            "—" if r.of_ceiling is None else f"{r.of_ceiling:.0%}",
            str(r.errors) if r.errors else "",
        )
    console.print(table)
    for check in checks:
        verdict = "[green]PASS[/]" if check["ok"] else "[red]MISS[/]"
        console.print(f"{verdict}  {check['target']}: {check['shown']}")
    ceiling = next((r for r in results if r.scenario == CEILING.key), None)
    near = [r for r in results if r.of_ceiling is not None]
    if ceiling is not None and near:
        console.print(
            f"cached reads against the ceiling ({ceiling.requests_per_s:,.0f} req/s, a fixed body from "
            "memory): " + ", ".join(f"{r.scenario} {r.of_ceiling:.0%}" for r in near)
        )


def save(document: dict[str, Any], stamp: str) -> Path:
    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    path = RESULTS / f"{stamp}.json"
    path.write_text(text)
    (RESULTS / "latest.json").write_text(text)
    return path


# ------------------------------------------------------------------------------------------ main


async def _products_for_checkout(url: str) -> list[int]:
    """The active products, their stock raised so no order runs short; the tables settled after."""
    conn = await asyncpg.connect(url)
    try:
        ids = [r[0] for r in await conn.fetch("SELECT id FROM products WHERE is_active ORDER BY id")]
        await conn.execute("UPDATE products SET stock_quantity = $1 WHERE is_active", CHECKOUT_STOCK)
        # Stock lives on the products' (default) variants; their total is the product's.
        await conn.execute(
            "UPDATE product_variants SET stock_quantity = $1"
            " WHERE product_id IN (SELECT id FROM products WHERE is_active)",
            CHECKOUT_STOCK,
        )
        await conn.execute("VACUUM ANALYZE products")
        await conn.execute("VACUUM ANALYZE product_variants")
        return ids
    finally:
        await conn.close()


class Bench:
    """One run: its database, Redis key prefix, working directory and environment."""

    def __init__(self, args: argparse.Namespace, shop: str) -> None:
        self.args = args
        self.shop = shop
        self.stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.prefix = f"shop-bench-{os.getpid()}:"
        self.db_url = with_database(args.postgres_url, args.database)
        self.redis = Redis.from_url(args.redis_url)
        self.workdir = Path(tempfile.mkdtemp(prefix="shop-bench-"))
        self.script = self.workdir / "report.lua"
        self.script.write_text(WRK_SCRIPT)
        self.created = False
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")} | {
            "SHOP_ENV": "production",
            "SHOP_SECRET_KEY": secrets.token_urlsafe(48),
            # Production refuses open metrics; a token keeps them (and their cost) as deployed.
            "SHOP_METRICS_TOKEN": secrets.token_urlsafe(24),
            "SHOP_DATABASE_URL": with_database(args.postgres_url, args.database, "postgresql+asyncpg"),
            "SHOP_REDIS_URL": args.redis_url,
            "SHOP_REDIS_KEY_PREFIX": self.prefix,
            "SHOP_RATE_LIMIT_ENABLED": "false",
            "SHOP_LOG_LEVEL": "info",  # production's: every write and error answer logged
            "SHOP_CACHE_ENABLED": "true",
            "PYTHONUNBUFFERED": "1",
        }

    def prepare(self) -> tuple[list[Scenario], str]:
        """A fresh, migrated, seeded database; the scenarios to run on it."""
        args = self.args
        with console.status("creating, migrating and seeding the bench database"):
            self.redis.ping()
            create_database(args.postgres_url, args.database)
            self.created = True
            run_checked([self.shop, "db", "upgrade"], self.env, self.workdir)
            started = time.monotonic()
            seeded_by = seed(self.shop, self.env, self.workdir, args.products, args.categories)
            # Settle the fresh tables before measuring (visibility map, statistics), so an
            # autovacuum starting mid-run does not favour whichever server is measured later.
            asyncio.run(_admin(self.db_url, "VACUUM ANALYZE"))
        count = fetch_value(self.db_url, "SELECT count(*) FROM products WHERE is_active")
        console.print(
            f"seeded {count:,} products in {args.categories} categories ({seeded_by}) "
            f"in {time.monotonic() - started:.1f} s"
        )
        category = fetch_value(self.db_url, "SELECT min(id) FROM categories WHERE parent_id IS NULL")
        scenarios = [
            Scenario("list", "/api/products/?page=5"),
            Scenario("detail", "/api/products/123/"),
            Scenario("search", f"/api/products/?search={SEARCH_WORD}&ordering=-price"),
            Scenario("category", f"/api/categories/{category}/"),
        ]
        return scenarios, seeded_by

    def measure_all(self, scenarios: list[Scenario]) -> tuple[list[Result], dict[str, str]]:
        args, env, workdir, script = self.args, self.env, self.workdir, self.script
        serve = [self.shop, "serve", "--host", "127.0.0.1", "--workers", str(args.workers), "--port"]
        results: list[Result] = []
        verdicts: dict[str, str] = {}
        if args.checkout_only:
            results += self.checkout(serve)
            self.ratios(results)
            return results, verdicts
        console.print("[bold]shop, cache on[/]")
        port = free_port()
        with serving("shop cache on", [*serve, str(port)], env, workdir, port) as server:
            results += measure(server, "cache on", scenarios, args, script)
        console.print("[bold]shop, cache off[/]")
        port = free_port()
        env_off = env | {"SHOP_CACHE_ENABLED": "false"}
        with serving("shop cache off", [*serve, str(port)], env_off, workdir, port) as shop_server:
            results += measure(shop_server, "cache off", scenarios[:2], args, script)
            console.print("[bold]reference[/]")
            port = free_port()
            reference = self.reference_command(port)
            reference_env = env | {"BENCH_DATABASE_URL": self.db_url}
            with serving("reference", reference, reference_env, workdir, port) as ref_server:
                verdicts = same_json(shop_server, ref_server, [s.path for s in scenarios[:2]])
                shop_server.stop()  # compared while both ran; measured alone
                results += measure(ref_server, "reference", [*scenarios[:2], CEILING], args, script)
        if not args.no_checkout:
            results += self.checkout(serve)
        self.ratios(results)
        return results, verdicts

    @staticmethod
    def ratios(results: list[Result]) -> None:
        base = {r.scenario: r.requests_per_s for r in results if r.run == "reference"}
        # The voucher's checkout is measured against the shop's own plain checkout.
        plain = next((r for r in results if r.scenario == "checkout" and r.run != "reference"), None)
        if plain is not None:
            base[VOUCHER_SCENARIO] = base[LIMITED_SCENARIO] = plain.requests_per_s
        ceiling = base.get(CEILING.key)
        for r in results:
            if r.scenario in base and r.run != "reference":
                r.ratio = round(r.requests_per_s / base[r.scenario], 2)
            if ceiling and r.run == "cache on" and r.method == "GET":
                r.of_ceiling = round(r.requests_per_s / ceiling, 2)

    def reference_command(self, port: int) -> list[str]:
        return [
            sys.executable, "-m", "uvicorn", "reference_app:create_app", "--factory",
            "--app-dir", str(BENCH), "--host", "127.0.0.1", "--port", str(port),
            "--workers", str(self.args.workers), "--log-level", "warning",
        ]  # fmt: skip

    def checkout(self, serve: list[str]) -> list[Result]:
        """Customers placing 3-line orders: the shop plain, with a voucher and with a limited one,
        and the reference, the same requests. Both servers stay up, and the four are measured in
        turn in --rounds rounds (every other round in reverse order), so that a machine that
        speeds up or slows down during the minutes this takes moves all four alike."""
        args, env, workdir = self.args, self.env, self.workdir
        products = asyncio.run(_products_for_checkout(self.db_url))
        if len(products) < 3:
            raise BenchError("the checkout needs at least 3 active products")
        sample = {
            "body": {
                "items": [{"product_id": pid, "quantity": 1} for pid in products[:3]],
                "shipping_address": {
                    "full_name": "Bench Customer", "line1": "1 Bench Street", "city": "Dhaka",
                    "postal_code": "1207", "country": "BD",
                },
                "payment_method": "cod",
            }
        }  # fmt: skip
        console.print("[bold]checkout[/]")
        port, reference_port = free_port(), free_port()
        reference_env = env | {"BENCH_DATABASE_URL": self.db_url}
        with (
            serving("shop checkout", [*serve, str(port)], env, workdir, port) as server,
            serving(
                "reference checkout", self.reference_command(reference_port), reference_env, workdir,
                reference_port,
            ) as reference,
        ):  # fmt: skip
            with console.status(f"registering and logging in {args.customers} customers"):
                tokens = customer_tokens(server, args.customers)
            sample["authorization"] = f"Bearer {tokens[0]}"
            plain = checkout_script(workdir / "checkout.lua", tokens, products)
            # The voucher scenarios: what counting a voucher's use costs (the plain orders send none).
            asyncio.run(_add_vouchers(self.db_url))
            turns: list[tuple[Server, str, str, Path, dict[str, Any]]] = [
                (server, "cache on", "checkout", plain, sample)
            ]
            for code, scenario in ((BENCH_VOUCHER, VOUCHER_SCENARIO), (LIMITED_VOUCHER, LIMITED_SCENARIO)):
                with_voucher = checkout_script(workdir / f"{code}.lua", tokens, products, code)
                voucher_sample = sample | {"body": sample["body"] | {"voucher_code": code}}
                turns.append((server, "cache on", scenario, with_voucher, voucher_sample))
            turns.append((reference, "reference", "checkout", plain, sample))
            parts: dict[tuple[str, str], list[Result]] = {(run, name): [] for _, run, name, _, _ in turns}
            run_for = args.duration // args.rounds
            for round_number in range(args.rounds):
                for target, run, name, script, body in turns if round_number % 2 == 0 else turns[::-1]:
                    parts[run, name].append(
                        measure_checkout(
                            target, run, args, script, self.db_url, sample=body, scenario=name,
                            run_for=run_for,
                        )
                    )  # fmt: skip
        return [combined(results) for results in parts.values()]

    def run(self) -> None:
        args = self.args
        scenarios, seeded_by = self.prepare()
        info = machine(args.postgres_url, self.redis)
        load_before = os.getloadavg()[0]
        if load_before > 1.0:
            console.print(
                f"[yellow]warning:[/] the machine is busy (load average {load_before:.2f} over the last "
                "minute): other work shares the cores, so the numbers will be noisy"
            )
        results, verdicts = self.measure_all(scenarios)
        info["load_average_before"] = round(load_before, 2)  # during the run it counts the bench itself
        checks = targets(results)
        show(results, checks, args)
        for path, verdict in verdicts.items():
            colour = "red" if verdict == "DIFFERENT" else "green"
            console.print(f"reference vs shop, GET {path}: [{colour}]{verdict}[/]")
        document = {
            "timestamp": self.stamp,
            "machine": info,
            "setup": {
                "duration_s": args.duration,
                "warmup_s": args.warmup,
                "checkout_rounds": None if args.no_checkout else args.rounds,
                "connections": args.connections,
                "threads": args.threads,
                "workers": args.workers,
                "server": "uvicorn",
                "products": args.products,
                "categories": args.categories,
                "seeded_by": seeded_by,
                "checkout": None
                if args.no_checkout
                else {
                    "customers": args.customers,
                    "lines_per_order": 3,
                    "stock_per_product": CHECKOUT_STOCK,
                    "reference": "bench/reference_orders.py: one asyncpg transaction, no auth, "
                    "idempotency, events or stock movements",
                },
            },
            "reference_answers": verdicts,
            "results": [asdict(r) for r in results],
            "targets": [{k: v for k, v in c.items() if k != "shown"} for c in checks],
        }
        if not args.no_save:
            console.print(f"results written to {save(document, self.stamp).relative_to(BENCH.parent)}")

    def clean_up(self) -> None:
        """Drop the database and our Redis keys (the servers are stopped by `serving`)."""
        if self.created:
            with suppress(Exception):
                drop_database(self.args.postgres_url, self.args.database)
        with suppress(Exception):
            # Ours, and SAQ's for our queue (the order confirmations checkout enqueued, no worker ran).
            for pattern in (f"{self.prefix}*", f"saq:*{self.prefix}*"):
                keys = list(self.redis.scan_iter(match=pattern, count=1000))
                if keys:
                    self.redis.delete(*keys)
        self.redis.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


class Runnable(Protocol):
    def run(self) -> None: ...

    def clean_up(self) -> None: ...


def run_to_the_end(bench: Runnable) -> int:
    """Run `bench`, cleaning up whatever happens (an error, Ctrl-C, SIGTERM); the exit status."""

    def interrupted(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with SIGINT ignored
    try:
        bench.run()
        return 0
    except BenchError as exc:
        console.print(f"[bold red]error:[/] {exc}", soft_wrap=True, markup=False, highlight=False)
        return 1
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: cleaning up[/]")
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip the clean-up
        bench.clean_up()
        signal.signal(signal.SIGINT, signal.default_int_handler)


def main(argv: list[str]) -> int:
    if shutil.which("wrk") is None:
        console.print(f"[bold red]error:[/] {WRK_INSTALL}", soft_wrap=True)
        return 2
    args = options(argv)
    shop = shutil.which("shop", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if shop is None:
        console.print("[bold red]error:[/] the `shop` command is missing: pip install -e '.[all]'")
        return 2

    return run_to_the_end(Bench(args, shop))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
