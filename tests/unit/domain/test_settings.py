"""`Settings.from_mapping`: types, defaults, and the unsafe combinations it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from shop_core.settings import DEV_SECRET_KEY, Environment, Settings, SettingsError

SECRET = "s" * 32


def test_defaults_when_nothing_is_set() -> None:
    settings = Settings.from_mapping({})
    assert settings.env is Environment.DEVELOPMENT
    assert settings.debug is False
    assert settings.database_url == "sqlite+aiosqlite:///./shop.db"
    assert settings.redis_url is None
    assert settings.secret_key == DEV_SECRET_KEY
    assert settings.uses_default_secret
    assert (settings.access_token_ttl, settings.refresh_token_ttl) == (900, 604_800)
    assert (settings.max_failed_logins, settings.failed_login_window) == (5, 900)
    assert settings.cors_origins == ()
    assert settings.rate_limit_enabled is True


def test_values_are_parsed_into_their_types() -> None:
    settings = Settings.from_mapping(
        {
            "SHOP_ENV": "test",
            "SHOP_DEBUG": "true",
            "SHOP_DATABASE_URL": "postgresql+asyncpg://shop@db/shop",
            "SHOP_DATABASE_POOL_SIZE": " 7 ",
            "SHOP_REDIS_URL": "redis://cache:6379/1",
            "SHOP_SECRET_KEY": SECRET,
            "SHOP_ACCESS_TOKEN_TTL": "60",
            "SHOP_REFRESH_TOKEN_TTL": "3600",
            "SHOP_MAX_FAILED_LOGINS": "3",
            "SHOP_RATE_LIMIT_ENABLED": "0",
            "SHOP_LOG_LEVEL": "DEBUG",
        }
    )
    assert settings.env is Environment.TEST
    assert settings.debug is True
    assert settings.database_url == "postgresql+asyncpg://shop@db/shop"
    assert settings.database_pool_size == 7
    assert settings.redis_url == "redis://cache:6379/1"
    assert settings.secret_key == SECRET
    assert not settings.uses_default_secret
    assert (settings.access_token_ttl, settings.refresh_token_ttl, settings.max_failed_logins) == (
        60,
        3600,
        3,
    )
    assert settings.rate_limit_enabled is False
    assert settings.log_level == "DEBUG"


def test_only_shop_variables_are_read() -> None:
    settings = Settings.from_mapping({"DEBUG": "true", "ENV": "production", "SHOP_UNKNOWN_THING": "x"})
    assert settings == Settings()


def test_cors_origins_are_comma_separated() -> None:
    settings = Settings.from_mapping({"SHOP_CORS_ORIGINS": " https://a.example , https://b.example,, "})
    assert settings.cors_origins == ("https://a.example", "https://b.example")


def test_an_empty_redis_url_means_no_redis() -> None:
    assert Settings.from_mapping({"SHOP_REDIS_URL": "  "}).redis_url is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SHOP_ACCESS_TOKEN_TTL", "soon"),
        ("SHOP_ACCESS_TOKEN_TTL", "0"),
        ("SHOP_REFRESH_TOKEN_TTL", "-5"),
        ("SHOP_DATABASE_POOL_SIZE", "1.5"),
        ("SHOP_DEBUG", "maybe"),
        ("SHOP_RATE_LIMIT_ENABLED", "sometimes"),
        ("SHOP_ENV", "prod"),
        ("SHOP_LOG_LEVEL", "loud"),
    ],
)
def test_a_bad_value_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"^{variable}: "):
        Settings.from_mapping({variable: value})


@pytest.mark.parametrize("secret", ["short", "x" * 31])
def test_a_secret_shorter_than_32_characters_is_refused(secret: str) -> None:
    with pytest.raises(SettingsError, match="SHOP_SECRET_KEY"):
        Settings.from_mapping({"SHOP_SECRET_KEY": secret})


def test_a_secret_of_32_characters_is_accepted() -> None:
    assert Settings.from_mapping({"SHOP_SECRET_KEY": SECRET}).secret_key == SECRET


def test_development_accepts_the_default_secret_debug_and_any_origin() -> None:
    settings = Settings.from_mapping({"SHOP_DEBUG": "1", "SHOP_CORS_ORIGINS": "*"})
    assert settings.uses_default_secret
    assert settings.debug
    assert settings.cors_origins == ("*",)


PRODUCTION = {
    "SHOP_ENV": "production",
    "SHOP_SECRET_KEY": SECRET,
    "SHOP_DATABASE_URL": "postgresql+asyncpg://shop:secret@db.internal:5432/shop",
    "SHOP_METRICS_TOKEN": "m" * 32,
}


def test_production_with_safe_settings_is_accepted() -> None:
    settings = Settings.from_mapping({**PRODUCTION, "SHOP_CORS_ORIGINS": "https://shop.example"})
    assert settings.env is Environment.PRODUCTION
    assert settings.database_url.startswith("postgresql+asyncpg://")


# One case per refusal, each on otherwise safe settings: the message starts with the variable to fix.
@pytest.mark.parametrize(
    ("changes", "variable"),
    [
        ({"SHOP_SECRET_KEY": DEV_SECRET_KEY}, "SHOP_SECRET_KEY"),
        ({"SHOP_SECRET_KEY": ""}, "SHOP_SECRET_KEY"),
        ({"SHOP_DEBUG": "true"}, "SHOP_DEBUG"),
        ({"SHOP_CORS_ORIGINS": "https://shop.example,*"}, "SHOP_CORS_ORIGINS"),
        ({"SHOP_DATABASE_URL": "sqlite+aiosqlite:///./shop.db"}, "SHOP_DATABASE_URL"),
        ({"SHOP_DATABASE_URL": "sqlite+aiosqlite:////var/lib/shop/shop.db"}, "SHOP_DATABASE_URL"),
        ({"SHOP_DATABASE_URL": " SQLite:///shop.db"}, "SHOP_DATABASE_URL"),
        ({"SHOP_METRICS_TOKEN": ""}, "SHOP_METRICS_TOKEN"),
        ({"SHOP_METRICS_TOKEN": "", "SHOP_METRICS_PUBLIC": "false"}, "SHOP_METRICS_TOKEN"),
    ],
    ids=[
        "default-secret",
        "empty-secret",
        "debug",
        "cors-star",
        "sqlite",
        "sqlite-absolute",
        "sqlite-case",
        "open-metrics",
        "open-metrics-not-public",
    ],
)
def test_production_refuses_unsafe_settings(changes: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=f"^{variable} "):
        Settings.from_mapping({**PRODUCTION, **changes})


def test_production_refuses_a_missing_secret() -> None:
    with pytest.raises(SettingsError, match=r"^SHOP_SECRET_KEY "):
        Settings.from_mapping({k: v for k, v in PRODUCTION.items() if k != "SHOP_SECRET_KEY"})


def test_production_refuses_the_default_sqlite_database() -> None:
    with pytest.raises(SettingsError, match=r"^SHOP_DATABASE_URL .*PostgreSQL"):
        Settings.from_mapping({k: v for k, v in PRODUCTION.items() if k != "SHOP_DATABASE_URL"})


def test_production_refuses_metrics_without_a_token_and_says_how_to_choose() -> None:
    without_token = {k: v for k, v in PRODUCTION.items() if k != "SHOP_METRICS_TOKEN"}
    with pytest.raises(SettingsError, match=r"^SHOP_METRICS_TOKEN ") as refused:
        Settings.from_mapping(without_token)
    assert "SHOP_METRICS_PUBLIC=true" in str(refused.value)
    assert "SHOP_METRICS_ENABLED=false" in str(refused.value)


@pytest.mark.parametrize(
    "changes",
    [{"SHOP_METRICS_PUBLIC": "true"}, {"SHOP_METRICS_ENABLED": "false"}],
    ids=["said-public", "metrics-off"],
)
def test_production_serves_metrics_without_a_token_only_when_told(changes: dict[str, str]) -> None:
    without_token = {k: v for k, v in PRODUCTION.items() if k != "SHOP_METRICS_TOKEN"}
    settings = Settings.from_mapping({**without_token, **changes})
    assert settings.metrics_token is None
    assert (settings.metrics_public, settings.metrics_enabled) != (False, True)


def test_metrics_public_is_off_by_default_and_parsed_as_a_boolean() -> None:
    assert Settings.from_mapping({}).metrics_public is False
    assert Settings.from_mapping({"SHOP_METRICS_PUBLIC": "1"}).metrics_public is True
    with pytest.raises(SettingsError, match=r"^SHOP_METRICS_PUBLIC: "):
        Settings.from_mapping({"SHOP_METRICS_PUBLIC": "perhaps"})


@pytest.mark.parametrize("env", ["development", "test"])
def test_open_metrics_are_fine_outside_production(env: str) -> None:
    settings = Settings.from_mapping({"SHOP_ENV": env})
    assert (settings.metrics_enabled, settings.metrics_token, settings.metrics_public) == (True, None, False)


@pytest.mark.parametrize("env", ["development", "test"])
def test_sqlite_is_fine_outside_production(env: str) -> None:
    settings = Settings.from_mapping({"SHOP_ENV": env, "SHOP_DATABASE_URL": "sqlite+aiosqlite:///./x.db"})
    assert settings.database_url == "sqlite+aiosqlite:///./x.db"


def test_replace_checks_the_result() -> None:
    settings = Settings.from_mapping(PRODUCTION)
    assert settings.replace(access_token_ttl=60).access_token_ttl == 60
    with pytest.raises(SettingsError, match="SHOP_DEBUG"):
        settings.replace(debug=True)


def test_from_env_prefers_the_environment_over_the_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("SHOP_ACCESS_TOKEN_TTL=60\nSHOP_REFRESH_TOKEN_TTL=120\n")
    settings = Settings.from_env({"SHOP_ACCESS_TOKEN_TTL": "30"}, env_file=env_file)
    assert (settings.access_token_ttl, settings.refresh_token_ttl) == (30, 120)


def test_tax_modes_are_off_by_default_and_parsed_as_booleans() -> None:
    assert (Settings().prices_include_tax, Settings().tax_shipping) == (False, False)
    settings = Settings.from_mapping({"SHOP_PRICES_INCLUDE_TAX": "true", "SHOP_TAX_SHIPPING": "1"})
    assert (settings.prices_include_tax, settings.tax_shipping) == (True, True)
    with pytest.raises(SettingsError, match=r"^SHOP_TAX_SHIPPING: "):
        Settings.from_mapping({"SHOP_TAX_SHIPPING": "sometimes"})
