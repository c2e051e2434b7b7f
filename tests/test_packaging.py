"""What `pip install headless-shop` gives a user: the wheel's contents, the `shop` command without
its extra, and what a missing extra says."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from email.parser import HeaderParser
from importlib.metadata import entry_points, packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import shop_core
from shop_core.extras import DISTRIBUTION, EXTRA_OF_MODULE

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("shop_core", "shop_runtime", "shop_http", "shop_cli", "shop_workers")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    out = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "hatchling", "build", "--target", "wheel", "--directory", str(out)]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    (built,) = out.glob("*.whl")
    with zipfile.ZipFile(built) as archive:
        yield archive


def test_the_distribution_is_not_named_shop_and_the_core_knows_its_name(wheel: zipfile.ZipFile) -> None:
    (metadata,) = (n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    headers = HeaderParser().parsestr(wheel.read(metadata).decode())
    assert headers["Name"] == DISTRIBUTION == PYPROJECT["project"]["name"] != "shop"
    assert headers["Version"] == shop_core.__version__
    # The extras that include others (`cli` = `sql` + `auth` + ...) name this distribution, so the
    # build flattens them; naming `shop` would have pulled in the unrelated project.
    requires = headers.get_all("Requires-Dist") or []
    assert not [r for r in requires if r.split(";")[0].strip().startswith(("shop[", "shop ", "shop<"))]
    cli = {r.split(";")[0].split("<")[0].split(">")[0] for r in requires if r.endswith("extra == 'cli'")}
    assert {"typer", "sqlalchemy[asyncio]", "argon2-cffi"} <= cli


def test_every_package_ships_py_typed_and_its_data_files(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert {f"{package}/py.typed" for package in PACKAGES} <= names
    data = {
        path.relative_to(ROOT / "src").as_posix()
        for package in PACKAGES
        for path in (ROOT / "src" / package).rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc")
    }
    assert data <= names  # migrations' alembic.ini and script template, the email templates


def test_the_shop_command_is_the_shim(wheel: zipfile.ZipFile) -> None:
    (scripts,) = (n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt"))
    assert "shop = shop_cli.entry:main" in wheel.read(scripts).decode().splitlines()
    # and the installed command is that one
    (installed,) = entry_points(group="console_scripts", name="shop")
    assert installed.value == "shop_cli.entry:main"


def test_the_extra_named_for_each_module_installs_it(wheel: zipfile.ZipFile) -> None:
    (metadata,) = (n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    requires = [
        Requirement(r)
        for r in HeaderParser().parsestr(wheel.read(metadata).decode()).get_all("Requires-Dist") or []
    ]
    providers = packages_distributions()
    for module, extra in EXTRA_OF_MODULE.items():
        installed = set()  # the distributions `pip install 'headless-shop[<extra>]'` brings
        for req in requires:
            if req.marker is not None and req.marker.evaluate({"extra": extra}):
                installed |= {req.name, *req.extras, *(f"{req.name}-{e}" for e in req.extras)}
        wanted = {canonicalize_name(d) for d in providers[module]}
        assert wanted & {canonicalize_name(d) for d in installed}, (module, extra)


# A program that blocks some imports (as if their extra were not installed), then runs `code`.
BLOCKED = "import sys\nfor m in {blocked!r}: sys.modules[m] = None\n"

SHOP_COMMAND = """
from importlib.metadata import entry_points, packages_distributions
(shop,) = entry_points(group="console_scripts", name="shop")
sys.argv = ["shop", *{argv!r}]
sys.exit(shop.load()())
"""


def run_blocked(blocked: tuple[str, ...], code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    program = BLOCKED.format(blocked=blocked) + code
    env = {"PATH": "/usr/bin:/bin", "SHOP_DATABASE_URL": f"sqlite+aiosqlite:///{cwd}/shop.db"}
    return subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=cwd, env=env, check=False
    )


@pytest.mark.parametrize("module", ["typer", "rich"])
def test_the_shop_command_without_the_cli_extra_says_what_to_install(module: str, tmp_path: Path) -> None:
    result = run_blocked((module,), SHOP_COMMAND.format(argv=["--help"]), tmp_path)
    assert result.returncode == 1
    assert result.stderr == (
        f"error: the `shop` command needs the `cli` extra ({module} is not installed): "
        f"pip install '{DISTRIBUTION}[cli]'\n"
    )
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("module", "argv", "extra", "needed_for"),
    [
        ("uvicorn", ["serve", "--port", "1"], "http", "This command"),
        ("litestar", ["serve", "--port", "1"], "http", "This command"),
        ("sqlalchemy", ["db", "upgrade"], "sql", "Migrating the database"),
        ("argon2", ["demo"], "auth", "Hashing passwords"),
    ],
)
def test_a_command_needing_another_extra_says_which(
    module: str, argv: list[str], extra: str, needed_for: str, tmp_path: Path
) -> None:
    result = run_blocked((module,), SHOP_COMMAND.format(argv=argv), tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"error: {needed_for} needs the `{extra}` extra ({module} is not installed): "
        f"pip install '{DISTRIBUTION}[{extra}]'"
    )
    assert "Traceback" not in result.stderr


def test_the_shop_command_with_its_extra_runs(tmp_path: Path) -> None:
    result = run_blocked((), SHOP_COMMAND.format(argv=["--help"]), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Run and operate the shop." in result.stdout


# The core, driven as a library: what a user sees when an extra it needs is missing.
CORE = """
import asyncio, msgspec
from shop_core.bootstrap import bootstrap, migrate
from shop_core.extras import MissingExtra
from shop_core.settings import Settings

