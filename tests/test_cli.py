"""The installed ``openinvoice`` command: JSON shapes, exit codes, confirmation, parse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.commands_fixtures import D

BIN = Path(sys.executable).with_name("openinvoice")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("cli") / "demo.db"
    oi("demo", "--customers", "200", "--seed", "3", db=str(path))
    return str(path)


def oi(*args: str, db: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPENINVOICE_AS_OF": D.isoformat(), "OPENINVOICE_CONFIG": "/nonexistent"}
    if db:
        env["OPENINVOICE_DB"] = db
    proc = subprocess.run([str(BIN), *args], capture_output=True, text=True, env=env, timeout=120)
    if check and proc.returncode not in (0,):
        raise AssertionError(f"exit {proc.returncode}: {proc.stdout}\n{proc.stderr}")
    return proc


def test_query_json_has_every_figure(demo_db: str) -> None:
    out = json.loads(oi("run", "top 5 customers by revenue", "--json", db=demo_db).stdout)
    assert out["total"] == 5 and len(out["customers"]) == 5
    first = out["customers"][0]
    for key in (
        "id",
        "name",
        "email",
        "company",
        "status",
        "tags",
        "revenue",
        "invoiced",
        "outstanding",
        "invoice_count",
        "average_invoice_value",
        "last_invoice_date",
        "last_payment_date",
        "invoice_frequency_days",
        "average_days_to_pay",
        "average_days_late",
        "on_time_rate",
        "segments",
        "at_risk_reasons",
    ):
        assert key in first, key
    assert isinstance(first["revenue"], str) and "." in first["revenue"]  # decimal string
    revenues = [float(c["revenue"]) for c in out["customers"]]
    assert revenues == sorted(revenues, reverse=True)


def test_all_matches_unless_limited(demo_db: str) -> None:
    out = json.loads(oi("run", "customers", "--json", db=demo_db).stdout)
    assert out["total"] == len(out["customers"]) > 150


def test_error_exit_2_with_position_and_suggestions(demo_db: str) -> None:
    proc = oi("run", "tag acme wiht vip", "--json", db=demo_db, check=False)
    assert proc.returncode == 2
    err = json.loads(proc.stdout)["error"]
    assert err["position"] == 9 and "with" in err["suggestions"]
    human = oi("run", "tag acme wiht vip", db=demo_db, check=False)
    assert human.returncode == 2 and "^" in human.stderr and "wiht" in human.stderr


def test_bulk_needs_yes_and_dry_run_changes_nothing(demo_db: str) -> None:
    asked = oi("run", "tag late payers with follow-up", "--json", db=demo_db, check=False)
    assert asked.returncode == 3
    n = json.loads(asked.stdout)["confirmation_needed"]["affected"]
    dry = json.loads(
        oi("run", "tag late payers with follow-up", "--dry-run", "--json", db=demo_db).stdout
    )
    assert dry["dry_run"] and dry["affected"] == n
    before = json.loads(
        oi("run", "customers tagged follow-up", "--json", db=demo_db, check=False).stdout
    )
    assert "error" in before  # the tag does not exist yet
    done = json.loads(
        oi("run", "tag late payers with follow-up", "--yes", "--json", db=demo_db).stdout
    )
    assert done["action"] == "tag" and done["affected"] == n and done["audit_id"]
    tagged = json.loads(oi("run", "customers tagged follow-up", "--json", db=demo_db).stdout)
    assert tagged["total"] == n
    oi("run", "undo", db=demo_db)
    gone = oi("run", "customers tagged follow-up", "--json", db=demo_db, check=False)
    assert gone.returncode == 2


def test_table_output_aligns_amounts(demo_db: str) -> None:
    out = oi("run", "top 3 customers by revenue", db=demo_db).stdout
    assert "3 customers" in out and "revenue" in out


def test_parse_prints_the_command_object() -> None:
    out = json.loads(oi("parse", "tag late payers with at-risk").stdout)
    assert out["type"] == "Tag" and out["tags"] == ["at-risk"]
    bad = oi("parse", "frobnicate everyone", check=False)
    assert bad.returncode == 2 and json.loads(bad.stdout)["error"]["position"] == 11


def test_db_upgrade_and_backup(tmp_path: Path, demo_db: str) -> None:
    fresh = tmp_path / "new.db"
    assert "revision" in oi("db", "upgrade", db=str(fresh)).stdout
    copy = tmp_path / "copy.db"
    oi("db", "backup", str(copy), db=demo_db)
    out = json.loads(oi("run", "customers", "--json", db=str(copy)).stdout)
    assert out["total"] > 150


def test_run_does_not_import_heavy_front_ends(demo_db: str) -> None:
    code = (
        "import sys; from commands.cli import app; "
        "sys.argv=['openinvoice','run','late payers','--json'];\n"
        "try: app()\nexcept SystemExit: pass\n"
        "heavy=[m for m in ('textual','stripe','openpyxl','apscheduler','xlsxwriter',"
        "'sqlalchemy.orm','pydantic','rapidfuzz','alembic') "
        "if m in sys.modules]; print('HEAVY', heavy, file=sys.stderr)"
    )
    env = {**os.environ, "OPENINVOICE_DB": demo_db, "OPENINVOICE_AS_OF": D.isoformat()}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert "HEAVY []" in proc.stderr, proc.stderr
