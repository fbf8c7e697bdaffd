"""The civicpulse command as other tools use it: a real process, its output formats and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET

CLI = [sys.executable, "-m", "civicpulse_cli"]
ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path, url: str, stdin: str | None = None, **settings: str
        ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CIVICPULSE_DATABASE_URL": url, "CIVICPULSE_SECRET_KEY": TEST_SECRET,
           "PYTHONPATH": str(ROOT), **{f"CIVICPULSE_{name.upper()}": value for name, value in settings.items()}}
    env.pop("CIVICPULSE_ENVIRONMENT", None)
    return subprocess.run([*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, input=stdin)


def test_analyze_prints_one_json_object(tmp_path: Path, database_url: str) -> None:
    result = run("analyze", "They film the whole street and nobody told us. Write to me@example.org",
                 cwd=tmp_path, url=database_url)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip())
    assert {"text", "language", "category", "polarity", "subjectivity", "label", "flags"} <= set(out)
    assert "me@example.org" not in out["text"] and "email" in out["flags"]
    assert out["language"] == "en" and isinstance(out["flags"], list)


@pytest.mark.parametrize("text", ["", "x" * 4001])
def test_analyze_refuses_empty_or_long_text_with_exit_2(tmp_path: Path, database_url: str, text: str) -> None:
    result = run("analyze", text, cwd=tmp_path, url=database_url)
    assert result.returncode == 2 and result.stdout == "" and result.stderr.strip()


def test_import_export_and_keys(tmp_path: Path, database_url: str) -> None:
    assert run("db", "upgrade", cwd=tmp_path, url=database_url).returncode == 0
    seeded = run("seed", "demo", cwd=tmp_path, url=database_url)
    assert seeded.returncode == 0, seeded.stderr
    again = run("seed", "demo", cwd=tmp_path, url=database_url)
    assert "0 created" in again.stdout
    exported = run("deployments", "export", "--format", "geojson", cwd=tmp_path, url=database_url)
    collection = json.loads(exported.stdout)
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) >= 40
    out_file = tmp_path / "register.csv"
    assert run("deployments", "export", "--format", "csv", "--output", str(out_file), cwd=tmp_path,
               url=database_url).returncode == 0
    lines = out_file.read_text().splitlines()
    lines.append(lines[1].replace(lines[1].split(",")[0], "AQ-999", 1).replace(",air_quality,", ",teleporter,"))
    bad = tmp_path / "with-bad-row.csv"
    bad.write_text("\n".join(lines) + "\n")
    report = run("deployments", "import", str(bad), cwd=tmp_path, url=database_url)
    assert report.returncode == 1
    assert f"line {len(lines)}: rejected AQ-999" in report.stdout
    assert "unchanged, 1 rejected" in report.stdout
    created = run("apikey", "create", "--role", "staff", "--name", "ops team", cwd=tmp_path, url=database_url)
    key = created.stdout.strip().splitlines()[-1]
    assert created.returncode == 0 and key.startswith("cp_") and " " not in key
    listing = run("apikey", "list", cwd=tmp_path, url=database_url).stdout
    assert "ops team" in listing and key not in listing
    from core.db import Database
    from core.models import AuditEvent

    database = Database(database_url)
    with database.reading() as s:
        actions = [e.action for e in s.query(AuditEvent).order_by(AuditEvent.id)]
    database.dispose()
    assert actions == ["deployment.import", "apikey.create"]  # command-line writes are audited too



def test_import_reports_over_long_and_nul_values_and_keeps_the_good_rows(tmp_path: Path, database_url: str) -> None:
    def feature(code: str, **properties: object) -> dict[str, object]:
        return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-73.63, 45.49]},
                "properties": {"code": code, "name": "Kerbside sensor", "technology": "air_quality",
                               "status": "active", **properties}}

    geojson = tmp_path / f"{'r' * 220}.geojson"  # a name longer than the audit log keeps
    geojson.write_text(json.dumps({"type": "FeatureCollection", "features": [
        feature("AQ-701", vendor="v" * 201), feature("AQ-702", name="Kerb\x00side"), feature("AQ-703", vendor="Acme"),
        feature("AQ-704", description="d" * 4001), feature("AQ-705", purposes=["public_health\x00"]),
    ]}))
    report = run("deployments", "import", str(geojson), cwd=tmp_path, url=database_url)
    assert report.returncode == 1 and report.stderr == ""
    assert report.stdout.splitlines() == [
        "line 1: rejected AQ-701: vendor: at most 200 characters, this one has 201",
        "line 2: rejected AQ-702: name: NUL characters are not accepted",
        "line 4: rejected AQ-704: description: at most 4000 characters, this one has 4001",
        "line 5: rejected AQ-705: purposes: unknown purposes 'public_health\\x00'",
        "1 created, 0 updated, 0 unchanged, 4 rejected",
    ]
    csv_file = tmp_path / "register.csv"
    csv_file.write_text("code,name,technology,status,lat,lon,accountable_org,legal_basis\n"
                        f"AQ-711,Good one,air_quality,active,45.49,-73.63,{'o' * 201},\n"
                        f"AQ-712,Good two,air_quality,active,45.49,-73.63,Environment Office,{'b' * 500}\n")
    report = run("deployments", "import", str(csv_file), cwd=tmp_path, url=database_url)
    assert report.returncode == 1 and report.stderr == ""
    assert report.stdout.splitlines() == [
        "line 2: rejected AQ-711: accountable_org: at most 200 characters, this one has 201",
        "1 created, 0 updated, 0 unchanged, 1 rejected",
    ]
    exported = run("deployments", "export", "--format", "geojson", cwd=tmp_path, url=database_url)
    records = {f["properties"]["code"]: f["properties"] for f in json.loads(exported.stdout)["features"]}
    assert set(records) == {"AQ-703", "AQ-712"}
    assert records["AQ-703"]["vendor"] == "Acme" and len(records["AQ-712"]["legal_basis"]) == 500

def test_production_refuses_to_start_without_secrets(tmp_path: Path, database_url: str) -> None:
    env = {**os.environ, "CIVICPULSE_ENVIRONMENT": "production", "CIVICPULSE_DATABASE_URL": database_url,
           "PYTHONPATH": str(ROOT)}
    env.pop("CIVICPULSE_SECRET_KEY", None)
    result = subprocess.run([*CLI, "db", "upgrade"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and "CIVICPULSE_SECRET_KEY" in result.stderr


def test_commands_refuse_a_database_that_is_not_at_this_versions_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"  # a file of its own on either pass
    verbs = (["apikey", "list"], ["seed", "demo"], ["jobs", "list"], ["deployments", "export", "--format", "csv"])
    for verb in verbs:
        refused = run(*verb, cwd=tmp_path, url=url)
        assert refused.returncode == 1, verb
        assert refused.stderr.strip().splitlines()[-1] == (
            f"civicpulse: there is no database file {tmp_path / 'new.db'}: run `civicpulse db upgrade` to create "
            f"it, or check CIVICPULSE_DATABASE_URL ({url})"), verb
        assert not (tmp_path / "new.db").exists(), verb  # a mistyped name leaves no empty database behind
    typo = run("jobs", "list", cwd=tmp_path, url=f"sqlite:///{tmp_path / 'typo' / 'new.db'}")
    assert typo.returncode == 1 and not (tmp_path / "typo").exists()
    (tmp_path / "new.db").touch()  # an empty SQLite database
    for verb in verbs:
        refused = run(*verb, cwd=tmp_path, url=url)
        assert refused.returncode == 1, verb
        assert refused.stderr.strip().splitlines()[-1] == (
            f"civicpulse: the database has no civicpulse schema: run `civicpulse db upgrade` ({url})"), verb
        assert "Traceback" not in refused.stderr
    # Text analysis needs no database, and `db upgrade` is the way out.
    assert run("analyze", "Cameras everywhere", cwd=tmp_path, url=url).returncode == 0
    assert run("db", "upgrade", cwd=tmp_path, url=url).returncode == 0
    listed = run("apikey", "list", cwd=tmp_path, url=url)
    assert listed.returncode == 0, listed.stderr


def test_commands_name_an_unreachable_database_without_its_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://civic:hunter2@127.0.0.1:9/civicpulse"  # the discard port: nobody listens
    refused = run("apikey", "list", cwd=tmp_path, url=url)
    assert refused.returncode == 1 and "hunter2" not in refused.stderr
    assert refused.stderr.strip().splitlines()[-1] == (
        "civicpulse: cannot reach the database at postgresql+psycopg://civic:***@127.0.0.1:9/civicpulse: "
        "OperationalError")


def test_malformed_features_are_rejected_in_the_report_not_a_traceback(tmp_path: Path, database_url: str) -> None:
    properties = {"code": "YY-20", "name": "x", "technology": "camera", "status": "active"}
    register = tmp_path / "register.geojson"
    register.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": [1, 2], "properties": properties},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}, "properties": "YY-21"},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [int("9" * 401), 2]},
         "properties": {**properties, "code": "YY-22"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]},
         "properties": {**properties, "code": "YY-23", "area": {"type": "Polygon", "coordinates": [
             [[500, 0], [501, 0], [501, 1], [500, 0]]]}}}]}))
    report = run("deployments", "import", str(register), cwd=tmp_path, url=database_url)
    assert report.returncode == 1 and report.stderr == ""
    assert report.stdout.splitlines() == [
        "line 1: rejected YY-20: geometry must be a Point (mobile deployments carry their area in properties.area)",
        "line 2: rejected (no code): properties must be an object",
        "line 3: rejected YY-22: geometry coordinates must be [lon, lat] numbers",
        "line 4: rejected YY-23: area: longitude 500 is outside -180..180",
        "0 created, 0 updated, 0 unchanged, 4 rejected",
    ]
    districts = tmp_path / "districts.geojson"
    districts.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"slug": "huge", "name": "Huge"}, "geometry": {"type": "Polygon",
         "coordinates": [[[int("9" * 401), 0], [1, 0], [1, 1], [int("9" * 401), 0]]]}}]}))
    report = run("districts", "import", str(districts), cwd=tmp_path, url=database_url)
    assert report.returncode == 1 and report.stderr == ""
    assert report.stdout.splitlines()[0] == (
        "feature 1 (slug 'huge'): Polygon coordinates must be 3 levels of lists down to finite numbers")


def test_bad_settings_are_one_line_each_with_exit_2_and_never_a_secret(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CIVICPULSE_SECRET_KEY": "Kq8vZ2xLr0pT5mWn3sYb7cHd9fJg1uAe",
           "CIVICPULSE_WEBHOOK_URL": "https://civic.example.org/telegram/webhook"}
    env.pop("CIVICPULSE_DATABASE_URL", None)
    env.pop("CIVICPULSE_ENVIRONMENT", None)
    result = subprocess.run([*CLI, "jobs", "list"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Kq8vZ2xL" not in result.stderr
    assert result.stderr.splitlines() == [
        "civicpulse: invalid settings: CIVICPULSE_WEBHOOK_URL is set but CIVICPULSE_WEBHOOK_SECRET is not"]
    env |= {"CIVICPULSE_TIMEZONE": "Mars", "CIVICPULSE_STAFF_CHAT_IDS": "-1001,abc"}
    result = subprocess.run([*CLI, "serve"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.splitlines() == [
        "civicpulse: invalid settings: CIVICPULSE_TIMEZONE: unknown time zone 'Mars'",
        "civicpulse: invalid settings: CIVICPULSE_STAFF_CHAT_IDS (item 2): Input should be a valid integer, unable "
        "to parse string as an integer",
    ]
    for url in ("notaurl", "mysql://civic:hunter2@localhost/db"):
        for verb in (["apikey", "list"], ["db", "upgrade"]):
            refused = run(*verb, cwd=tmp_path, url=url)
            assert refused.returncode == 2 and "hunter2" not in refused.stderr, verb
            (line,) = refused.stderr.splitlines()
            assert line.startswith("civicpulse: invalid settings: CIVICPULSE_DATABASE_URL: "), verb


def test_db_upgrade_names_the_revision_it_reached_and_never_goes_back(tmp_path: Path) -> None:
    import sqlite3

    from core.schema import heads

    url = f"sqlite:///{tmp_path / 'cp.db'}"  # a file of its own on either pass: its version table is rewritten
    head = heads(url)[0]
    older = run("db", "upgrade", "68303d1bd1a2", cwd=tmp_path, url=url)
    assert older.returncode == 0 and older.stdout == f"database at revision 68303d1bd1a2: {url}\n"
    upgraded = run("db", "upgrade", cwd=tmp_path, url=url)
    assert upgraded.returncode == 0 and upgraded.stdout == f"database at revision {head}: {url}\n"
    behind = run("db", "upgrade", "68303d1bd1a2", cwd=tmp_path, url=url)
    assert behind.returncode == 2 and behind.stdout == ""
    assert behind.stderr.splitlines()[-1] == (
        f"civicpulse db upgrade: the database is at revision {head}, past 68303d1bd1a2: `db upgrade` never goes "
        "back to an older revision")
    bogus = run("db", "upgrade", "bogus", cwd=tmp_path, url=url)
    assert bogus.returncode == 2 and "Traceback" not in bogus.stderr
    assert bogus.stderr.splitlines()[-1].startswith("civicpulse db upgrade: no migration is called 'bogus'")
    with sqlite3.connect(tmp_path / "cp.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    newer = run("db", "upgrade", cwd=tmp_path, url=url)
    assert newer.returncode == 1 and "Traceback" not in newer.stderr
    assert newer.stderr.splitlines()[-1].startswith(
        "civicpulse: the database is at revision ffffffffffff, which this version of civicpulse does not know: a "
        "newer civicpulse migrated it")


def test_an_unusable_output_is_one_line_and_leaves_no_file(tmp_path: Path, database_url: str) -> None:
    for verb in (["deployments", "export", "--format", "csv"], ["districts", "export"], ["qr", "AQ-017"]):
        missing = run(*verb, "--output", "nodir/out.file", cwd=tmp_path, url=database_url, bot_username="civic_bot")
        assert missing.returncode == 2 and missing.stderr.splitlines() == [
            "civicpulse: cannot write nodir/out.file: there is no folder nodir"], verb
        folder = run(*verb, "--output", str(tmp_path), cwd=tmp_path, url=database_url, bot_username="civic_bot")
        assert folder.returncode == 2 and folder.stderr.splitlines() == [
            f"civicpulse: {tmp_path} is a folder: give a file name"], verb
    if Path("/dev/full").exists():
        with open("/dev/full", "w") as full:
            env = {**os.environ, "CIVICPULSE_DATABASE_URL": database_url, "CIVICPULSE_SECRET_KEY": TEST_SECRET,
                   "PYTHONPATH": str(ROOT)}
            stdout = subprocess.run([*CLI, "districts", "list"], cwd=tmp_path, env=env, stdout=full,
                                    stderr=subprocess.PIPE, text=True, timeout=60)
        assert stdout.returncode == 1 and stdout.stderr.splitlines() == [
            "civicpulse: could not write standard output: No space left on device"]
        device = run("deployments", "export", "--format", "csv", "--output", "/dev/full", cwd=tmp_path,
                     url=database_url)
        assert device.returncode == 1 and device.stderr.splitlines() == [
            "civicpulse: could not write /dev/full: No space left on device"]
    assert not [p.name for p in tmp_path.iterdir() if p.name != "civicpulse.db"]  # no temporary file left behind


def test_a_failed_write_keeps_the_earlier_file_whole(tmp_path: Path) -> None:
    from core.files import WriteFailed, write_text

    target = tmp_path / "register.csv"
    write_text(target, lambda out: out.write("first\n"))
    target.chmod(0o640)

    def fail_half_way(out: object) -> None:
        out.write("half")  # type: ignore[attr-defined]
        raise OSError(28, "No space left on device")

    with pytest.raises(WriteFailed, match=r"could not write .*register\.csv: No space left on device"):
        write_text(target, fail_half_way)
    assert target.read_text() == "first\n" and [p.name for p in tmp_path.iterdir()] == ["register.csv"]
    write_text(target, lambda out: out.write("second\r\n"))
    assert target.read_bytes() == b"second\r\n" and target.stat().st_mode & 0o777 == 0o640


def test_apikey_revoke_once_and_names_one_line_in_an_aligned_list(tmp_path: Path, database_url: str) -> None:
    for key_id in ("99999999999999999999", "3000000000", "0", "-1"):
        missing = run("apikey", "revoke", "--", key_id, cwd=tmp_path, url=database_url)
        assert missing.returncode == 1 and missing.stderr.splitlines() == [
            f"civicpulse: no API key with id {key_id}"], key_id
    for name in ("ops\tteam", "ops\nteam", "ops\rteam", "ops\x1b[2J"):
        refused = run("apikey", "create", "--role", "staff", "--name", name, cwd=tmp_path, url=database_url)
        assert refused.returncode == 1 and len(refused.stderr.splitlines()) == 1 and "key's name" in refused.stderr
    created = run("apikey", "create", "--role", "staff", "--name", "ops team", cwd=tmp_path, url=database_url)
    key_id = created.stdout.split("#")[1].split()[0]
    first = run("apikey", "revoke", key_id, cwd=tmp_path, url=database_url)
    assert first.returncode == 0 and first.stdout == f"revoked key #{key_id} (staff, 'ops team')\n"
    again = run("apikey", "revoke", key_id, cwd=tmp_path, url=database_url)
    assert again.returncode == 0
    assert again.stdout.startswith(f"key #{key_id} (staff, 'ops team') was already revoked on ")
    header, row = run("apikey", "list", cwd=tmp_path, url=database_url).stdout.splitlines()
    created, last_used, revoked = (header.index(column) for column in ("created", "last used", "revoked"))
    assert row[created:last_used].rstrip().endswith("+00:00") and row[last_used:revoked].rstrip() == "-"
    assert row[revoked:].endswith("+00:00")  # each time within its column
    from core.db import Database
    from core.models import AuditEvent

    database = Database(database_url)
    with database.reading() as s:
        actions = [e.action for e in s.query(AuditEvent).order_by(AuditEvent.id)]
    database.dispose()
    assert actions == ["apikey.create", "apikey.revoke"]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_bot_without_a_bot_api_says_where_it_looked_in_one_line_without_the_token(
        tmp_path: Path, database_url: str) -> None:
    nobody = _free_port()
    bot = run("bot", "--port", str(_free_port()), cwd=tmp_path, url=database_url, emulator_port=str(nobody))
    assert bot.returncode == 1 and "Traceback" not in bot.stderr
    assert bot.stderr.splitlines()[-1] == (
        f"civicpulse: no Bot API at http://127.0.0.1:{nobody}/bot: httpx.ConnectError: All connection attempts failed "
        "(start `civicpulse emulator` or check CIVICPULSE_TELEGRAM_API_URL)")
    served = run("serve", "--port", str(_free_port()), cwd=tmp_path, url=database_url,
                 telegram_token="123456:s3cr3t-t0ken", telegram_api_url=f"http://127.0.0.1:{nobody}/bot")
    assert served.returncode == 1 and "Traceback" not in served.stderr and "s3cr3t-t0ken" not in served.stderr
    assert served.stderr.splitlines()[-1].startswith(f"civicpulse: no Bot API at http://127.0.0.1:{nobody}/bot: ")


@pytest.mark.parametrize("verb", ["serve", "api", "bot", "emulator"])
def test_a_port_outside_1_to_65535_is_an_argument_error(tmp_path: Path, verb: str) -> None:
    for port in ("99999", "0", "http"):
        refused = run(verb, "--port", port, cwd=tmp_path, url=f"sqlite:///{tmp_path / 'none.db'}")
        assert refused.returncode == 2 and "Traceback" not in refused.stderr
        assert refused.stderr.splitlines()[-1].startswith(f"civicpulse {verb}: error: argument --port: ")
