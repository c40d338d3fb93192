"""A report of the last days for a physiotherapist: a CSV of the daily statistics and a
self-contained HTML page (inline SVG charts, inline CSS, no scripts, no external assets).

`sitwell report --days 7` is `report_command`; `write_report()` is the library call.
"""

from __future__ import annotations

import csv
import html
import logging
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from monitor.model import SEATED_POSTURES

log = logging.getLogger(__name__)

POSTURE_COLOURS = {
    "upright": "#2e7d32",
    "lean_left": "#f9a825",
    "lean_right": "#ef6c00",
    "cross_left": "#6a1b9a",
    "cross_right": "#ad1457",
    "slouch": "#c62828",
    "forward": "#1565c0",
}
POSTURE_LABELS = {
    "upright": "upright",
    "lean_left": "leaning left",
    "lean_right": "leaning right",
    "cross_left": "left leg crossed",
    "cross_right": "right leg crossed",
    "slouch": "slumped",
    "forward": "perched forward",
}
KIND_LABELS = {
    "sit_too_long": "sitting too long (stand up and move)",
    "uneven_load": "weight on one side",
    "crossed_legs": "legs crossed",
    "slouching": "slumped",
}
CSV_FIELDS = [
    "date", "minutes_seated", "spells", "longest_spell_min", "breaks", "reminders_sent",
    "reminders_acknowledged", "mean_left_share", *[f"share_{p}" for p in SEATED_POSTURES],
    *[f"reminders_{k}" for k in KIND_LABELS],
]


def write_report(store: Any, days: int, out_dir: str | Path, cushion: str | None = None,
                 today: date | str | None = None) -> tuple[Path, Path]:
    """Write `sitwell-report-<last day>.csv` and `.html` into `out_dir`; returns both paths."""
    stats = store.daily_stats(days, cushion=cushion, today=today)
    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    stem = f"sitwell-report-{stats[-1]['date']}" + (f"-{cushion}" if cushion else "")
    csv_path, html_path = out / f"{stem}.csv", out / f"{stem}.html"
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        w.writeheader()
        for d in stats:
            w.writerow(_csv_row(d))
    page = render_html(stats, cushion)
    journal = _journal_part(store, stats)  # the pain journal (monitor/offline/report_journal.py)
    if journal is not None:
        from monitor.offline.report_journal import CSS as JOURNAL_CSS, journal_html, write_journal_csvs

        write_journal_csvs(journal, out / stem)
        page = page.replace("</style>", JOURNAL_CSS + "</style>", 1)
        page = page.replace("</body>", journal_html(journal) + "</body>")
    html_path.write_text(page, encoding="utf-8")
    log.info("report written: %s, %s", csv_path, html_path)
    return csv_path, html_path


