"""`python -m shop_workers [--concurrency N] [--burst]`: what `shop worker` runs."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from shop_core.settings import Settings, SettingsError
from shop_workers.worker import WorkerConfigError, make_worker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shop worker", description="Run the SAQ worker and its cron jobs.")
    parser.add_argument("--concurrency", type=int, default=10, help="jobs run at once (default 10)")
    parser.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    args = parser.parse_args(argv)
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    try:
        settings = Settings.from_env()
        logging.basicConfig(
            level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
        worker = make_worker(settings, concurrency=args.concurrency, burst=args.burst)
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
