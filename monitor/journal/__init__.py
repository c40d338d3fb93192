"""The pain and progress journal (issue 18, docs/journal.md): entries (entries.py), their
storage (book.py), the 30-day side-by-side view (days.py), "what seems to help" (stats.py,
associations.py) and optional prompts (prompts.py)."""

from monitor.journal.book import JournalBook
from monitor.journal.entries import LOCATIONS, JournalEntry, JournalError

__all__ = ["LOCATIONS", "JournalBook", "JournalEntry", "JournalError"]
