"""The sitter's own thresholds in the running daemon: the profile per cushion (set-up and
corrections, analysis/profile.py), "That's not what I'm doing" corrections, their undo.

`SitterControls` and `SetupControls` are mixed into the RuntimeService (runtime/service.py):
they use its `store`, `cushions`, `config`, `broadcaster` and `set_mounting`.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from monitor.analysis.posture import PostureClassifier
from monitor.analysis.profile import BOUNDS, SitterProfile, tune
from monitor.model import SEATED_POSTURES

log = logging.getLogger(__name__)


class SitterControls:
    store: Any
    cushions: Any
    config: Any
    broadcaster: Any

    def sitter_profile(self, cushion: str) -> SitterProfile | None:
        """The set-up's profile tuned by the corrections not undone; None: none of either (the
        classifier's defaults, as sitwell always worked)."""
        base = SitterProfile.from_json(self.store.load_profile(cushion))
        active = self.store.corrections(cushion, include_undone=False)
        if base is None and not active:
            return None
        base = base or SitterProfile()
        reference = PostureClassifier(self.config.analysis.sensitivity, base)
        defaults = {name: float(getattr(reference, name)) for name in BOUNDS}
        return tune(base, active, defaults)

    def _retune(self, cushion: str) -> SitterProfile | None:
        profile = self.sitter_profile(cushion)
        slot = self.cushions.get(cushion)
        if slot is not None:
            slot.engine.analyzer.set_profile(profile)
        return profile

    def correct_posture(self, cushion: str, posture: str) -> dict[str, Any]:
        """The user says the posture shown is wrong and names the right one. Raises ValueError
        (a message for them) when there is nothing to correct."""
        if posture not in SEATED_POSTURES:
            raise ValueError(f"{posture!r} is not a posture; one of {', '.join(SEATED_POSTURES)}")
        slot = self.cushions.get(cushion)
        if slot is None or slot.last_step is None:
            raise LookupError(f"cushion {cushion} has sent nothing yet")
        state = slot.last_step.update.state
        features = slot.engine.posture_features()
        if not state.occupied or features is None:
            raise ValueError("nobody is sitting: there is no posture to correct")
        if state.posture == posture:
            raise ValueError(f"sitwell already reads {posture}")
        row = self.store.add_correction(cushion, state.posture, posture, features, t=state.t)
        profile = self._retune(cushion)
        log.info("cushion %s: posture corrected from %s to %s (the sitter's thresholds now %s)", cushion,
                 state.posture, posture, profile.as_json() if profile else "the defaults")
        out = {"correction": row, **self.corrections_summary(cushion)}
        self.broadcaster.publish("correction", out)
        return out

    def undo_correction(self, correction_id: str) -> dict[str, Any] | None:
        found = self.store.undo_correction(correction_id)
        if found is None:
            return None
        self._retune(found["cushion"])
        log.info("cushion %s: correction %s undone", found["cushion"], correction_id)
        out = {"correction": found, **self.corrections_summary(found["cushion"])}
        self.broadcaster.publish("correction", out)
        return out

    def corrections_summary(self, cushion: str) -> dict[str, Any]:
        rows = self.store.corrections(cushion)
        active = [r for r in rows if not r["undone"]]
        profile = self.sitter_profile(cushion)
        return {
            "cushion": cushion,
            "count": len(active),
            "undone": len(rows) - len(active),
            "by_posture": dict(Counter(f"{r['shown']}->{r['posture']}" for r in active)),
            "corrections": rows[::-1][:50],  # newest first
            "profile": None if profile is None else profile.as_json(),
        }


class SetupControls:
    """The guided set-up behind the dashboard's set-up page, on a cushion's live readings
    (the same steps as `sitwell setup`: analysis/setup_steps.py). Mixed into the RuntimeService
    after SitterControls; the daemon hands each step to `feed_setup` while `setups` is not empty."""

    setups: dict[str, Any]
    _setup_results: dict[str, dict[str, Any]]
    cushions: Any
    store: Any
    config: Any

    def start_setup(self, cushion: str) -> dict[str, Any]:
        from monitor.analysis.setup_steps import SetupSession

        if cushion not in self.cushions:
            raise LookupError(f"cushion {cushion} has sent nothing yet: connect it first")
        self.setups[cushion] = SetupSession()
        self._setup_results.pop(cushion, None)
        log.info("cushion %s: guided set-up started", cushion)
        return self.setup_status(cushion)

    def cancel_setup(self, cushion: str) -> dict[str, Any]:
        session = self.setups.pop(cushion, None)
        if session is not None:
            log.info("cushion %s: guided set-up cancelled", cushion)
        return self.setup_status(cushion)

    def setup_status(self, cushion: str) -> dict[str, Any]:
        session = self.setups.get(cushion)
        saved = self.store.load_profile(cushion)
        return {
            "cushion": cushion,
            "active": session is not None,
            "status": None if session is None else session.status().as_json(),
            "result": self._setup_results.get(cushion),
            "saved": saved,
        }

    def feed_setup(self, step: Any) -> None:
        session = self.setups.get(step.cushion)
        slot = self.cushions.get(step.cushion)
        if session is None or slot is None:
            return
        session.feed(step.frame.t, step.reading)
        if not session.done:
            return
        del self.setups[slot.cushion]
        result = session.result(self.config.analysis.sensitivity)
        self.store.save_profile(slot.cushion, {**result.profile.as_json(), "mirrored": result.mirrored,
                                               "cannot_tell": result.cannot_tell, "skipped": result.skipped})
        if result.mirrored:
            m = slot.engine.mounting
            self.set_mounting(slot.cushion, {"orientation": m.orientation, "mirror": not m.mirror,  # type: ignore[attr-defined]
                                             "invert": m.invert})
        self._retune(slot.cushion)  # type: ignore[attr-defined]
        self._setup_results[slot.cushion] = {**result.as_json(), "summary": result.summary_lines()}
        log.info("cushion %s: guided set-up done: %s", slot.cushion, " ".join(result.summary_lines()))