def _journal_part(store: Any, stats: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The journal's entries and associations for these days, when the file has any entries."""
    path = getattr(store, "path", None)
    if path is None or str(path) == ":memory:":
        return None
    from monitor.journal import JournalBook
    from monitor.offline.report_journal import journal_part

    with JournalBook(path) as book:
        if not book.entries(limit=1):
            return None
        return journal_part(book, stats)


def _csv_row(d: dict[str, Any]) -> dict[str, Any]:
    row = {k: d.get(k) for k in CSV_FIELDS if not k.startswith(("share_", "reminders_")) or k in d}
    row["mean_left_share"] = "" if d.get("mean_left_share") is None else d["mean_left_share"]
    share = d.get("posture_share") or {}
    for p in SEATED_POSTURES:
        row[f"share_{p}"] = share.get(p, 0.0)
    by_kind = d.get("reminders_by_kind") or {}
    for k in KIND_LABELS:
        row[f"reminders_{k}"] = by_kind.get(k, 0)
    return row


# ---------------------------------------------------------------------------- HTML

CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em} h2{font-size:1.15em;margin-top:2em}
.muted{color:#666} table{border-collapse:collapse;width:100%;margin-top:.5em}
th,td{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:right} th:first-child,td:first-child{text-align:left}
.legend span{display:inline-block;margin-right:1em} .legend i{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:-.1em}
svg{width:100%;height:auto} svg text{font:11px system-ui,sans-serif;fill:#444}
.summary{display:flex;gap:2em;flex-wrap:wrap} .summary div{min-width:9em} .summary b{display:block;font-size:1.4em}
"""  # noqa: E501 (CSS rules, one per line)


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _label(day: str) -> str:
    d = date.fromisoformat(day)
    return d.strftime("%a %d %b")


def _bar_chart(stats: list[dict[str, Any]], key: str, unit: str, colour: str, marker_key: str | None = None,
               marker_label: str = "") -> str:
    """Vertical bars per day; an optional marker line per day (e.g. the longest spell)."""
    w, h, left, bottom, top = 720, 220, 40, 30, 14
    values = [float(d.get(key) or 0.0) for d in stats]
    markers = [float(d.get(marker_key) or 0.0) for d in stats] if marker_key else []
    vmax = max([*values, *markers, 1.0])
    scale = (h - bottom - top) / vmax
    n = len(stats)
    slot = (w - left) / n
    bar = max(2.0, slot * 0.6)
    parts = [f'<svg viewBox="0 0 {w} {h}" role="img" aria-label="{_e(key)} per day">']
    for frac in (0.0, 0.5, 1.0):  # light grid with values
        y = h - bottom - frac * vmax * scale
        parts.append(f'<line x1="{left}" x2="{w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e0e0e0"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{frac * vmax:.0f}</text>')
    for i, d in enumerate(stats):
        x = left + i * slot + (slot - bar) / 2
        bh = values[i] * scale
        parts.append(f'<rect x="{x:.1f}" y="{h - bottom - bh:.1f}" width="{bar:.1f}" height="{bh:.1f}" fill="{colour}">'
                     f'<title>{_e(d["date"])}: {values[i]:g} {_e(unit)}</title></rect>')
        if markers:
            my = h - bottom - markers[i] * scale
            parts.append(f'<line x1="{x - 3:.1f}" x2="{x + bar + 3:.1f}" y1="{my:.1f}" y2="{my:.1f}" stroke="#222" '
                         f'stroke-width="2"><title>{_e(marker_label)}: {markers[i]:g} min</title></line>')
        if n <= 31 and (n <= 14 or i % 2 == 0):
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{h - bottom + 16}" text-anchor="middle">'
                         f'{_e(_label(d["date"]) if n <= 10 else d["date"][5:])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _posture_chart(stats: list[dict[str, Any]]) -> str:
    """A stacked bar of posture shares per day."""
    w, h, left, bottom, top = 720, 220, 40, 30, 10
    n = len(stats)
    slot = (w - left) / n
    bar = max(2.0, slot * 0.6)
    inner = h - bottom - top
    parts = [f'<svg viewBox="0 0 {w} {h}" role="img" aria-label="posture shares per day">']
    for frac in (0.0, 0.5, 1.0):
        y = h - bottom - frac * inner
        parts.append(f'<line x1="{left}" x2="{w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e0e0e0"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{frac * 100:.0f}%</text>')
    for i, d in enumerate(stats):
        x = left + i * slot + (slot - bar) / 2
        y = h - bottom
        share = d.get("posture_share") or {}
        for p in SEATED_POSTURES:
            v = float(share.get(p, 0.0))
            if v <= 0:
                continue
            ph = v * inner
            y -= ph
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{ph:.1f}" fill="{POSTURE_COLOURS[p]}">'
                f"<title>{_e(d['date'])}: {_e(POSTURE_LABELS[p])} {100 * v:.0f}%</title></rect>"
            )
        if n <= 31 and (n <= 14 or i % 2 == 0):
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{h - bottom + 16}" text-anchor="middle">'
                         f'{_e(_label(d["date"]) if n <= 10 else d["date"][5:])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _balance_chart(stats: list[dict[str, Any]], threshold: float = 0.10) -> str:
    """Mean left share per day around 50 %, with the even band (|share - 0.5| < threshold)."""
    w, h, left, bottom, top = 720, 200, 40, 30, 10
    n = len(stats)
    slot = (w - left) / n
    inner = h - bottom - top

    def y_of(v: float) -> float:  # 0.25 .. 0.75 fills the chart
        v = min(0.75, max(0.25, v))
        return h - bottom - (v - 0.25) / 0.5 * inner

    parts = [f'<svg viewBox="0 0 {w} {h}" role="img" aria-label="left-right balance per day">',
             f'<rect x="{left}" y="{y_of(0.5 + threshold):.1f}" width="{w - left}" '
             f'height="{y_of(0.5 - threshold) - y_of(0.5 + threshold):.1f}" fill="#e8f5e9"/>']
    for v, label in ((0.75, "75% left"), (0.5, "even"), (0.25, "75% right")):
        parts.append(f'<line x1="{left}" x2="{w}" y1="{y_of(v):.1f}" y2="{y_of(v):.1f}" stroke="#ccc"/>')
        parts.append(f'<text x="{left + 4}" y="{y_of(v) - 3:.1f}">{_e(label)}</text>')
    points = []
    for i, d in enumerate(stats):
        share = d.get("mean_left_share")
        x = left + i * slot + slot / 2
        if share is not None:
            points.append((x, y_of(float(share))))
            parts.append(f'<circle cx="{x:.1f}" cy="{y_of(float(v)):.1f}" r="4" fill="#1565c0">'
                         f'<title>{_e(d["date"])}: {100 * float(v):.0f}% of the load on the left</title></circle>')
    if len(points) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.insert(2, f'<polyline points="{path}" fill="none" stroke="#90caf9" stroke-width="2"/>')
    parts.append("</svg>")
    return "".join(parts)


def _fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "–"
    return f"{v:g}{unit}" if isinstance(v, (int, float)) else _e(v)


def render_html(stats: list[dict[str, Any]], cushion: str | None = None) -> str:
    first, last = stats[0]["date"], stats[-1]["date"]
    seated_days = [d for d in stats if (d.get("minutes_seated") or 0) > 0]
    total_min = sum(d.get("minutes_seated") or 0 for d in stats)
    sent = sum(d.get("reminders_sent") or 0 for d in stats)
    acked = sum(d.get("reminders_acknowledged") or 0 for d in stats)
    breaks = sum(d.get("breaks") or 0 for d in stats)
    longest = max((d.get("longest_spell_min") or 0 for d in stats), default=0)
    mean_daily = total_min / len(seated_days) if seated_days else 0.0
    legend = "".join(f'<span><i style="background:{POSTURE_COLOURS[p]}"></i>{_e(POSTURE_LABELS[p])}</span>'
                     for p in SEATED_POSTURES)
    rows = []
    for d in stats:
        share = d.get("posture_share") or {}
        ls = d.get("mean_left_share")
        rows.append(
            "<tr>" + "".join(f"<td>{c}</td>" for c in (
                _e(_label(d["date"])), _fmt(d.get("minutes_seated")), _fmt(d.get("spells")),
                _fmt(d.get("longest_spell_min")), _fmt(d.get("breaks")),
                _fmt(round(100 * share.get("upright", 0.0))) + "%",
                _fmt(round(100 * (share.get("slouch", 0.0)))) + "%",
                _fmt(round(100 * (share.get("cross_left", 0.0) + share.get("cross_right", 0.0)))) + "%",
                "–" if ls is None else f"{100 * ls:.0f} / {100 - 100 * ls:.0f}",
                f"{d.get('reminders_acknowledged') or 0} of {d.get('reminders_sent') or 0}",
            )) + "</tr>"
        )
    kinds: dict[str, int] = {}
    for d in stats:
        for k, n in (d.get("reminders_by_kind") or {}).items():
            kinds[k] = kinds.get(k, 0) + n
    kind_rows = (
        "".join(
            f"<tr><td>{_e(KIND_LABELS.get(k, k))}</td><td>{n}</td></tr>"
            for k, n in sorted(kinds.items(), key=lambda kv: -kv[1])
        )
        or '<tr><td colspan="2">none</td></tr>'
    )
    who = f" — cushion {_e(cushion)}" if cushion else ""
    made = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sitting report {_e(first)} to {_e(last)}</title>
<style>{CSS}</style></head>
<body>
<h1>Sitting report{who}</h1>
<p class="muted">{_e(_label(first))} to {_e(_label(last))} ({len(stats)} days), made {_e(made)} by sitwell from a pressure cushion.</p>
<div class="summary">
<div><b>{mean_daily:.0f} min</b>seated on an average sitting day</div>
<div><b>{longest:g} min</b>longest sitting spell</div>
<div><b>{breaks}</b>breaks (away from the seat for a minute or more)</div>
<div><b>{acked} of {sent}</b>reminders acknowledged</div>
</div>
<h2>Minutes seated per day</h2>
<p class="muted">Bars: minutes seated. Black line: the longest spell without a break that day.</p>
{_bar_chart(stats, "minutes_seated", "min seated", "#607d8b", "longest_spell_min", "longest spell")}
<h2>Breaks per day</h2>
{_bar_chart(stats, "breaks", "breaks", "#26a69a")}
<h2>Posture (share of seated time)</h2>
<p class="legend">{legend}</p>
{_posture_chart(stats)}
<h2>Left–right balance</h2>
<p class="muted">Share of the seat load on the left sit bone, day average. Green band: even (within 60/40).</p>
{_balance_chart(stats)}
<h2>Day by day</h2>
<table>
<tr><th>day</th><th>min seated</th><th>spells</th><th>longest (min)</th><th>breaks</th><th>upright</th><th>slumped</th><th>legs crossed</th><th>left / right %</th><th>reminders acknowledged</th></tr>
{"".join(rows)}
</table>
<h2>Reminders by reason</h2>
<table>
<tr><th>reason</th><th>reminders in these {len(stats)} days</th></tr>
{kind_rows}
</table>
</body></html>
"""  # noqa: E501 (the HTML page: its lines are its output)


# ---------------------------------------------------------------------------- command line


@click.command("report")
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 366), help="how many days, ending today")
@click.option("--out", "out_dir", default=".", show_default=True, type=click.Path(file_okay=False),
              help="directory for the CSV and HTML files")
