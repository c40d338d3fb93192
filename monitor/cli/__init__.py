"""The `sitwell` command line: one module per command, `main` is the entry point (CONTRACT §7)."""

from monitor.cli.main import main

__all__ = ["main"]
