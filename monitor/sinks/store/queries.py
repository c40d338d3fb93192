"""The store's reads: reminders (CONTRACT section 6 objects), daily statistics, the day's
timeline and offloads. Reads never raise (a failed read is counted and answers empty);
reminders still pending in the write buffer are served as well.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, timedelta
from typing import Any

from monitor.model import SEATED_POSTURES
from monitor.sinks.store.schema import POSTURE_COLUMNS, SITBONE_COLUMNS
from monitor.sinks.store.writer import WriteBuffer


class StoreReads(WriteBuffer):
    """What the dashboard, the report and the tracker's restore read back."""

    tz: Any
    _open_spell_s: dict[str, tuple[float, str, float]]

    def _pending_reminders(self) -> list[dict[str, Any]]:
        """Reminders not yet written (database locked or full) still show in reads."""
        out = []
        with self._plock:
            pending = list(self._pending)
        for w in pending:
            if w.sql.startswith("INSERT OR IGNORE INTO reminders"):
                p = w.params
                out.append({"id": p[0], "cushion": p[1], "kind": p[2], "t": p[3], "at": p[4], "at_ts": p[5],
                            "message": p[7], "spell_s": p[8], "acknowledged": bool(p[9])})
        return out

    @staticmethod
    def _reminder_json(row: sqlite3.Row | dict[str, Any]) -> dict[str, Any]:
        return {
            "id": row["id"], "cushion": row["cushion"], "kind": row["kind"], "t": round(row["t"], 3),
            "at": row["at"], "message": row["message"], "spell_s": round(row["spell_s"], 1),
            "acknowledged": bool(row["acknowledged"]),
        }

    def reminders(self, since: datetime | str | None = None, cushion: str | None = None,
                  limit: int = 500) -> list[dict[str, Any]]:
        """CONTRACT section 6 objects, newest first."""
        since_ts = None if since is None else parse_at(since).timestamp()
        sql, params = "SELECT * FROM reminders WHERE 1=1", list[Any]()
        if since_ts is not None:
            sql += " AND at_ts >= ?"
            params.append(since_ts)
        if cushion is not None:
            sql += " AND cushion = ?"
            params.append(cushion)
        sql += " ORDER BY at_ts DESC, rowid DESC LIMIT ?"
        params.append(int(limit))
        # the pending ones first: one the writer commits between the two reads is then in the
        # database, or in both (and counted once), never in neither
        pending = self._pending_reminders()
        rows = [dict(r) for r in self._query(sql, params)]
        seen = {r["id"] for r in rows}
        for p in pending:
            if p["id"] not in seen and (since_ts is None or p["at_ts"] >= since_ts) and cushion in (None, p["cushion"]):
                rows.append(p)
        rows.sort(key=lambda r: r["at_ts"], reverse=True)
        return [self._reminder_json(r) for r in rows[:limit]]

    def get_reminder(self, reminder_id: str) -> dict[str, Any] | None:
        pending = self._pending_reminders()  # before the query, as in `reminders`
        rows = self._query("SELECT * FROM reminders WHERE id = ?", (reminder_id,))
        if rows:
            return self._reminder_json(rows[0])
        for p in pending:
            if p["id"] == reminder_id:
                return self._reminder_json(p)
        return None

    def offloads(self, day: date | str | None = None, cushion: str | None = None) -> list[dict[str, Any]]:
        """A day's credited offloads (breaks confirmed by the seat), oldest first:
        {"cushion", "quality" ("stood"|"shifted"), "side", "start", "end", "seconds"}."""
        if day is None:
            day = datetime.now(self.tz).date() if self.tz else datetime.now().astimezone().date()
        day = day.isoformat() if isinstance(day, date) else str(day)
        cw, cp = ("", []) if cushion is None else (" AND cushion = ?", [cushion])
        return [{"cushion": r["cushion"], "quality": r["quality"], "side": r["side"], "start": r["start_at"],
                 "end": r["end_at"], "seconds": None if r["seconds"] is None else round(r["seconds"], 1)}
                for r in self._query(f"SELECT * FROM offloads WHERE day = ?{cw} ORDER BY start_ts", [day, *cp],
                                     fresh=True)]

    # ------------------------------------------------------------------ statistics

    def daily_stats(self, days: int = 7, cushion: str | None = None,
                    today: date | str | None = None) -> list[dict[str, Any]]:
        """Per day, oldest first, for the `days` days ending `today` (local days)."""
        days = max(1, min(int(days), 3660))
        if today is None:
            today = datetime.now(self.tz).date() if self.tz else datetime.now().astimezone().date()
        elif isinstance(today, str):
            today = date.fromisoformat(today)
        dates = [(today - timedelta(days=i)).isoformat() for i in range(days - 1, -1, -1)]
        first, last = dates[0], dates[-1]
        cw, cp = ("", []) if cushion is None else (" AND cushion = ?", [cushion])
        out = {d: _empty_day(d) for d in dates}
        acc: dict[str, dict[str, Any]] = {
            d: {"seated": 0.0, "postures": {p: 0.0 for p in SEATED_POSTURES}, "ls": 0.0, "ls_s": 0.0} for d in dates
        }
        sums = ", ".join(f"sum({c}) AS {c}" for c in POSTURE_COLUMNS)
        for r in self._query(f"SELECT day, sum(seated_s) AS seated, sum(mean_left_share * left_share_s) AS ls,"
                             f" sum(CASE WHEN mean_left_share IS NOT NULL THEN left_share_s ELSE 0 END) AS ls_s,"
                             f" {sums} FROM minutes WHERE day BETWEEN ? AND ?{cw} GROUP BY day",
                             [first, last, *cp], fresh=True):
            a = acc[r["day"]]
            a["seated"] = r["seated"] or 0.0
            a["postures"] = {p: r[f"{p}_s"] or 0.0 for p in SEATED_POSTURES}
            a["ls"], a["ls_s"] = r["ls"] or 0.0, r["ls_s"] or 0.0
        for d, a in acc.items():
            o = out[d]
            o["minutes_seated"] = round(a["seated"] / 60.0, 1)
            total = sum(a["postures"].values())
            o["posture_share"] = {k: (round(v / total, 4) if total > 0 else 0.0) for k, v in a["postures"].items()}
            o["mean_left_share"] = round(a["ls"] / a["ls_s"], 4) if a["ls_s"] > 0 else None
        for r in self._query(f"SELECT day, cushion, count(*) AS n, max(seconds) AS longest,"
                             f" sum(end_ts IS NULL) AS open FROM spells WHERE day BETWEEN ? AND ?{cw}"
                             f" GROUP BY day, cushion", [first, last, *cp]):
            o = out[r["day"]]
            o["spells"] += r["n"]
            longest = r["longest"] or 0.0
            if r["open"]:
                _, day, so_far = self._open_spell_s.get(r["cushion"], (None, None, 0.0))
                if day == r["day"]:
                    longest = max(longest, so_far)
            o["longest_spell_min"] = max(o["longest_spell_min"], round(longest / 60.0, 1))
        for r in self._query(f"SELECT day, count(*) AS n FROM breaks WHERE day BETWEEN ? AND ?{cw} GROUP BY day",
                             [first, last, *cp]):
            out[r["day"]]["breaks"] = r["n"]
        for r in self._query(f"SELECT day, kind, count(*) AS n, sum(acknowledged) AS acked FROM reminders"
                             f" WHERE day BETWEEN ? AND ?{cw} GROUP BY day, kind", [first, last, *cp]):
            o = out[r["day"]]
            o["reminders_sent"] += r["n"]
            o["reminders_acknowledged"] += r["acked"] or 0
            o["reminders_by_kind"][r["kind"]] = r["n"]
        self._break_stats(out, first, last, cw, cp)
        return [out[d] for d in dates]

    def _break_stats(self, out: dict[str, dict[str, Any]], first: str, last: str, cw: str, cp: list[Any]) -> None:
        """Beyond the contract (docs/reminders.md): seat-confirmed breaks and the sit-bone dose."""
        for r in self._query(f"SELECT day, sum(outcome = 'taken') AS taken, sum(outcome = 'skipped') AS skipped,"
                             f" sum(snoozed_min IS NOT NULL) AS snoozed FROM reminders WHERE kind = 'sit_too_long'"
                             f" AND day BETWEEN ? AND ?{cw} GROUP BY day", [first, last, *cp]):
            o = out[r["day"]]
            o["breaks_taken"], o["breaks_skipped"] = r["taken"] or 0, r["skipped"] or 0
            o["breaks_snoozed"] = r["snoozed"] or 0
        for r in self._query(f"SELECT day, quality, count(*) AS n, sum(seconds) AS s FROM offloads"
                             f" WHERE day BETWEEN ? AND ?{cw} GROUP BY day, quality", [first, last, *cp]):
            o = out[r["day"]]
            o["offloads"][r["quality"]] = r["n"]
            o["offload_minutes"][r["quality"]] = round((r["s"] or 0.0) / 60.0, 1)
        sums = ", ".join(f"sum({c}) AS {c}" for c in SITBONE_COLUMNS)
        for r in self._query(f"SELECT day, {sums} FROM minutes WHERE day BETWEEN ? AND ?{cw} GROUP BY day",
                             [first, last, *cp]):
            left, right = r["sitbone_l"] or 0.0, r["sitbone_r"] or 0.0
            out[r["day"]]["sitbone_dose"] = {
                "left": round(left, 1), "right": round(right, 1),
                "left_upright_min": round((r["sitbone_l_norm"] or 0.0) / 60.0, 1),
                "right_upright_min": round((r["sitbone_r_norm"] or 0.0) / 60.0, 1),
                "left_share": round(left / (left + right), 4) if left + right > 0 else None,
            }

    def timeline(self, cushion: str | None = None, day: date | str | None = None) -> list[dict[str, Any]]:
        """A day's spells and breaks in time order, each {"type": "spell"|"break", "cushion",
        "start", "end" (ISO; end None while it lasts), "seconds", and for spells "postures"
        ({name: seconds}) and "segments" ([{"start", "end", "posture"}], the main posture of
        each minute, merged)}. "start_at"/"end_at" repeat "start"/"end" (the store's names)."""
        if day is None:
            day = datetime.now(self.tz).date() if self.tz else datetime.now().astimezone().date()
        day = day.isoformat() if isinstance(day, date) else str(day)
        cw, cp = ("", []) if cushion is None else (" AND cushion = ?", [cushion])
        items: list[dict[str, Any]] = []
        for kind, table in (("spell", "spells"), ("break", "breaks")):
            for r in self._query(f"SELECT * FROM {table} WHERE day = ?{cw} ORDER BY start_ts", [day, *cp], fresh=True):
                items.append({"type": kind, "cushion": r["cushion"], "start": r["start_at"], "end": r["end_at"],
                              "start_at": r["start_at"], "end_at": r["end_at"],
                              "start_ts": r["start_ts"], "end_ts": r["end_ts"],
                              "seconds": None if r["seconds"] is None else round(r["seconds"], 1)})
        for it in items:
            if it["type"] == "spell":
                self._spell_postures(it)
        items.sort(key=lambda i: (i["start_ts"], i["type"]))
        return items

    def _spell_postures(self, it: dict[str, Any]) -> None:
        start_ts = it["start_ts"]
        end_ts = it["end_ts"] if it["end_ts"] is not None else float("inf")
        zone = parse_at(it["start_at"]).tzinfo
        postures: dict[str, float] = {}
        segments: list[dict[str, Any]] = []
        rows = self._query("SELECT minute_ts, postures FROM minutes"
                           " WHERE cushion = ? AND minute_ts > ? AND minute_ts < ?"
                           " ORDER BY minute_ts", (it["cushion"], start_ts - 60.0, end_ts))
        for r in rows:
            shares = json.loads(r["postures"])
            for k, v in shares.items():
                postures[k] = round(postures.get(k, 0.0) + v, 1)
            if not shares:
                continue
            main = max(shares, key=shares.get)
            a, b = max(start_ts, r["minute_ts"]), min(end_ts, r["minute_ts"] + 60.0)
            if segments and segments[-1]["posture"] == main and abs(segments[-1]["_end"] - a) < 1e-6:
                segments[-1]["_end"] = b
            else:
                segments.append({"posture": main, "_start": a, "_end": b})
        for seg in segments:
            seg["start"] = datetime.fromtimestamp(seg.pop("_start"), zone).isoformat()
            seg["end"] = datetime.fromtimestamp(seg.pop("_end"), zone).isoformat()
        it["postures"] = postures
        it["segments"] = segments


def _empty_day(d: str) -> dict[str, Any]:
    return {
        "date": d, "day": d,  # "day" too: docs/api.md's name for it
        "minutes_seated": 0.0, "spells": 0, "longest_spell_min": 0.0, "breaks": 0,
        "posture_share": {}, "reminders_sent": 0, "reminders_acknowledged": 0, "reminders_by_kind": {},
        "mean_left_share": None,
        # beyond the contract (docs/reminders.md)
        "breaks_taken": 0, "breaks_skipped": 0, "breaks_snoozed": 0,
        "offloads": {"stood": 0, "shifted": 0}, "offload_minutes": {"stood": 0.0, "shifted": 0.0},
        "sitbone_dose": {"left": 0.0, "right": 0.0, "left_upright_min": 0.0, "right_upright_min": 0.0,
                         "left_share": None},
    }


def parse_at(value: datetime | str) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))

