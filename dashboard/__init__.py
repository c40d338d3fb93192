"""The web dashboard: a FastAPI app over the Runtime protocol, and its static page.

`create_app(runtime, token=..., require_token=...)` (app.py) builds it; routes_reminders.py
holds the reminder and pause routes, schemas.py the response models, auth.py the token
guard and security headers. It talks to the daemon only through monitor.runtime.protocol.
"""

from dashboard.app import create_app

__all__ = ["create_app"]
