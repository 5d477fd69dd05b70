"""A CSV as a self-contained HTML page: Snakemake 9's report offers a CSV only as a download,
an HTML page it shows inline; the raw CSV is embedded as a download link. Also the cell
formatting and the HTML table the report's documents share.
"""

from __future__ import annotations

import base64
import html
import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from . import protocols


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
