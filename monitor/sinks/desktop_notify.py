"""Reminders as desktop notifications (`notify-send`, from libnotify).

Optional (config `notify.desktop`, default off): the dashboard already shows reminders,
but a desktop notification reaches someone who has the dashboard tab buried.

The daemon's event loop must never wait on a desktop: each notification runs
`notify-send` in a short-lived daemon thread with a timeout, and nothing here raises.
Where `notify-send` is missing, or fails (no session bus, e.g. over ssh), that is logged
once; later reminders still try (reminders are minutes apart, and the desktop may
have come up since), without logging again.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from typing import Any

from monitor.model import Reminder
from monitor.sinks.base import CushionStep

log = logging.getLogger(__name__)

COMMAND = "notify-send"
TIMEOUT_S = 5.0  # notify-send returns at once normally; a wedged session bus must not pile up threads
EXPIRE_MS = 30_000

TITLES = {
    "sit_too_long": "Time to get up",
    "uneven_load": "Sit evenly on both sit bones",
    "crossed_legs": "Uncross your legs",
    "slouching": "Sit up",
}


class DesktopNotifier:
    """`notify(reminder)` shows one desktop notification; never blocks, never raises.

    As a sink (monitor.sinks.base.Sink) it notifies every reminder of a step."""

    name = "desktop"

    def __init__(self, enabled: bool, command: str = COMMAND, timeout_s: float = TIMEOUT_S) -> None:
        self.enabled = enabled
        self.timeout_s = timeout_s
        self._command = command
        self._path: str | None = None
        self._warned = False
        self._lock = threading.Lock()
        self.sent = 0
        self.failed = 0

    def handle(self, step: CushionStep) -> None:
        for reminder in step.reminders:
            self.notify(reminder)

    def tick(self) -> None:
        pass

    def close(self) -> None:
        pass

    def health(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "sent": self.sent, "failed": self.failed}

    def available(self) -> bool:
        """Whether notify-send is on PATH (looked up per reminder: cheap, and it may get installed)."""
        self._path = shutil.which(self._command)
        return self._path is not None

    def argv(self, reminder: Reminder) -> list[str]:
        title = f"sitwell: {TITLES.get(reminder.kind, reminder.kind.replace('_', ' '))}"
        urgency = "normal"
        return [
            self._path or self._command,
            "--app-name=sitwell",
            f"--urgency={urgency}",
            f"--expire-time={EXPIRE_MS}",
            "--category=presence",
            title,
            reminder.message,
        ]

    def notify(self, reminder: Reminder) -> None:
        if not self.enabled:
            return
        try:
            if not self.available():
                self._warn_once(
                    "desktop notifications unavailable: %s not found (Debian/Ubuntu: apt install libnotify-bin)",
                    self._command,
                )
                return
            thread = threading.Thread(
                target=self._run, args=(self.argv(reminder),), name="sitwell-notify", daemon=True
            )
            thread.start()
        except Exception:  # a notification must never take the daemon down
            log.exception("desktop notification failed")

    def _run(self, argv: list[str]) -> None:
        try:
            done = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=self.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            self._failed(f"{argv[0]} did not return within {self.timeout_s:g} s")
            return
        except OSError as exc:
            self._failed(f"{argv[0]}: {exc}")
            return
        if done.returncode != 0:
            detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
            self._failed(f"{argv[0]} exited with {done.returncode}: {detail[-1] if detail else 'no message'}")
            return
        with self._lock:
            self.sent += 1

    def _failed(self, why: str) -> None:
        with self._lock:
            self.failed += 1
        self._warn_once("desktop notifications unavailable: %s (is there a desktop session bus?)", why)

    def _warn_once(self, msg: str, *args: object) -> None:
        with self._lock:
            if self._warned:
                return
            self._warned = True
        log.warning(msg, *args)
