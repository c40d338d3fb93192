"""The journal over the real daemon's HTTP API, and `sitwell log` / `sitwell journal` as real
processes on the same database while the daemon runs."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx

from monitor.journal import JournalBook


def sitwell(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor.cli", *args], capture_output=True, text=True,
                          input=stdin, timeout=60)


def test_entries_round_trip_over_http(inprocess_daemon):
    d = inprocess_daemon({"sim.speed": 1.0})
    base = d.url + "/api/journal"
    r = httpx.post(base, json={"pain": 4, "where": ["left-buttock"], "note": "after the long meeting"})
    assert r.status_code == 201, r.text
    entry = r.json()
    assert entry["pain"] == 4 and entry["locations"] == ["left-buttock"] and entry["source"] == "dashboard"
    assert [e["id"] for e in httpx.get(base).json()] == [entry["id"]]

    r = httpx.patch(f"{base}/{entry['id']}", json={"pain": 6, "where": ["right-hip", "other"]})
    assert r.status_code == 200 and r.json()["pain"] == 6 and r.json()["locations"] == ["right-hip", "other"]
    assert httpx.get(base).json()[0]["edited_at"]

    for bad in ({"pain": 11}, {"pain": -1}, {"pain": 3, "where": ["knee"]}, {"pain": 3, "colour": "red"},
                {"where": ["left-hip"]}, {"pain": 2, "at": "2026-01-01T00:00:00"}):
        r = httpx.post(base, json=bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["message"], bad
    assert "left-buttock" in httpx.post(base, json={"pain": 3, "where": ["knee"]}).json()["message"]
    assert httpx.patch(f"{base}/{'0' * 32}", json={"pain": 1}).status_code == 404
    assert httpx.patch(f"{base}/not-an-id", json={"pain": 1}).status_code == 422
    assert len(httpx.get(base).json()) == 1  # nothing bad was stored

    assert httpx.delete(f"{base}/{entry['id']}").status_code == 204
    assert httpx.delete(f"{base}/{entry['id']}").status_code == 404
    assert httpx.get(base).json() == []


def test_range_delete_and_days_view(inprocess_daemon):
    d = inprocess_daemon({"sim.speed": 1.0})
    base = d.url + "/api/journal"
    with JournalBook(d.daemon.config.store.db) as book:  # earlier days: `sitwell log pain --at` does this
        for day, pain in ((1, 2), (2, 5), (3, 7)):
            book.add(pain, at=f"2026-11-0{day}T18:00:00")
    assert httpx.delete(base, params={"from": "2026-11-01"}).status_code == 422  # both ends required
    assert httpx.delete(base, params={"from": "2026-11-03", "to": "2026-11-01"}).json() == {"deleted": 0}
    r = httpx.delete(base, params={"from": "2026-11-02", "to": "2026-11-03"})
    assert r.json() == {"deleted": 2}
    assert [e["pain"] for e in httpx.get(base).json()] == [2]
    httpx.post(base, json={"pain": 3})
    httpx.post(base, json={"pain": 5})
    days = httpx.get(base + "/days", params={"days": 30}).json()
    assert len(days) == 30 and days[-1]["pain"] == 5 and days[-1]["entries"] == 2 and days[-1]["pain_mean"] == 4.0
    assert {"minutes_seated", "longest_spell_min", "breaks", "uneven_share", "crossed_share",
            "slouched_share"} <= set(days[-1])
    assoc = httpx.get(base + "/associations").json()
    assert assoc["ready"] is False and assoc["results"] == [] and "14" in assoc["message"]


def test_token_guards_journal_writes(inprocess_daemon):
    d = inprocess_daemon({"sim.speed": 1.0}, token="s3cret", require_token=True)
    base = d.url + "/api/journal"
    assert httpx.post(base, json={"pain": 3}).status_code in (401, 403)
    r = httpx.post(base, json={"pain": 3}, headers={"Authorization": "Bearer s3cret"})
    assert r.status_code == 201


def test_journal_off_answers_404(inprocess_daemon):
    d = inprocess_daemon({"sim.speed": 1.0, "journal.enabled": False})
    r = httpx.post(d.url + "/api/journal", json={"pain": 3})
    assert r.status_code == 404 and "off" in r.json()["detail"]


def test_cli_logs_into_the_running_daemons_database(inprocess_daemon, tmp_path):
    d = inprocess_daemon({"sim.speed": 1.0})
    db = str(d.daemon.config.store.db)
    out = sitwell("log", "pain", "4", "--where", "left-buttock", "after the long meeting", "--db", db)
    assert out.returncode == 0, out.stderr
    assert "pain 4/10 (left-buttock) \"after the long meeting\"" in out.stdout
    [entry] = httpx.get(d.url + "/api/journal").json()  # the daemon sees it at once
    assert entry["source"] == "cli" and entry["note"] == "after the long meeting"

    bad = sitwell("log", "pain", "eleven", "--db", db)
    assert bad.returncode == 2 and "0-10" in bad.stderr
    bad = sitwell("log", "pain", "3", "--where", "knee", "--db", db)
    assert bad.returncode == 2 and "not a place" in bad.stderr

    out = sitwell("journal", "edit", entry["id"][:6], "--pain", "2", "--where", "right-leg", "--db", db)
    assert out.returncode == 0 and "pain 2/10 (right-leg)" in out.stdout, out.stderr
    assert httpx.get(d.url + "/api/journal").json()[0]["pain"] == 2
    assert sitwell("journal", "edit", "zz", "--pain", "2", "--db", db).returncode == 2

    sitwell("log", "pain", "6", "--at", "2026-11-20T09:00", "--db", db)
    sitwell("log", "pain", "7", "--at", "2026-11-21T09:00", "--db", db)
    listed = sitwell("journal", "list", "--from", "2026-11-20", "--to", "2026-11-21", "--db", db)
    assert listed.stdout.count("pain ") == 2
    exported = sitwell("journal", "export", "--format", "json", "--db", db)
    assert sorted(e["pain"] for e in json.loads(exported.stdout)) == [2, 6, 7]
    csv_file = tmp_path / "j.csv"
    assert sitwell("journal", "export", "--out", str(csv_file), "--db", db).returncode == 0
    assert csv_file.read_text().count("\n") == 4
    assert "both --from and --to" in sitwell("journal", "delete", "--from", "2026-11-20", "--db", db).stderr
    out = sitwell("journal", "delete", "--from", "2026-11-20", "--to", "2026-11-21", "--db", db)
    assert "deleted 2 entries" in out.stdout
    assert len(httpx.get(d.url + "/api/journal").json()) == 1
    refused = sitwell("journal", "erase", "--db", db, stdin="n\n")
    assert refused.returncode != 0 and len(httpx.get(d.url + "/api/journal").json()) == 1
    out = sitwell("journal", "erase", "--yes", "--db", db)
    assert "erased 1 entries" in out.stdout and httpx.get(d.url + "/api/journal").json() == []
