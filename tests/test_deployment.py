"""The deployment files in docker/ (and .dockerignore) checked against the code they deploy.

Nothing here builds an image or starts a container: the files are parsed and every reference they
make into the shop — a `shop` command and its options, a `SHOP_*` setting, an endpoint, a default —
is resolved against the real thing, so a renamed option or setting breaks this test, not a deploy.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import msgspec
import pytest
import typer
import uvicorn
import yaml
from typer.testing import CliRunner

import shop_workers.__main__ as worker_main
from shop_cli.main import app as shop_app
from shop_core.settings import SECRETS, Environment, Settings, SettingsError
from shop_workers.worker import WorkerConfigError

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
SHOP_SERVICES = ("migrate", "api", "worker")
SERVICES = {*SHOP_SERVICES, "postgres", "redis", "nginx"}
DUMMY = "0123456789abcdef" * 3  # what a required placeholder (`${VAR:?message}`) is given: 48 characters
PLACEHOLDER = re.compile(r"\$(?:\$|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\})")


def setting_variables() -> set[str]:
    return {f"SHOP_{f.name.upper()}" for f in msgspec.structs.fields(Settings)}


# --- reading the files ------------------------------------------------------------------------------


@cache
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    return loaded


def service(name: str) -> dict[str, Any]:
    found: dict[str, Any] = compose()["services"][name]
    return found


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's variable substitution: `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?msg}`,
    `${VAR?msg}`, `$$`. A required variable missing from `env` gets DUMMY."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        value = env.get(name)
        if op == ":-":
            return value or arg
        if op == "-":
            return arg if value is None else value
        if op in (":?", "?"):
            return value or DUMMY
        return value or ""

    return PLACEHOLDER.sub(substitute, text)


def container_env(name: str, host: Mapping[str, str] | None = None) -> dict[str, str]:
    """What a service's containers get: placeholders substituted from `host` (empty by default),
    variables given without a value (passed on from the host only when set there) left out."""
    host = host or {}
    env: dict[str, str] = {}
    for key, value in service(name).get("environment", {}).items():
        if value is None:
            if key in host:
                env[key] = host[key]
            continue
        env[key] = interpolate(str(value), host)
    return env


def walk_strings(node: object) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for key, value in node.items():
            yield str(key)
            yield from walk_strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk_strings(item)


def environment_keys(node: object) -> Iterator[str]:
    """Every variable name set in an `environment:` mapping or list anywhere in `node`."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "environment":
                items = value.keys() if isinstance(value, Mapping) else (v.split("=", 1)[0] for v in value)
                yield from (str(item) for item in items)
            else:
                yield from environment_keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from environment_keys(item)


@cache
def app() -> Any:
    """The API, built on the default settings and not started: nothing connects."""
    from shop_http.app import create_app

    return create_app(Settings())


def app_routes() -> set[str]:
    """The API's paths."""
    return {route.path for route in app().routes}


class Instruction(msgspec.Struct):
    keyword: str
    argument: str


@cache
def dockerfile_stages() -> list[list[Instruction]]:
    """The Dockerfile's instructions (continuations joined, comments dropped), one list per stage."""
    lines: list[str] = []
    pending = ""
    for raw in (DOCKER / "Dockerfile").read_text().splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    stages: list[list[Instruction]] = []
    for line in lines:
        keyword, _, argument = line.partition(" ")
        instruction = Instruction(keyword.upper(), argument.strip())
        if instruction.keyword == "FROM":
            stages.append([])
        assert stages, f"{line!r} comes before the first FROM"
        stages[-1].append(instruction)
    return stages


def instructions(stage: list[Instruction], keyword: str) -> list[str]:
    return [i.argument for i in stage if i.keyword == keyword]


def exec_form(argument: str) -> list[str]:
    """A CMD/HEALTHCHECK CMD in exec form (a JSON array); the shell form is refused."""
    assert argument.startswith("["), f"use the exec form (a JSON array), not {argument!r}"
    parsed = json.loads(argument)
    assert isinstance(parsed, list)
    assert all(isinstance(part, str) for part in parsed)
    return parsed


@cache
def nginx_conf() -> str:
    """nginx.conf without its comments."""
    text = (DOCKER / "nginx.conf").read_text()
    return "\n".join(re.sub(r"(^|\s)#.*$", "", line) for line in text.splitlines())


def nginx_directives(name: str) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(rf"(?m)^\s*{name}\s+([^;{{}}]*);", nginx_conf())]