settings = Settings.from_env(env_file=None)

async def main():
{body}

try:
    asyncio.run(main())
except MissingExtra as exc:
    print(type(exc).__name__, exc.extra, isinstance(exc, ModuleNotFoundError))
    print(exc.detail)
else:
    print("no error")
"""

REGISTER = """
    from shop_core.services.commands import RegisterUser
    await asyncio.to_thread(migrate, settings)
    async with bootstrap(settings) as shop:
        cmd = msgspec.convert({"email": "a@example.com", "password": "long enough password"}, RegisterUser)
        await shop.accounts.register(cmd)
"""

INVOICE = """
    from shop_core.services.commands import RegisterUser
    from shop_core.services.catalog_commands import CreateProduct
    from shop_core.domain.actors import Actor
    from shop_core.services.order_commands import PlaceOrder
    await asyncio.to_thread(migrate, settings)
    async with bootstrap(settings) as shop:
        user = await shop.accounts.register(
            msgspec.convert({"email": "a@example.com", "password": "long enough password"}, RegisterUser)
        )
        product = await shop.catalog.create_product(
            msgspec.convert({"name": "Pot", "sku": "P-1", "price": "3", "stock_quantity": 5}, CreateProduct),
            Actor.operator("test"),
        )
        address = {"full_name": "A", "line1": "1 Road", "city": "C", "postal_code": "1", "country": "GB"}
        cmd = msgspec.convert(
            {"items": [{"product_id": product.id, "quantity": 1}], "shipping_address": address,
             "payment_method": "cod"},
            PlaceOrder,
        )
        actor = Actor("a@example.com", user.id)
        placed = await shop.orders.place_order(user.id, actor, cmd)
        await shop.jobs.drain_jobs()
        await shop.invoices.order_invoice(placed.order.id, actor)
"""

BOOTSTRAP = """
    async with bootstrap(settings):
        pass
"""

MIGRATE = """
    migrate(settings)
"""


@pytest.mark.parametrize(
    ("blocked", "environ", "body", "extra", "needed_for"),
    [
        (("argon2",), {}, REGISTER, "auth", "Hashing passwords"),
        (("fpdf",), {}, INVOICE, "invoices", "Rendering invoices"),
        (("sqlalchemy",), {}, BOOTSTRAP, "sql", "This shop's configuration"),
        (("alembic",), {}, MIGRATE, "sql", "Migrating the database"),
        (
            ("redis",),
            {"SHOP_REDIS_URL": "redis://127.0.0.1:1/0"},
            BOOTSTRAP,
            "redis",
            "This shop's configuration",
        ),
        (
            ("asyncpg",),
            {"SHOP_DATABASE_URL": "postgresql+asyncpg://u@127.0.0.1:1/db"},
            BOOTSTRAP,
            "postgres",
            "This shop's configuration",
        ),
        (
            ("stripe",),
            {"SHOP_STRIPE_SECRET_KEY": "sk_test_x", "SHOP_STRIPE_WEBHOOK_SECRET": "whsec_x"},
            BOOTSTRAP,
            "payments",
            "This shop's configuration",
        ),
        (
            ("aiosmtplib",),
            {"SHOP_SMTP_URL": "smtp://127.0.0.1:1"},
            BOOTSTRAP,
            "mail",
            "This shop's configuration",
        ),
        (
            ("saq",),
            {"SHOP_QUEUE_URL": "redis://127.0.0.1:1/0"},
            BOOTSTRAP,
            "workers",
            "This shop's configuration",
        ),
    ],
    ids=["argon2", "fpdf2", "sqlalchemy", "alembic", "redis", "asyncpg", "stripe", "aiosmtplib", "saq"],
)
def test_a_missing_extra_is_named_with_the_command_to_install_it(  # noqa: PLR0917
    blocked: tuple[str, ...],
    environ: dict[str, str],
    body: str,
    extra: str,
    needed_for: str,
    tmp_path: Path,
) -> None:
    program = BLOCKED.format(blocked=blocked) + CORE.format(body=body)
    env = {"PATH": "/usr/bin:/bin", "SHOP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/shop.db", **environ}
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=tmp_path, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    module = blocked[0]
    assert result.stdout.splitlines() == [
        f"MissingExtra {extra} True",
        f"{needed_for} needs the `{extra}` extra ({module} is not installed): "
        f"pip install '{DISTRIBUTION}[{extra}]'",
    ]
