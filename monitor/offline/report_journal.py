"""The pain journal's part of `sitwell report` (docs/journal.md): a CSV of the entries, a CSV of
"what seems to help", and an HTML section (pain beside sitting per day, the associations with
their caution, the latest entries) that prints on a page of its own.
"""

from __future__ import annotations

import csv
import html
from pathlib import Path
from typing import Any

from monitor.journal.associations import associations
from monitor.journal.days import side_by_side

MAX_HTML_ENTRIES = 30  # the printed page lists the latest ones; the CSV has them all
ASSOC_FIELDS = ["measure", "lag", "n", "rho", "low", "high", "level", "claim", "why"]

CSS = """
.journal { break-before: page; }
.journal table { font-size: 11px; }
.journal .claim { font-weight: 600; }
.journal .caution { border-left: 3px solid #b35900; padding: 2px 8px; }
@media print { .journal h2 { margin-top: 6px; } }
"""


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _pct(v: Any) -> str:
    return "–" if v is None else f"{100 * v:.0f}%"


def _interval(r: dict[str, Any]) -> str:
    return "–" if r["low"] is None else f"{r['low']} to {r['high']}"


def journal_part(book: Any, stats: list[dict[str, Any]], min_days: int = 14) -> dict[str, Any]:
    rows = side_by_side(book, stats)
    first, last = stats[0]["date"], stats[-1]["date"]
    return {"rows": rows, "entries": book.entries(first, last), "associations": associations(rows, min_days)}


def write_journal_csvs(part: dict[str, Any], stem: Path) -> tuple[Path, Path]:
    """`<stem>-journal.csv` (entries) and `<stem>-associations.csv`."""
    entries_path = stem.with_name(stem.name + "-journal.csv")
    assoc_path = stem.with_name(stem.name + "-associations.csv")
    with open(entries_path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["at", "day", "pain", "where", "note", "source"])
        for e in part["entries"]:
            w.writerow([e.at, e.day, e.pain, " ".join(e.locations), e.note, e.source])
    with open(assoc_path, "w", newline="", encoding="utf-8") as fh:
        dict_writer = csv.DictWriter(fh, fieldnames=ASSOC_FIELDS, extrasaction="ignore")
        dict_writer.writeheader()
        for r in part["associations"]["results"]:
            dict_writer.writerow(r)
    return entries_path, assoc_path


def journal_html(part: dict[str, Any]) -> str:
    rows, entries, assoc = part["rows"], part["entries"], part["associations"]
    logged = [r for r in rows if r["pain"] is not None]
    day_rows = "".join(
        f"<tr><td>{_e(r['date'])}</td><td>{r['pain']}</td><td>{r['entries']}</td><td>{r['minutes_seated']:g}</td>"
        f"<td>{r['longest_spell_min']:g}</td><td>{r['breaks']}</td><td>{_pct(r['uneven_share'])}</td>"
        f"<td>{_pct(r['crossed_share'])}</td><td>{_pct(r['slouched_share'])}</td></tr>" for r in logged)
    if not assoc["ready"]:
        helps = f"<p>{_e(assoc['message'])}</p>"
    else:
        claims = [r for r in assoc["results"] if r.get("claim")]
        helps = ("<ul>" + "".join(
            f'<li class="claim">{_e(r["claim"])} (rho {r["rho"]}, interval {r["low"]} to {r["high"]}, '
            f'{r["n"]} days)</li>' for r in claims) + "</ul>") if claims else (
            "<p>No link between how the person sat and the pain is clear in this journal "
            "(every interval includes 0).</p>")
        tested = "".join(
            f"<tr><td>{_e(r['label'])}</td><td>{'same day' if r['lag'] == 'same_day' else 'next day'}</td>"
            f"<td>{r['n']}</td><td>{'–' if r['rho'] is None else r['rho']}</td>"
            f"<td>{_interval(r)}</td></tr>" for r in assoc["results"])
        helps += ("<table><tr><th>measure</th><th>pain</th><th>days</th><th>Spearman rho</th>"
                  f"<th>interval</th></tr>{tested}</table>")
    latest = entries[-MAX_HTML_ENTRIES:]
    entry_rows = "".join(
        f"<tr><td>{_e(e.at[:16].replace('T', ' '))}</td><td>{e.pain}</td><td>{_e(', '.join(e.locations))}</td>"
        f"<td>{_e(e.note)}</td></tr>" for e in reversed(latest))
    more = (f" (the latest {len(latest)} of {len(entries)}; all are in the journal CSV)"
            if len(entries) > len(latest) else "")
    return f"""<section class="journal">
<h2>Pain journal</h2>
<p class="muted">{len(entries)} entries on {len(logged)} days. Pain 0 (none) to 10 (worst); per day the worst.</p>
<table><tr><th>day</th><th>pain</th><th>entries</th><th>min seated</th><th>longest spell</th><th>breaks</th>
<th>uneven</th><th>crossed</th><th>slumped</th></tr>
{day_rows or '<tr><td colspan="9">no entries in these days</td></tr>'}</table>
<h2>What seems to help</h2>
{helps}
<p class="caution">{_e(assoc['caution'])}</p>
<h2>Entries{_e(more)}</h2>
<table><tr><th>when</th><th>pain</th><th>where</th><th>note</th></tr>
{entry_rows or '<tr><td colspan="4">none</td></tr>'}</table>
</section>
"""
