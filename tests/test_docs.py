"""The documentation site's promises, checked without building it (`nox -s docs` builds it strict):
every page is in the nav and every nav entry is a page, the library page shows the tested example
itself, and the README stays a short map that links every page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def nav_pages(entries: list[Any]) -> list[str]:
    """The page paths in a mkdocs nav: `- Title: page.md`, `- page.md` or a titled section of them."""
    pages: list[str] = []
    for entry in entries:
        target = next(iter(entry.values())) if isinstance(entry, dict) else entry
        if isinstance(target, list):
            pages.extend(nav_pages(target))
        elif not re.match(r"^[a-z]+://", target):  # an external link is not a page
            pages.append(target)
    return pages


def mkdocs_config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    return config


def test_every_page_is_in_the_nav_and_every_nav_entry_is_a_page() -> None:
    config = mkdocs_config()
    assert config["docs_dir"] == "docs"
    in_nav = nav_pages(config["nav"])
    on_disk = sorted(path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md"))
    assert len(in_nav) == len(set(in_nav)), "a page is in the nav twice"
    assert sorted(in_nav) == on_disk


def test_nav_pages_reads_titles_sections_and_bare_pages() -> None:
    nav = [{"Home": "index.md"}, "faq.md", {"Guides": [{"API": "api.md"}, "cli.md"]}, {"Src": "https://x.y"}]
    assert nav_pages(nav) == ["index.md", "faq.md", "api.md", "cli.md"]


def test_the_library_page_includes_the_tested_example_file() -> None:
    # The page shows examples/place_an_order.py as it is (tests/test_examples.py runs it), through
    # pymdownx.snippets, which the strict build makes fail if the file is missing.
    page = (DOCS / "library.md").read_text()
    assert '--8<-- "examples/place_an_order.py"' in page
    assert (ROOT / "examples" / "place_an_order.py").is_file()
    snippets = next(
        ext["pymdownx.snippets"]
        for ext in mkdocs_config()["markdown_extensions"]
        if isinstance(ext, dict) and "pymdownx.snippets" in ext
    )
    assert snippets["check_paths"] is True
    assert snippets["base_path"] == ["."]


def test_the_readme_links_to_every_docs_page_and_only_to_pages_that_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    linked = set(re.findall(r"\]\((docs/[^)#]+\.md)(?:#[^)]*)?\)", readme))
    on_disk = {path.relative_to(ROOT).as_posix() for path in DOCS.rglob("*.md")}
    assert linked == on_disk


def test_the_readme_stays_short() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200