# --- resolving commands against the real CLI ---------------------------------------------------------


def shop_command(args: list[str]) -> tuple[str, dict[str, Any]]:
    """Resolve `shop ARGS` against the Typer app: the subcommand's path and the options as click parses
    them (an unknown option or a bad value raises click's UsageError, a TyperException, as `shop`
    itself would refuse it)."""
    command: Any = typer.main.get_command(shop_app)  # typer 0.2x vendors click: duck-typed here
    rest = list(args)
    path: list[str] = []
    while hasattr(command, "commands"):  # a group
        assert rest, f"`shop {' '.join(args)}` names a group, not a command"
        name = rest.pop(0)
        assert name in command.commands, (
            f"`shop {' '.join(args)}`: no command {name!r} in `shop {' '.join(path)}`"
        )
        command = command.commands[name]
        path.append(name)
    context = command.make_context(" ".join(["shop", *path]), rest)
    return " ".join(path), dict(context.params)


def worker_module_options(args: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """Parse `python -m shop_workers ARGS` with the module's own argument parser (the worker is not
    started: `make_worker` is replaced by a stand-in that records what it was asked for)."""
    asked: dict[str, Any] = {}

    def make_worker(settings: Settings, **kwargs: Any) -> Any:
        asked.update(kwargs)
        raise WorkerConfigError("not started by the test")

    monkeypatch.setattr(worker_main, "make_worker", make_worker)
    monkeypatch.chdir(tmp_path)  # no stray .env
    for key in [k for k in os.environ if k.startswith("SHOP_")]:
        monkeypatch.delenv(key)
    assert worker_main.main(args) == 1  # our stand-in's refusal, not argparse's exit 2
    return asked


def run_args(name: str) -> list[str]:
    command = service(name)["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


# --- compose -------------------------------------------------------------------------------------------


def test_compose_has_the_services() -> None:
    assert set(compose()["services"]) == SERVICES


def test_migrate_runs_the_migrations_once_before_the_api_and_the_workers() -> None:
    assert run_args("migrate") == ["shop", "db", "upgrade"]
    assert shop_command(run_args("migrate")[1:])[0] == "db upgrade"
    assert service("migrate").get("restart") == "no"
    assert "deploy" not in service("migrate")  # one container, not replicas racing each other
    for name in ("api", "worker"):
        assert service(name)["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        for backing in ("postgres", "redis"):
            assert service(name)["depends_on"][backing] == {"condition": "service_healthy"}
    assert service("migrate")["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_every_shop_command_is_a_real_command_with_real_options() -> None:
    commands = {name: run_args(name) for name in SHOP_SERVICES if run_args(name)[0] == "shop"}
    assert set(commands) >= {"migrate", "api"}
    for args in commands.values():
        shop_command(args[1:])  # raises on an unknown command or option


def test_the_api_runs_one_process_per_replica_behind_nginx() -> None:
    args = run_args("api")
    assert args[0] == "shop"
    name, options = shop_command(args[1:])

    assert name == "serve"
    assert (options["host"], options["port"], options["workers"]) == ("0.0.0.0", 8000, 1)  # noqa: S104
    assert options["reload"] is False
    assert service("api")["deploy"]["replicas"] == 3
    # Only nginx is published; the replicas are reached on the internal network alone...
    assert "ports" not in service("api")
    # ...which is what makes trusting every peer's forwarded headers safe (see the nginx tests).
    assert options["forwarded_allow_ips"] == "*"


def test_the_worker_is_what_shop_worker_runs_and_takes_its_options(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    args = run_args("worker")
    assert args[:2] == ["shop", "worker"]
    # `shop worker` takes the options and passes them on to `python -m shop_workers` unchanged...
    name, options = shop_command(args[1:])
    assert (name, options["concurrency"], options["burst"], options["metrics_port"]) == (
        "worker",
        20,
        False,
        9100,
    )
    # ...whose own parser accepts them.
    assert worker_module_options(args[2:], monkeypatch, tmp_path) == {
        "concurrency": 20,
        "burst": False,
        "metrics_port": 9100,
    }
    assert service("worker")["deploy"]["replicas"] == 2


def test_the_worker_module_parser_refuses_an_unknown_option(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # So the test above would notice an option the worker does not have.
    with pytest.raises(SystemExit) as exited:
        worker_module_options(["--concurrency", "20", "--no-such-option"], monkeypatch, tmp_path)
    assert exited.value.code == 2


def test_an_unknown_shop_option_is_caught() -> None:
    # So the tests above would notice a renamed `shop` option.
    with pytest.raises(typer.TyperException, match="--threads"):
        shop_command(["serve", "--threads", "4"])
    with pytest.raises(typer.TyperException):
        shop_command(["serve", "--port", "0"])
    with pytest.raises(AssertionError, match="no command"):
        shop_command(["db", "migrate"])


def test_every_shop_variable_in_compose_is_a_setting() -> None:
    text = (DOCKER / "compose.yaml").read_text()
    set_ = {key for key in environment_keys(compose()) if key.startswith("SHOP_")}
    referenced = {
        m.group("name") for m in PLACEHOLDER.finditer(text) if (m.group("name") or "").startswith("SHOP_")
    }
    mentioned = set(re.findall(r"\bSHOP_[A-Z0-9_]+", text))

    assert set_
    assert referenced
    assert set_ | referenced | mentioned <= setting_variables()
    # The shop's containers get SHOP_* variables only (plus nothing the images need from us).
    for name in SHOP_SERVICES:
        assert all(key.startswith("SHOP_") for key in service(name)["environment"])


def test_every_placeholder_is_braced() -> None:
    # A bare $VAR would escape `interpolate` above (and is easy to mistype): braces only.
    for text in walk_strings(compose()):
        assert re.findall(r"\$(?![{$])", PLACEHOLDER.sub("", text)) == [], text


def test_the_shop_services_share_one_environment() -> None:
    environments = [service(name)["environment"] for name in SHOP_SERVICES]
    assert all(env == environments[0] for env in environments)
    assert compose()["x-shop-env"] == environments[0]


def test_the_api_environment_is_a_valid_production_configuration() -> None:
    env = container_env("api")
    settings = Settings.from_mapping(env)

    assert settings.env is Environment.PRODUCTION
    assert settings.secret_key == DUMMY
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.log_format == "json"
    assert settings.cors_origins == ()
    assert settings.smtp_url is None  # optional, not given: mail goes to the log
    # Production refuses open metrics unless told: here nginx refuses /metrics from outside and
    # only the internal network reaches the replicas, so the compose file says so explicitly.
    assert (settings.metrics_enabled, settings.metrics_token, settings.metrics_public) == (True, None, True)
    with pytest.raises(SettingsError, match=r"^SHOP_METRICS_TOKEN "):
        Settings.from_mapping(container_env("api", {"SHOP_METRICS_PUBLIC": "false"}))
    token = Settings.from_mapping(
        container_env("api", {"SHOP_METRICS_PUBLIC": "false", "SHOP_METRICS_TOKEN": DUMMY})
    )
    assert token.metrics_token == DUMMY


def test_the_optional_variables_are_passed_on_when_set() -> None:
    optional = [key for key, value in service("api")["environment"].items() if value is None]
    host = {key: f"{key.lower()}-{DUMMY}" for key in optional}
    host["SHOP_CORS_ORIGINS"] = "https://shop.example,https://admin.shop.example"

    settings = Settings.from_mapping(container_env("api", host))

    assert "SHOP_SMTP_URL" in optional
    assert settings.smtp_url == host["SHOP_SMTP_URL"]
    assert settings.stripe_secret_key == host["SHOP_STRIPE_SECRET_KEY"]
    assert settings.cors_origins == ("https://shop.example", "https://admin.shop.example")


def test_the_configuration_refuses_to_start_without_its_secrets() -> None:
    # Each required placeholder names itself in compose's error; none has a literal fallback.
    text = (DOCKER / "compose.yaml").read_text()
    required = {m.group("name") for m in PLACEHOLDER.finditer(text) if m.group("op") in (":?", "?")}
    assert required == {"SHOP_SECRET_KEY", "POSTGRES_PASSWORD"}

    env = service("api")["environment"]
    assert re.fullmatch(r"\$\{SHOP_SECRET_KEY:\?[^}]+\}", env["SHOP_SECRET_KEY"])
    assert re.fullmatch(
        r"\$\{POSTGRES_PASSWORD:\?[^}]+\}", service("postgres")["environment"]["POSTGRES_PASSWORD"]
    )
    for key, value in env.items():
        if key[len("SHOP_") :].lower() in SECRETS:
            assert value is None or re.fullmatch(rf"\$\{{{key}:\?[^}}]+\}}", value), key


def test_the_urls_point_at_the_backing_services() -> None:
    host = {"POSTGRES_PASSWORD": "the-password"}
    url = urlsplit(container_env("api", host)["SHOP_DATABASE_URL"])
    postgres = container_env("postgres", host)

    assert url.hostname == "postgres"
    assert url.username == postgres["POSTGRES_USER"]
    assert url.path == f"/{postgres['POSTGRES_DB']}"
    assert url.password == postgres["POSTGRES_PASSWORD"] == "the-password"
    assert urlsplit(container_env("api")["SHOP_REDIS_URL"]).hostname == "redis"


def test_the_database_pools_fit_in_postgres() -> None:
    pool = Settings.from_mapping(container_env("api")).database_pool_size
    processes = sum(service(name)["deploy"]["replicas"] for name in ("api", "worker"))  # 1 process each
    command = " ".join(run_args("postgres"))
    max_connections = int(re.search(r"max_connections=(\d+)", command).group(1))  # type: ignore[union-attr]

    assert processes * (pool + pool // 2) < max_connections


def test_postgres_and_redis_are_checked_and_keep_their_data() -> None:
    postgres, redis = service("postgres"), service("redis")
    assert postgres["image"] == "postgres:16"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert redis["image"] == "redis:7"
    assert "ping" in redis["healthcheck"]["test"]
    declared = set(compose()["volumes"])
    for svc, target in ((postgres, "/var/lib/postgresql/data"), (redis, "/data")):
        [volume] = svc["volumes"]
        source, mounted = volume.split(":")[:2]
        assert (source in declared, mounted) == (True, target)


def test_nginx_publishes_port_80_with_the_config_in_docker() -> None:
    nginx = service("nginx")
    assert nginx["image"] == "nginx:1.27"
    assert nginx["ports"] == ["80:80"]
    [volume] = nginx["volumes"]
    source, target, mode = volume.split(":")
    assert ((DOCKER / source).resolve(), target, mode) == (
        (DOCKER / "nginx.conf").resolve(),
        "/etc/nginx/nginx.conf",
        "ro",
    )
    assert nginx["depends_on"]["api"] == {"condition": "service_healthy"}


def test_only_the_api_keeps_the_image_healthcheck_and_stops_get_their_grace() -> None:
    # The image's HEALTHCHECK asks `shop serve` on :8000; the worker and migrate serve nothing.
    assert "healthcheck" not in service("api")
    for name in ("worker", "migrate"):
        assert service(name)["healthcheck"] == {"disable": True}
    # uvicorn and the SAQ worker each wait up to 30 s for work in progress; Docker waits 10 s by default.
    for name in ("api", "worker"):
        assert int(service(name)["stop_grace_period"].removesuffix("s")) > 30


def test_the_shop_services_build_the_image_from_the_repository() -> None:
    for name in SHOP_SERVICES:
        build = service(name)["build"]
        assert (DOCKER / build["context"] / build["dockerfile"]).resolve() == (
            DOCKER / "Dockerfile"
        ).resolve()
        assert service(name)["image"] == service("api")["image"]


# --- Dockerfile ------------------------------------------------------------------------------------------


def test_the_dockerfile_builds_in_one_stage_and_runs_in_another() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2
    builder, final = stages[0], stages[-1]
    assert re.fullmatch(r"python:3\.11-slim\s+AS\s+builder", builder[0].argument, flags=re.IGNORECASE)
    assert final[0].argument == "python:3.11-slim"
    assert any(re.search(r"pip install .*\"?\.\[all\]\"?", run) for run in instructions(builder, "RUN"))
    assert "--from=builder /opt/venv /opt/venv" in instructions(final, "COPY")


def apt_packages(stage: list[Instruction]) -> list[str]:
    """The packages a stage installs with apt-get (options left out)."""
    packages: list[str] = []
    for run in instructions(stage, "RUN"):
        for segment in re.findall(r"apt-get\s+install\s+([^&;|]*)", run):
            packages += [word for word in segment.split() if not word.startswith("-")]
    return packages


def test_the_final_stage_installs_no_build_tools() -> None:
    builder, final = dockerfile_stages()[0], dockerfile_stages()[-1]
    assert "build-essential" in apt_packages(builder)  # the tools exist, and this test would see them
    tools = {"build-essential", "gcc", "g++", "make", "clang", "cpp", "libc6-dev", "python3-dev"}
    installed = apt_packages(final)
    assert not [p for p in installed if p in tools or p.endswith("-dev") or p.startswith(("gcc-", "g++-"))]
    assert not any("pip install" in run for run in instructions(final, "RUN"))
    # ...and copies nothing from the build context: only the venv from the builder.
    assert all(copy.startswith("--from=builder ") for copy in instructions(final, "COPY"))


def test_the_image_runs_as_a_non_root_user() -> None:
    users = instructions(dockerfile_stages()[-1], "USER")
    assert users, "no USER in the final stage"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def test_the_image_defaults_to_production_and_unbuffered_output() -> None:
    final = dockerfile_stages()[-1]
    env: dict[str, str] = {}
    for argument in instructions(final, "ENV"):
        env.update(pair.split("=", 1) for pair in shlex.split(argument))
    assert env["SHOP_ENV"] == "production"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["PATH"].startswith("/opt/venv/bin:")
    assert {key for key in env if key.startswith("SHOP_")} <= setting_variables()


def test_the_default_command_serves_on_the_exposed_port() -> None:
    final = dockerfile_stages()[-1]
    [cmd] = instructions(final, "CMD")
    args = exec_form(cmd)
    assert args[0] == "shop"
    name, options = shop_command(args[1:])

    assert name == "serve"
    assert options["host"] == "0.0.0.0"  # noqa: S104 - a container listens on all its interfaces
    assert instructions(final, "EXPOSE") == [str(options["port"])] == ["8000"]


def healthcheck_command() -> list[str]:
    [healthcheck] = instructions(dockerfile_stages()[-1], "HEALTHCHECK")
    _, _, command = healthcheck.partition("CMD ")
    return exec_form(command)


def test_the_healthcheck_asks_the_liveness_endpoint_with_the_standard_library() -> None:
    args = healthcheck_command()
    assert args[:2] == ["python", "-c"]
    code = args[2]
    compile(code, "<healthcheck>", "exec")
    imported = set(re.findall(r"import\s+([\w.]+)", code))
    assert imported <= set(sys.stdlib_module_names) | {"urllib.request"}
    url = urlsplit(re.search(r"http://[^'\"]+", code).group(0))  # type: ignore[union-attr]
    assert (url.hostname, url.port) == ("127.0.0.1", 8000)

    assert url.path == "/health/live"
    assert url.path in app_routes()


class _Probe(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/health/live" else 404)
        self.end_headers()
        self.wfile.write(b'{"status":"ok"}')

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_the_healthcheck_command_passes_and_fails(status: int, healthy: bool) -> None:
    handler = type("Probe", (_Probe,), {"status": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        args = healthcheck_command()
        code = args[2].replace("127.0.0.1:8000", f"127.0.0.1:{server.server_address[1]}")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30, check=False)
    finally:
        server.shutdown()
        server.server_close()

    assert (result.returncode == 0) is healthy, result.stderr


def test_dockerignore_keeps_local_state_out_and_what_the_image_copies_in() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        result = False
        for pattern in patterns:
            negated = pattern.startswith("!")
            bare = pattern.lstrip("!")
            if fnmatch.fnmatch(path, bare) or fnmatch.fnmatch(path, bare.removeprefix("**/")):
                result = not negated
        return result

    for path in (
        ".venv",
        ".git",
        ".env",
        "docker/.env",
        "shop.db",
        ".pytest_cache",
        ".hypothesis",
        "bench/results",
    ):
        assert ignored(path), path
    copied = [
        source
        for copy in instructions(dockerfile_stages()[0], "COPY")
        for source in copy.split()[:-1]
        if not source.startswith("--")
    ]
    assert set(copied) == {"pyproject.toml", "README.md", "src"}
    for source in copied:
        assert (ROOT / source).exists(), source
        assert not ignored(source), source


# --- nginx -----------------------------------------------------------------------------------------------


class Directive(msgspec.Struct):
    name: str
    args: list[str]
    block: list[Directive] | None = None


NGINX_TOKEN = re.compile(r"""'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([{};])|#[^\n]*|([^\s{};'"]+)""")


@cache
def nginx_tree() -> list[Directive]:
    """nginx.conf as nginx reads it: directives, their arguments (quotes removed) and blocks."""
    stack: list[list[Directive]] = [[]]
    words: list[str] = []
    for match in NGINX_TOKEN.finditer((DOCKER / "nginx.conf").read_text()):
        single, double, punctuation, bare = match.groups()
        if punctuation == ";":
            stack[-1].append(Directive(words[0], words[1:]))
            words = []
        elif punctuation == "{":
            block: list[Directive] = []
            stack[-1].append(Directive(words[0], words[1:], block))
            stack.append(block)
            words = []
        elif punctuation == "}":
            assert not words, words
            stack.pop()
        elif single is not None or double is not None:
            words.append(single if single is not None else double)
        elif bare is not None:
            words.append(bare)
    assert len(stack) == 1
    assert not words
    return stack[0]


def nginx_blocks(name: str, tree: list[Directive] | None = None) -> Iterator[Directive]:
    for directive in nginx_tree() if tree is None else tree:
        if directive.name == name:
            yield directive
        if directive.block is not None:
            yield from nginx_blocks(name, directive.block)


class Location(msgspec.Struct):
    modifier: str  # "=", "^~", "~", "~*", or "" for a plain prefix
    pattern: str
    body: list[Directive]

    def has(self, name: str, *args: str) -> bool:
        return any(d.name == name and d.args[: len(args)] == list(args) for d in self.body)

    @property
    def refuses(self) -> bool:
        return self.has("deny", "all") or self.has("return", "403") or self.has("return", "404")

    @property
    def proxies(self) -> bool:
        return self.has("proxy_pass")


def nginx_locations() -> list[Location]:
    """The server's locations in order (named `@` ones left out: no request URI reaches them)."""
    found = []
    for location in nginx_blocks("location"):
        modifier, pattern = location.args if len(location.args) == 2 else ("", location.args[0])
        if not pattern.startswith("@"):
            found.append(Location(modifier, pattern, location.block or []))
    return found


def nginx_normalized(target: str) -> str:
    """The path nginx matches locations against: %XX decoded, slashes merged, `.` and `..` resolved."""
    path = re.sub(r"/{2,}", "/", unquote(target.split("?", 1)[0]))
    segments: list[str] = []
    for segment in path.split("/")[1:]:
        if segment == "..":
            segments = segments[:-1]
        elif segment != ".":
            segments.append(segment)
    trailing = path.endswith(("/.", "/..")) and bool(segments)
    return "/" + "/".join(segments) + ("/" if trailing else "")


def nginx_location(target: str) -> Location:
    """The location nginx picks for a request target: an exact match; else the longest prefix, if
    it is `^~`; else the first regex that matches; else the longest prefix."""
    uri = nginx_normalized(target)
    locations = nginx_locations()
    for location in locations:
        if location.modifier == "=" and location.pattern == uri:
            return location
    prefixes = [loc for loc in locations if loc.modifier in ("", "^~") and uri.startswith(loc.pattern)]
    longest = max(prefixes, key=lambda loc: len(loc.pattern), default=None)
    if longest is not None and longest.modifier == "^~":
        return longest
    for location in locations:
        flags = re.IGNORECASE if location.modifier == "~*" else 0
        if location.modifier in ("~", "~*") and re.search(location.pattern, uri, flags):
            return location
    assert longest is not None, f"no location for {target}"
    return longest


def app_serves_metrics(target: str) -> bool:
    """Whether the app, behind uvicorn (which decodes %XX), routes a request target to /metrics."""
    from litestar.exceptions import NotFoundException
    from litestar.utils import normalize_path

    path = normalize_path(unquote(target.split("?", 1)[0]))
    try:
        _, handler, *_ = app().asgi_router.handle_routing(path=path, method="GET")
    except NotFoundException:
        return False
    return bool(handler.paths == {"/metrics"})


# What a client can send, as nginx receives it: nginx proxies the target as it came (proxy_pass has
# no URI part), and the app then answers `/metrics/` and `/metrics//` as it answers `/metrics`.
METRICS_SPELLINGS = (
    "/metrics",
    "/metrics/",
    "/metrics//",
    "/metrics?format=text",
    "/metrics/?x=1",
    "/%6detrics",
    "/%6D%65trics/",
    "/metrics%2F",
    "//metrics",
    "///metrics/",
    "/./metrics",
    "/api/../metrics",
    "/metrics/.",
)


def test_the_app_answers_metrics_under_more_than_one_spelling() -> None:
    # Why nginx must refuse more than the exact path: the app itself is lenient.
    assert app_serves_metrics("/metrics")
    assert app_serves_metrics("/metrics/")
    assert app_serves_metrics("/metrics//")
    assert app_serves_metrics("/%6detrics")
    assert not app_serves_metrics("/api/products/")


@pytest.mark.parametrize("target", METRICS_SPELLINGS)
def test_nginx_refuses_metrics_from_outside_however_spelled(target: str) -> None:
    location = nginx_location(target)
    assert not (location.proxies and app_serves_metrics(target)), f"{target} reaches the app's /metrics"
    if nginx_normalized(target).rstrip("/") == "/metrics":
        assert location.refuses, f"{target}: location {location.modifier} {location.pattern}"


def test_every_location_that_refuses_metrics_covers_both_forms() -> None:
    refusing = [loc for loc in nginx_locations() if loc.refuses and "metrics" in loc.pattern]
    assert refusing
    for location in refusing:
        for form in ("/metrics", "/metrics/"):
            assert nginx_location(form) == location, (form, location.pattern)


@pytest.mark.parametrize("target", ["/", "/api/products/", "/api/docs/", "/health/ready", "/api/auth/login/"])
def test_nginx_proxies_everything_else(target: str) -> None:
    location = nginx_location(target)
    assert location.proxies, target
    assert not location.refuses


def nginx_status_map(variable: str) -> dict[str, str]:
    """`map $status $<variable> { CODE VALUE; ... default VALUE; }` as a dict."""
    [block] = [m for m in nginx_blocks("map") if m.args == ["$status", f"${variable}"]]
    return {entry.name: entry.args[0] for entry in block.block or [] if entry.name != "volatile"}


def nginx_error_page(status: int) -> tuple[Location, bytes]:
    """The location serving nginx's own error `status`, and the body it sends."""
    pages = {int(code): page.args[-1] for page in nginx_blocks("error_page") for code in page.args[:-1]}
    assert status in pages, f"no error_page for {status}"
    location = nginx_location(pages[status])
    [returned] = [d for d in location.body if d.name == "return"]
    template = returned.args[1].replace("\\n", "\n")

    def value(match: re.Match[str]) -> str:
        values = nginx_status_map(match.group(1))
        return values.get(str(status), values["default"])

    return location, re.sub(r"\$(\w+)", value, template).encode()


@pytest.mark.parametrize("status", [400, 403, 404, 408, 413, 414, 429, 500, 502, 503, 504])
def test_nginx_answers_its_own_errors_with_the_api_error_body(status: int) -> None:
    from shop_http.errors import CODE_OF_STATUS

    location, body = nginx_error_page(status)

    assert location.modifier == "="
    assert location.has("internal")  # a client cannot ask for it directly
    assert location.has("default_type", "application/json")
    error = json.loads(body)
    assert set(error) == {"detail", "code"}
    assert error["detail"]
    assert error["code"] == CODE_OF_STATUS.get(status, error["code"])
    assert re.fullmatch(r"[a-z_]+", error["code"])
    assert location.has("add_header", "X-Request-ID")


def test_nginx_keeps_the_error_status_and_passes_the_api_errors_through() -> None:
    # `error_page 403 =200 ...` (or `= ...`) would turn every error into a 200.
    assert all(not arg.startswith("=") for page in nginx_blocks("error_page") for arg in page.args)
    # The replicas' own errors are already JSON with their own detail: nginx must not replace them.
    assert all(d.args == ["off"] for d in nginx_blocks("proxy_intercept_errors"))
    retry_after = nginx_status_map("shop_error_retry_after")
    assert {retry_after[str(code)] for code in (502, 503, 504)} == {"5"}
    assert retry_after["default"] == ""


def test_nginx_body_limit_matches_the_default_setting() -> None:
    [size] = nginx_directives("client_max_body_size")
    units = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
    number, unit = re.fullmatch(r"(\d+)([kmg]?)", size.lower()).groups()  # type: ignore[union-attr]

    assert int(number) * units[unit] == Settings().max_request_body_bytes


def test_nginx_proxies_to_the_api_service_port() -> None:
    _, options = shop_command(run_args("api")[1:])
    servers = nginx_directives("server")
    assert [s.split()[0] for s in servers] == [f"api:{options['port']}"]
    assert nginx_directives("resolver")[0].split()[0] == "127.0.0.11"  # Docker's DNS
    assert set(nginx_directives("proxy_pass")) == {"http://shop_api"}  # every location, streams too
    assert re.search(r"upstream\s+shop_api\s*\{", nginx_conf())


def test_nginx_forwards_the_client_the_scheme_the_host_and_the_request_id() -> None:
    headers = dict(h.split(None, 1) for h in nginx_directives("proxy_set_header"))
    # Overwritten with the peer nginx saw, never appended to: the API trusts this header from any
    # peer (`--forwarded-allow-ips *`), and uvicorn then takes its first entry, which a client
    # could otherwise write itself to dodge the per-client rate limits.
    assert headers["X-Forwarded-For"] == "$remote_addr"
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert headers["Host"] == "$host"
    request_id = headers["X-Request-ID"]
    assert re.search(
        rf"map\s+\$http_x_request_id\s+{re.escape(request_id)}\s*\{{(?s:.*?)default\s+\$request_id;",
        nginx_conf(),
    )
    assert f"X-Request-ID {request_id} always" in nginx_directives("add_header")


def test_nginx_compresses_json() -> None:
    assert nginx_directives("gzip") == ["on"]
    [types] = nginx_directives("gzip_types")
    assert "application/json" in types.split()


def test_nginx_conf_braces_balance() -> None:
    text = nginx_conf()
    depth = 0
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0
    assert depth == 0


# --- shop serve --forwarded-allow-ips ----------------------------------------------------------------------


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    """Run `shop serve` with uvicorn.run recorded instead of started (settings: test defaults)."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append({"app": app, **kwargs}))
    monkeypatch.chdir(tmp_path)
    return calls


def serve(*args: str) -> None:
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("SHOP_")}
    env["SHOP_ENV"] = "test"
    result = CliRunner().invoke(shop_app, ["serve", *args], env=env)
    assert result.exit_code == 0, result.output


def test_serve_passes_the_trusted_proxies_to_uvicorn(served: list[dict[str, Any]]) -> None:
    serve("--forwarded-allow-ips", "10.0.0.0/8,172.16.0.0/12")

    [call] = served
    assert call["proxy_headers"] is True
    assert call["forwarded_allow_ips"] == "10.0.0.0/8,172.16.0.0/12"


def test_serve_leaves_the_trusted_proxies_to_uvicorn_by_default(
    served: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    serve()

    [call] = served
    assert call["forwarded_allow_ips"] is None
    # None is uvicorn's own default: $FORWARDED_ALLOW_IPS, else the loopback addresses.
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    assert uvicorn.Config("x:y", forwarded_allow_ips=None).forwarded_allow_ips == "127.0.0.1,::1"


@pytest.mark.parametrize(
    "target", ["/api/orders/7/events/", "/api/orders/7/events", "/api/orders/7/events/?ticket=x"]
)
def test_nginx_streams_the_live_order_events(target: str) -> None:
    location = nginx_location(target)
    assert location.proxies
    assert not location.refuses
    directives = {d.name: d.args for d in location.body}
    assert directives["proxy_buffering"] == ["off"]
    assert directives["proxy_cache"] == ["off"]
    assert "text/event-stream" not in " ".join(nginx_directives("gzip_types"))  # never compressed
    assert directives["proxy_read_timeout"] == ["1h"]
    assert directives["proxy_http_version"] == ["1.1"]
    # The same headers as every other proxied request: keep-alive to the replicas, the client's
    # address and scheme, the request id.
    sent = {d.args[0]: d.args[1:] for d in location.body if d.name == "proxy_set_header"}
    assert sent == {
        d.args[0]: d.args[1:] for d in nginx_location("/api/orders/7/").body if d.name == "proxy_set_header"
    }
    assert set(sent) == {"Connection", "Host", "X-Forwarded-For", "X-Forwarded-Proto", "X-Request-ID"}
    assert directives["proxy_pass"] == [nginx_location("/api/orders/7/").body[0].args[0]]
    # Its access lines leave the query string (a stream ticket) out.
    assert directives["access_log"][-1] == "shop_stream"
    [stream_format] = [d for d in nginx_blocks("log_format") if d.args[0] == "shop_stream"]
    logged = " ".join(stream_format.args)
    assert "$request " not in logged
    assert "$args" not in logged
    assert "$request_uri" not in logged
    assert "$uri" in " ".join(stream_format.args)


def test_nginx_buffers_the_rest_as_before() -> None:
    location = nginx_location("/api/orders/7/")
    assert "proxy_buffering" not in {d.name for d in location.body}
    assert [d.args for d in location.body if d.name == "proxy_read_timeout"] == [["60s"]]
