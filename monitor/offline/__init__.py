"""Offline work on what was recorded: `sitwell analyze` (a recording) and `sitwell report` (the store)."""

from monitor.offline.analyze import AnalysisTotals, analyze_recording, jsonl_writer
from monitor.offline.report import render_html, write_report

__all__ = ["AnalysisTotals", "analyze_recording", "jsonl_writer", "render_html", "write_report"]
