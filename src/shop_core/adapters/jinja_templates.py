"""The `EmailRenderer` port with Jinja2 (the `mail` extra).

Templates are files in one directory, by default the shop's own `shop_core/services/email_templates`
(pass another directory to rebrand every email without touching code). `.html` templates escape every
inserted value (a product called `<script>` arrives as text); `.txt` templates don't, they are plain
text. An undefined value raises instead of rendering as an empty string.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import jinja2

from shop_core.services.emails import TEMPLATES_DIR


class JinjaEmailRenderer:
    def __init__(self, directory: Path = TEMPLATES_DIR) -> None:
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory),
            # Escape in every template but the plain-text ones.
            autoescape=jinja2.select_autoescape(disabled_extensions=("txt",), default=True),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,
        )

    def render(self, template: str, context: Mapping[str, object]) -> str:
        return self._env.get_template(template).render(context)
