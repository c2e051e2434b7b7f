"""shop_runtime: what a running process of the shop sets up around the core, for the drivers (the
API, the CLI, the workers) only: the logging (its writer thread, exit and fork hooks) and the
per-request log context. The core never imports it (an import-linter contract)."""
