"""Optional "how is the pain?" prompts at times the user chose (journal.prompt_times) and after a
long sitting spell (journal.prompt_after_spell_min), at most journal.max_prompts_per_day a day.

Silent whenever reminders are: paused, do-not-disturb, outside working hours or days, quiet
hours (the tracker's own `outside_reminder_hours`) and calendar busy time (what the running
trackers report through `Runtime.reminder_extras`). Nothing here keeps its own clock rules.

The planner is asked (the dashboard polls /api/journal/prompt); it answers the prompt that is
due, or None with the reason it is silent. Issued prompts are kept in the journal_prompts
table, so the daily limit holds across restarts; an unanswered one is offered again for
PROMPT_OPEN_S, then let go.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from monitor.tracker.rules import outside_reminder_hours

log = logging.getLogger(__name__)

PROMPT_OPEN_S = 2 * 3600
MESSAGES = {
    "time": "How is the pain today? One tap logs it.",
    "long_spell": "That was a long spell of sitting. How is the pain now?",
}


def _silent_reason(runtime: Any, now: datetime) -> str | None:
    pause = getattr(runtime, "pause_status", None)
    if pause is not None and pause().get("paused"):
        return "paused"
    config = getattr(runtime, "config", None)
    if config is not None:
        held = outside_reminder_hours(config.rules, now)
        if held:
            return held
    extras = getattr(runtime, "reminder_extras", None)
    for cushion in extras() if extras is not None else []:
        if (cushion.get("calendar") or {}).get("busy"):
            return "calendar_busy"
    return None


class PromptPlanner:
    """Decides whether a prompt is due; one per daemon (kept on the dashboard app)."""

    def __init__(self, runtime: Any, book: Any):
        self.runtime = runtime
        self.book = book
        self._lock = threading.Lock()
        self._longest_seen: dict[str, float] = {}  # cushion -> the running spell's seconds, last look

    def _ended_long_spell(self, limit_s: float) -> str | None:
        """A cushion whose spell of at least limit_s has ended since the last look."""
        ended = None
        for entry in self.runtime.status():
            cushion, spell_s = entry.get("cushion"), float(entry.get("spell_s") or 0.0)
            before = self._longest_seen.get(cushion, 0.0)
            if before >= limit_s and spell_s < before:
                ended = cushion
            self._longest_seen[cushion] = spell_s
        return ended

    def due(self, now: datetime | None = None) -> dict[str, Any]:
        """{"id", "reason", "message", "at"} of the prompt to show, or {"id": None, "silent": why}."""
        cfg = self.runtime.config.journal
        now = now or datetime.now().astimezone()
        day = now.date().isoformat()
        with self._lock:
            limit_s = (cfg.prompt_after_spell_min or 0) * 60
            ended = self._ended_long_spell(limit_s) if cfg.prompt_after_spell_min else None
            issued = self.book.prompts_on(day)
            for p in reversed(issued):  # still open: offer it again
                if not p["answered"] and (now - datetime.fromisoformat(p["at"])).total_seconds() < PROMPT_OPEN_S:
                    return {"id": p["id"], "reason": p["reason"], "message": MESSAGES[p["reason"]], "at": p["at"]}
            silent = _silent_reason(self.runtime, now)
            if silent:
                return {"id": None, "silent": silent}
            if len(issued) >= cfg.max_prompts_per_day:
                return {"id": None, "silent": "enough_today"}
            ids = {p["id"] for p in issued}
            candidate = None
            for hhmm in cfg.prompt_times:
                hour, minute = (int(x) for x in hhmm.split(":"))
                since_s = (now - now.replace(hour=hour, minute=minute, second=0, microsecond=0)).total_seconds()
                if 0 <= since_s < PROMPT_OPEN_S and f"{day}-time-{hhmm}" not in ids:
                    candidate = (f"{day}-time-{hhmm}", "time")
            if candidate is None and ended is not None:
                candidate = (f"{day}-spell-{ended}-{now.strftime('%H%M%S')}", "long_spell")
            if candidate is None:
                return {"id": None, "silent": "nothing_due"}
            at = now.isoformat(timespec="seconds")
            self.book.add_prompt(candidate[0], day, at, candidate[1])
            log.info("journal prompt: %s", candidate[1])
            return {"id": candidate[0], "reason": candidate[1], "message": MESSAGES[candidate[1]], "at": at}
