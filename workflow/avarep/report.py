"""What the HTML report shows beyond the pipeline's own outputs.

* ``table_page``: a CSV as a self-contained HTML page (Snakemake 9's report offers a CSV only
  as a download; an HTML page it shows inline), with the raw CSV embedded as a download link;
* ``samples_grid``: models x learning rates of generated images, cut from the cell strips;
* ``benchmarks_table``: Snakemake's per-job benchmark files summed per rule;
* ``Document``: a small block model (headings, paragraphs, bullets, tables) written out as
  reStructuredText (the report's front page), Markdown and HTML, so the reproducibility
  summary exists once and reads the same everywhere.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from . import protocols

# ------------------------------------------------------------------------- formatting


def fmt_value(value, column: str = "") -> str:
    """One table cell as text: γ as written, floats to 4 decimals (tiny ones in e-notation)."""
    if value is None or value is pd.NA:
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return "—"
        if column in ("lr", "γ"):
            return f"{value:g}"
        if value == 0:
            return "0"
        if abs(value) < 0.001:
            return f"{value:.1e}"
        if float(value).is_integer() and abs(value) >= 1 and column not in ("s", "mean_s"):
            return f"{int(value)}"
        return f"{value:.4f}"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    text = str(value)
    return {"True": "yes", "False": "no", "nan": "—", "<NA>": "—"}.get(text, text)


HEADERS = {"lr": "γ", "abs_delta": "|Δ|", "ours_mean": "ours mean", "ours_sd": "ours SD",
           "n_ok": "ok seeds", "n_diverged": "diverged seeds", "lo": "PI low", "hi": "PI high"}

PAGE_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:1.2rem;color:#1e293b;
     background:#fff}
h1{font-size:1.25rem;margin:0 0 .4rem}
p.meta{color:#475569;font-size:.85rem;margin:.2rem 0 .8rem}
table{border-collapse:collapse;font-size:.82rem}
th,td{border:1px solid #cbd5e1;padding:.2rem .45rem;text-align:right;white-space:nowrap}
td.text{text-align:left;white-space:normal;max-width:38rem}
th{background:#e2e8f0;position:sticky;top:0}
tr:nth-child(even) td{background:#f8fafc}
td.no,td.fails{background:#fee2e2 !important;color:#991b1b}
td.yes,td.holds{background:#dcfce7 !important;color:#166534}
td.not-resolved,td.not-evaluated{background:#fef9c3 !important;color:#854d0e}
a.download{font-size:.85rem}
"""


def _cell_class(column: str, text: str, numeric: bool) -> str:
    classes = [] if numeric else ["text"]
    if column in ("inside", "verdict", "published_verdict", "published_holds", *protocols.names()):
        classes.append(re.sub(r"[^a-z]+", "-", text.lower()).strip("-"))
    return " ".join(classes)


