"""`python -m shop_workers [--concurrency N] [--burst]`: what `shop worker` runs."""

from __future__ import annotations

import argparse
import asyncio
import sys

from shop_core.settings import Settings, SettingsError
from shop_runtime.logging_setup import configure_logging
from shop_workers.worker import WorkerConfigError, make_worker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shop worker", description="Run the SAQ worker and its cron jobs.")
    parser.add_argument("--concurrency", type=int, default=10, help="jobs run at once (default 10)")
    parser.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    parser.add_argument(
        "--metrics-port", type=int, default=None, help="serve Prometheus metrics on this port"
    )
    args = parser.parse_args(argv)
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    if args.metrics_port is not None and not 1 <= args.metrics_port <= 65535:
        parser.error("--metrics-port must be a port number (1-65535)")
    try:
        settings = Settings.from_env()
        configure_logging(settings)  # JSON lines in production, as the API's; written off the event loop
        worker = make_worker(
            settings, concurrency=args.concurrency, burst=args.burst, metrics_port=args.metrics_port
        )
    except (SettingsError, WorkerConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        asyncio.run(worker.start())
    except (OSError, ConnectionError) as exc:
        print(f"error: the worker could not reach its queue or database: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - an operator gets one line, never a traceback
        print(f"error: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
