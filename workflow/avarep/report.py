"""The report's document model: a small block model (headings, paragraphs, bullets, tables,
images) written out as reStructuredText (the report's front page), Markdown and HTML, so the
reproducibility summary exists once and reads the same everywhere.

The report's other pieces have their own modules: :mod:`avarep.pages` (a CSV as an HTML
page), :mod:`avarep.samplegrid` (the sample grid), :mod:`avarep.benchtable` (run statistics).
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import pandas as pd

from .pages import HEADERS, PAGE_CSS, fmt_value, html_table


@dataclass
class Document:
    """Blocks written once, rendered as reStructuredText, Markdown or HTML.

    Inline markup in text: ``**bold**`` and ````code```` (double backticks), nothing else;
    every other character is escaped for the target.
    """

    title: str
    blocks: list = field(default_factory=list)

    def heading(self, text: str) -> None:
        self.blocks.append(("h", text))

    def para(self, text: str) -> None:
        self.blocks.append(("p", text))

    def bullets(self, items: Sequence[str]) -> None:
        self.blocks.append(("ul", list(items)))

    def table(self, frame: pd.DataFrame) -> None:
        self.blocks.append(("table", frame))

    def image(self, path: str | os.PathLike, caption: str) -> None:
        """A PNG, embedded as a data URI in rst and HTML (the report is one file), linked in Markdown."""
        self.blocks.append(("img", (str(path), caption)))

    # --- inline markup
    _INLINE = re.compile(r"(\*\*.+?\*\*|``.+?``)")

    @classmethod
    def _inline(cls, text: str, target: str) -> str:
        out = []
        for piece in cls._INLINE.split(str(text)):
            if not piece:
                continue
            if piece.startswith("**") and piece.endswith("**") and len(piece) > 4:
                inner = cls._escape(piece[2:-2], target)
                out.append({"rst": f"**{inner}**", "md": f"**{inner}**",
                            "html": f"<strong>{inner}</strong>"}[target])
            elif piece.startswith("``") and piece.endswith("``") and len(piece) > 4:
                inner = piece[2:-2]
                out.append({"rst": f"``{inner}``", "md": f"`{inner}`",
                            "html": f"<code>{html.escape(inner)}</code>"}[target])
            else:
                out.append(cls._escape(piece, target))
        return "".join(out)

    @staticmethod
    def _escape(text: str, target: str) -> str:
        if target == "html":
            return html.escape(text)
        if target == "rst":
            return re.sub(r"([\\`*|_\[\]])", r"\\\1", text)
        return re.sub(r"([\\`*|_\[\]<>])", r"\\\1", text)

    @staticmethod
    def _cells(frame: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
        header = [HEADERS.get(str(c), str(c)) for c in frame.columns]
        body = [[fmt_value(row[c], str(c)) for c in frame.columns] for _, row in frame.iterrows()]
        return header, body

    def rst(self) -> str:
        title = self._escape(self.title, "rst")
        bar = "=" * (len(title) + 2)
        lines = [bar, f" {title}", bar, ""]
        for kind, content in self.blocks:
            if kind == "h":
                text = self._escape(content, "rst")
                lines += [text, "-" * (len(text) + 2), ""]
            elif kind == "p":
                lines += [self._inline(content, "rst"), ""]
            elif kind == "ul":
                lines += [f"* {self._inline(item, 'rst')}" for item in content] + [""]
            elif kind == "table":
                header, body = self._cells(content)
                lines += [".. list-table::", "   :header-rows: 1", "   :widths: auto", ""]
                for row in [header, *body]:
                    first, *rest = [self._inline(c, "rst") or "\\ " for c in row]
                    lines.append(f"   * - {first}")
                    lines += [f"     - {c}" for c in rest]
                lines.append("")
            elif kind == "img":
                path, caption = content
                # docutils refuses lines over 10 000 characters; a URI may span lines.
                uri = data_uri(path)
                chunks = [uri[i:i + 76] for i in range(0, len(uri), 76)]
                lines += [f".. figure:: {chunks[0]}", *(f"   {c}" for c in chunks[1:]),
                          "   :width: 100%",
                          f"   :alt: {caption.replace('``', '')}", "",
                          f"   {self._inline(caption, 'rst')}", ""]
        return "\n".join(lines) + "\n"

    def md(self) -> str:
        lines = [f"# {self.title}", ""]
        for kind, content in self.blocks:
            if kind == "h":
                lines += [f"## {content}", ""]
            elif kind == "p":
                lines += [self._inline(content, "md"), ""]
            elif kind == "ul":
                lines += [f"* {self._inline(item, 'md')}" for item in content] + [""]
            elif kind == "table":
                header, body = self._cells(content)
                lines.append("| " + " | ".join(self._inline(c, "md") for c in header) + " |")
                lines.append("|" + "---|" * len(header))
                lines += ["| " + " | ".join(self._inline(c, "md") for c in row) + " |"
                          for row in body]
                lines.append("")
            elif kind == "img":
                path, caption = content
                lines += [f"![{self._escape(caption, 'md')}]({path})", "",
                          f"*{self._inline(caption, 'md')}*", ""]
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        parts = [f"<h1>{html.escape(self.title)}</h1>"]
        for kind, content in self.blocks:
            if kind == "h":
                parts.append(f"<h2>{html.escape(content)}</h2>")
            elif kind == "p":
                parts.append(f"<p>{self._inline(content, 'html')}</p>")
            elif kind == "ul":
                parts.append("<ul>" + "".join(f"<li>{self._inline(i, 'html')}</li>"
                                              for i in content) + "</ul>")
            elif kind == "table":
                parts.append(html_table(content))
            elif kind == "img":
                path, caption = content
                parts.append(f'<figure><img style="max-width:100%" src="{data_uri(path)}" '
                             f'alt="{html.escape(caption)}"><figcaption>'
                             f"{self._inline(caption, 'html')}</figcaption></figure>")
        css = PAGE_CSS + "body{max-width:60rem}td{white-space:normal}"
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(self.title)}</title><style>{css}</style></head><body>"
                + "\n".join(parts) + "</body></html>\n")


def data_uri(path: str | os.PathLike) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode()


def load_json(path) -> dict:
    with open(path) as handle:
        return json.load(handle)