def html_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(HEADERS.get(str(c), str(c)))}</th>" for c in frame.columns)
    rows = []
    for _, row in frame.iterrows():
        cells = []
        for column in frame.columns:
            value = row[column]
            text = fmt_value(value, str(column))
            numeric = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
                value, (bool, np.bool_))
            cls = _cell_class(str(column), text, numeric)
            cells.append(f'<td class="{cls}">{html.escape(text)}</td>' if cls else
                         f"<td>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def wide_view(frame: pd.DataFrame, layout: str) -> pd.DataFrame:
    """The paper's layout: Tables 1-2 as γ x model (mean ± SD), Table 3 as statistic x model."""
    if layout == "table12":
        shown = frame.assign(cell=[
            "—" if pd.isna(m) else (f"{m:.4f}" if pd.isna(s) else f"{m:.4f} ± {s:.4f}")
            + (f" ({int(d)} div.)" if d else "")
            for m, s, d in zip(frame["mean"], frame["sd"], frame["n_diverged"].fillna(0))])
        wide = shown.pivot(index="lr", columns="model", values="cell")
        wide = wide.loc[sorted(wide.index, reverse=True), list(dict.fromkeys(frame["model"]))]
        return wide.reset_index()
    if layout == "table3":
        wide = frame.pivot(index="statistic", columns="model", values="value")
        wide = wide.loc[list(dict.fromkeys(frame["statistic"])), list(dict.fromkeys(frame["model"]))]
        return wide.reset_index()
    return frame


def table_page(csv_path: str | os.PathLike, title: str, layout: str = "long") -> str:
    """A CSV as one self-contained HTML page: the table, and the raw CSV to download."""
    raw = Path(csv_path).read_bytes()
    frame = pd.read_csv(csv_path) if raw.strip() else pd.DataFrame({"(no rows)": []})
    shown = wide_view(frame, layout)
    uri = "data:text/csv;base64," + base64.b64encode(raw).decode()
    name = Path(csv_path).name
    rows = f"{len(frame)} row{'s' * (len(frame) != 1)}"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{PAGE_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p class=\"meta\">From <code>{html.escape(str(csv_path))}</code> ({rows}). "
        f"<a class=\"download\" download=\"{html.escape(name)}\" href=\"{uri}\">Download the CSV</a>"
        "</p>" + html_table(shown) + "</body></html>\n"
    )


# ------------------------------------------------------------------------- samples grid


def strip_tiles(strip_png: str | os.PathLike, width: int, height: int):
    """(real frame, first generation) of a cell strip: its top-left and bottom-left tiles."""
    from PIL import Image

    with Image.open(strip_png) as image:
        pixels = np.asarray(image.convert("RGB"))
    gap = 2  # avarep.strip's gap between the rows
    if pixels.shape[0] != 2 * height + gap or pixels.shape[1] < width:
        raise ValueError(f"{strip_png}: {pixels.shape[1]}x{pixels.shape[0]} is not a strip of "
                         f"{width}x{height} frames")
    return pixels[:height, :width], pixels[height + gap:, :width]


def samples_grid(cells: Sequence[dict], width: int, height: int, models: Sequence[str],
                 learning_rates: Sequence[float], path_png: str | os.PathLike,
                 title: str) -> None:
    """Rows = models, columns = a real frame then every γ (descending), BM mean under each.

    ``cells``: dicts with model, lr, strip (path), bm_mean, n_ok, n_seeds.
    """
    import matplotlib.pyplot as plt

    from .figures import colour, save_figure

    by_key = {(c["model"], float(c["lr"])): c for c in cells}
    lrs = sorted({float(lr) for lr in learning_rates}, reverse=True)
    n_rows, n_cols = len(models), len(lrs) + 1
    tile_w = 1.05
    tile_h = tile_w * height / width
    fig, axes = plt.subplots(n_rows, n_cols, squeeze=False,
                             figsize=(n_cols * tile_w + 0.9, n_rows * (tile_h + 0.32) + 0.9))
    for r, model in enumerate(models):
        for c in range(n_cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
        first = next((by_key[(model, lr)] for lr in lrs if (model, lr) in by_key), None)
        if first is not None:
            real, _ = strip_tiles(first["strip"], width, height)
            axes[r, 0].imshow(real, interpolation="nearest")
            for spine in axes[r, 0].spines.values():
                spine.set_visible(True)
                spine.set_color("black")
                spine.set_linewidth(1.5)
        axes[r, 0].set_ylabel(model, rotation=0, ha="right", va="center", fontsize=11,
                              fontweight="bold", color=colour(model))
        if r == n_rows - 1:
            axes[r, 0].set_xlabel("real frame", fontsize=8)
        for c, lr in enumerate(lrs, start=1):
            ax = axes[r, c]
            cell = by_key.get((model, lr))
            if cell is None:
                ax.text(0.5, 0.5, "not run", ha="center", va="center", fontsize=7,
                        transform=ax.transAxes, color="grey")
                continue
            _, fake = strip_tiles(cell["strip"], width, height)
            ax.imshow(fake, interpolation="nearest")
            bm = cell.get("bm_mean")
            if bm is None or (isinstance(bm, float) and math.isnan(bm)) or not cell.get("n_ok"):
                label, col = "diverged", "red"
            else:
                label, col = f"BM {bm:.4f}", "black"
            ax.set_xlabel(label, fontsize=7, color=col, labelpad=1.5)
            if r == 0:
                ax.set_title(f"γ = {lr:g}", fontsize=8)
    fig.suptitle(title, fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.97), h_pad=0.3, w_pad=0.15)
    save_figure(fig, path_png, "png")
    plt.close(fig)


# ------------------------------------------------------------------------- benchmarks


def benchmark_rule(path: str | os.PathLike) -> tuple[str, str]:
    """(rule, protocol) of a benchmark file: .../<protocol>/benchmarks/cells/*.tsv is train_cell."""
    path = Path(path)
    parts = path.parts
    rule = "train_cell" if path.parent.name == "cells" else path.stem
    at = parts.index("benchmarks") if "benchmarks" in parts else 0
    owner = parts[at - 1] if at >= 1 else ""
    dataset_level = at >= 2 and parts[at - 2] == "results"
    return rule, ("—" if dataset_level else owner)


RULE_ORDER = ["prepare_data", "train_cell", "aggregate", "check", "compare"]


def benchmarks_table(paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """Per (rule, protocol): jobs, total / mean / max seconds, max RSS (MB), CPU seconds."""
    rows = []
    for path in paths:
        frame = pd.read_csv(path, sep="\t")
        rule, protocol = benchmark_rule(path)
        for _, line in frame.iterrows():
            rows.append({"rule": rule, "protocol": protocol, "s": float(line["s"]),
                         "max_rss": pd.to_numeric(line.get("max_rss"), errors="coerce"),
                         "cpu_time": pd.to_numeric(line.get("cpu_time"), errors="coerce")})
    columns = ["rule", "protocol", "jobs", "total_s", "mean_s", "max_s", "max_rss_mb", "cpu_s"]
    if not rows:
        return pd.DataFrame(columns=columns)
    long = pd.DataFrame(rows)
    out = long.groupby(["rule", "protocol"], sort=False).agg(
        jobs=("s", "size"), total_s=("s", "sum"), mean_s=("s", "mean"), max_s=("s", "max"),
        max_rss_mb=("max_rss", "max"), cpu_s=("cpu_time", "sum")).reset_index()
    order = {name: i for i, name in enumerate(RULE_ORDER)}
    out["_o"] = out["rule"].map(lambda r: order.get(r, len(order)))
    out = out.sort_values(["_o", "protocol"], kind="stable").drop(columns="_o")
    total = {"rule": "all", "protocol": "—", "jobs": int(out["jobs"].sum()),
             "total_s": out["total_s"].sum(), "mean_s": long["s"].mean(), "max_s": long["s"].max(),
             "max_rss_mb": long["max_rss"].max(), "cpu_s": long["cpu_time"].sum()}
    out = pd.concat([out, pd.DataFrame([total])], ignore_index=True)
    for col in ("total_s", "mean_s", "max_s", "max_rss_mb", "cpu_s"):
        out[col] = out[col].astype(float).round(3)
    return out[columns]


# ------------------------------------------------------------------------- documents


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