@click.option("--db", type=click.Path(dir_okay=False), default=None,
              help="the SQLite file (default: store.db from the config, else the user's data directory)")
@click.option("--cushion", default=None, help="one cushion (default: all)")
def report_command(days: int, out_dir: str, db: str | None, cushion: str | None) -> None:
    """Write a CSV and a self-contained HTML report of the last DAYS days for a therapist."""
    from monitor.sinks.store import Store

    if db is None:
        try:
            from monitor.config.settings import load_settings

            path = Path(load_settings().store.db)
        except Exception:  # a broken config must not stop a report of an existing database
            from monitor.config.settings import default_db_path

            path = default_db_path()
    else:
        path = Path(db)
    path = path.expanduser()
    if not path.is_file():
        raise click.ClickException(f"no sitwell database at {path} (run `sitwell run` first, or pass --db)")
    store = Store(path)
    try:
        csv_path, html_path = write_report(store, days, out_dir, cushion=cushion)
    finally:
        store.close()
    click.echo(f"wrote {csv_path}")
    for extra in ("-journal.csv", "-associations.csv"):
        journal_csv = csv_path.with_name(csv_path.stem + extra)
        if journal_csv.is_file():
            click.echo(f"wrote {journal_csv}")
    click.echo(f"wrote {html_path}")
