"""`sitwell log pain 4 --where left-buttock "after the long meeting"` and `sitwell journal
list|edit|delete|export|erase`: the pain journal from the terminal (docs/journal.md).

These open the database file directly (the same one `sitwell run` uses: store.db, or --db),
so they work whether or not the daemon runs; SQLite's WAL lets both write.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from monitor.cli.main import settings_or_exit

_db_option = click.option("--db", type=click.Path(dir_okay=False), help="The SQLite file (default: from the config).")
_config_option = click.option("--config", "config_file", type=click.Path(dir_okay=False), help="A TOML config file.")


def _book(config_file: str | None, db: str | None) -> Any:
    from monitor.journal import JournalBook

    settings = settings_or_exit(config_file, {"store.db": db})
    if not settings.journal.enabled:
        click.echo("the journal is off (journal.enabled = false in the config)", err=True)
        sys.exit(2)
    return JournalBook(settings.store.db)


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def describe(entry: Any) -> str:
    where = f" ({', '.join(entry.locations)})" if entry.locations else ""
    note = f' "{entry.note}"' if entry.note else ""
    return f"{entry.at[:16].replace('T', ' ')}  pain {entry.pain}/10{where}{note}  [{entry.id[:8]}]"


@click.group("log")
def log_group() -> None:
    """Log to the journal (`sitwell log pain 4 --where left-buttock "a note"`)."""


@log_group.command("pain")
@click.argument("level", metavar="0-10")
@click.argument("note", nargs=-1)
@click.option("--where", "where", multiple=True,
              help="left-buttock, right-buttock, left-hip, right-hip, left-leg (back of the leg), right-leg, "
                   "lower-back, other; repeat or comma-separate.")
@click.option("--at", help="When (local time, YYYY-MM-DDTHH:MM); default now.")
@_db_option
@_config_option
def log_pain(level: str, note: tuple[str, ...], where: tuple[str, ...], at: str | None, db: str | None,
             config_file: str | None) -> None:
    """Log pain 0 (none) to 10 (worst), where it hurts and an optional note."""
    from monitor.journal import JournalError

    with _book(config_file, db) as book:
        try:
            entry = book.add(level, where=",".join(where), note=" ".join(note), at=at, source="cli")
        except JournalError as exc:
            _fail(str(exc))
        click.echo(f"logged: {describe(entry)}")


@click.group("journal")
def journal_group() -> None:
    """Your pain journal: list, edit, delete, export, erase. It never leaves this machine unless you send it."""


def _entry_id(book: Any, prefix: str) -> str:
    matches = [e.id for e in book.entries() if e.id.startswith(prefix.lower())]
    if len(prefix) < 4 or len(matches) != 1:
        _fail(f"{prefix!r} matches {len(matches)} entries: give at least 4 characters of one id"
              " (`sitwell journal list`)")
    return matches[0]


@journal_group.command("list")
@click.option("--from", "first", help="First day, YYYY-MM-DD.")
@click.option("--to", "last", help="Last day, YYYY-MM-DD.")
@_db_option
@_config_option
def journal_list(first: str | None, last: str | None, db: str | None, config_file: str | None) -> None:
    """The entries, oldest first, with the id to edit or delete one."""
    from monitor.journal import JournalError

    with _book(config_file, db) as book:
        try:
            entries = book.entries(first, last)
        except JournalError as exc:
            _fail(str(exc))
        for entry in entries:
            click.echo(describe(entry))
        if not entries:
            click.echo("no entries")


@journal_group.command("edit")
@click.argument("entry_id")
@click.option("--pain", help="New rating 0-10.")
@click.option("--where", "where", multiple=True, help="New places (replace the old ones).")
@click.option("--note", help="New note ('' clears it).")
@click.option("--at", help="New time (local, YYYY-MM-DDTHH:MM).")
@_db_option
@_config_option
def journal_edit(entry_id: str, pain: str | None, where: tuple[str, ...], note: str | None, at: str | None,
                 db: str | None, config_file: str | None) -> None:
    """Change one entry (ID: its first characters, from `sitwell journal list`)."""
    from monitor.journal import JournalError

    changes: dict[str, Any] = {k: v for k, v in (("pain", pain), ("note", note), ("at", at)) if v is not None}
    if where:
        changes["where"] = ",".join(where)
    if not changes:
        _fail("nothing to change: give --pain, --where, --note or --at")
    with _book(config_file, db) as book:
        try:
            entry = book.update(_entry_id(book, entry_id), changes)
        except JournalError as exc:
            _fail(str(exc))
        click.echo(f"changed: {describe(entry)}")


@journal_group.command("delete")
@click.argument("entry_id", required=False)
@click.option("--from", "first", help="First day of a range to delete, YYYY-MM-DD.")
@click.option("--to", "last", help="Last day of the range (included).")
@_db_option
@_config_option
def journal_delete(entry_id: str | None, first: str | None, last: str | None, db: str | None,
                   config_file: str | None) -> None:
    """Delete one entry (ID), or every entry --from DAY --to DAY."""
    from monitor.journal import JournalError

    if entry_id and (first or last):
        _fail("give an entry id or --from/--to, not both")
    if not entry_id and not (first or last):
        _fail("give an entry id, or --from DAY --to DAY (`sitwell journal erase` deletes everything)")
    with _book(config_file, db) as book:
        try:
            if entry_id:
                book.delete(_entry_id(book, entry_id))
                click.echo("deleted 1 entry")
            else:
                click.echo(f"deleted {book.delete_range(first, last)} entries")
        except JournalError as exc:
            _fail(str(exc))


@journal_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--from", "first", help="First day, YYYY-MM-DD.")
@click.option("--to", "last", help="Last day, YYYY-MM-DD.")
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Write to this file (default: stdout).")
@_db_option
@_config_option
def journal_export(fmt: str, first: str | None, last: str | None, out: str | None, db: str | None,
                   config_file: str | None) -> None:
    """Every entry (or a range) as CSV or JSON: yours to keep or give your therapist."""
    from monitor.journal import JournalError

    with _book(config_file, db) as book:
        try:
            text = book.export_csv(first, last) if fmt == "csv" else json.dumps(
                book.export_json(first, last), indent=1, ensure_ascii=False) + "\n"
        except JournalError as exc:
            _fail(str(exc))
    if out:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text, nl=False)


@journal_group.command("erase")
@click.option("--yes", is_flag=True, help="Do not ask.")
@_db_option
@_config_option
def journal_erase(yes: bool, db: str | None, config_file: str | None) -> None:
    """Delete every journal entry and prompt, for good (the posture history stays)."""
    if not yes:
        click.confirm("Erase the whole pain journal? This cannot be undone", abort=True)
    with _book(config_file, db) as book:
        click.echo(f"erased {book.erase()} entries")
