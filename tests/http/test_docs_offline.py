"""The API docs page works without the internet: every file it loads comes from the app itself.

Nothing here opens a network connection beyond the app: the page is parsed, every URL it names
must be the app's own, and each is then asked of the app, which must serve it with the right type
and a real body. The schema is also served as YAML, equal to the JSON one.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import yaml

import shop_http
from tests.http.conftest import Client

DOCS_PAGES = ["/api/docs/", "/api/docs", "/api/schema/swagger"]
TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


class References(HTMLParser):
    """Every URL an HTML page makes the browser load, and its data-* URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href", "data-schema-url"):
            if values.get(name):
                self.urls.append(values[name] or "")
        self._in_script = tag == "script" and not values.get("src")

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def references(html: str) -> References:
    parser = References()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("page", DOCS_PAGES)
async def test_the_docs_page_names_no_other_host(client: Client, page: str) -> None:
    response = await client.get(page)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    found = references(response.text)
    assert found.urls, "the page loads nothing"
    for url in found.urls:
        parts = urlsplit(urljoin(str(response.url), url))
        assert (parts.scheme, parts.netloc) == (response.url.scheme, response.url.host), url
    assert not re.search(r"(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", response.text)  # no CDN, no other host
    assert found.inline_scripts == 0


@pytest.mark.parametrize("page", DOCS_PAGES)
async def test_every_file_the_docs_page_loads_is_served(client: Client, page: str) -> None:
    html = (await client.get(page)).text
    assets = [url for url in references(html).urls if urlsplit(url).path.startswith("/api/docs/assets/")]
    names = {Path(urlsplit(url).path).name for url in assets}
    assert {
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "swagger-ui.css",
        "shop-docs.js",
    } <= names

    for url in assets:
        response = await client.get(url)
        assert response.status_code == 200, url
        expected = TYPES[Path(urlsplit(url).path).suffix]
        assert response.headers["content-type"].split(";")[0].strip() == expected, url
        assert len(response.content) > 200, url
        assert "max-age" in response.headers["cache-control"]

    bundle = (await client.get("/api/docs/assets/swagger-ui-bundle.js")).text
    assert len(bundle) > 500_000
    assert "SwaggerUIBundle" in bundle
    preset = (await client.get("/api/docs/assets/swagger-ui-standalone-preset.js")).text
    assert "SwaggerUIStandalonePreset" in preset
    assert ".swagger-ui" in (await client.get("/api/docs/assets/swagger-ui.css")).text
    starter = (await client.get("/api/docs/assets/shop-docs.js")).text
    assert "SwaggerUIBundle(" in starter
    assert "validatorUrl: null" in starter  # Swagger UI would otherwise call its public validator


async def test_the_page_fetches_the_schema_from_its_own_origin(client: Client) -> None:
    found = references((await client.get("/api/docs/")).text)
    [schema_url] = [url for url in found.urls if url.endswith("openapi.json")]

    response = await client.get(schema_url)
    assert response.status_code == 200
    assert response.json()["info"]["title"]


async def test_the_docs_page_policy_allows_its_own_files_only(client: Client) -> None:
    response = await client.get("/api/docs/")

    directives = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, _, sources = part.strip().partition(" ")
        directives[name] = sources.split()
    assert directives["script-src"] == ["'self'"]  # no CDN, no inline script
    for name, sources in directives.items():
        assert not [s for s in sources if s.startswith(("http:", "https:")) or s in ("http:", "https:")], name
    assert directives["connect-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]


async def test_unknown_and_escaping_asset_paths_are_404(client: Client) -> None:
    for path in ("/api/docs/assets/nothing.js", "/api/docs/assets/..%2F..%2Fapp.py", "/api/docs/assets/"):
        assert (await client.get(path)).status_code == 404, path


def test_the_vendored_swagger_ui_ships_with_its_licence() -> None:
    vendored = Path(shop_http.__file__).parent / "static" / "swagger-ui"
    assert "Apache License" in (vendored / "LICENSE").read_text()
    assert "SmartBear" in (vendored / "NOTICE").read_text()
    for bundled in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        assert (vendored / f"{bundled}.LICENSE.txt").is_file()


@pytest.mark.parametrize("path", ["/api/schema/openapi.yaml", "/api/schema/openapi.yml"])
async def test_the_schema_is_served_as_yaml_equal_to_the_json_one(client: Client, path: str) -> None:
    as_yaml = await client.get(path)
    as_json = await client.get("/api/schema/openapi.json")

    assert as_yaml.status_code == 200
    assert "yaml" in as_yaml.headers["content-type"] or "openapi" in as_yaml.headers["content-type"]
    assert yaml.safe_load(as_yaml.text) == as_json.json()
