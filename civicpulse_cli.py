"""The `civicpulse` command: the composition root that wires core, the API and the bot."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from core import schema
from core.errors import ConfigurationError, DomainError
from core.settings import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger("civicpulse")
EXIT_USAGE = 2


def _database(settings: Settings):  # type: ignore[no-untyped-def]
    from core.db import Database

    return Database(settings.database_url)


def _policy(settings: Settings):  # type: ignore[no-untyped-def]
    from core.concerns import IntakePolicy

    return IntakePolicy(zone=settings.zone, phone_region=settings.phone_region,
                        concerns_per_hour=settings.concerns_per_hour)


def _operator() -> str:
    """Who runs the command, for versions and the audit log (the operating-system user)."""
    return f"cli:{getpass.getuser()}"


def _audit(session, action: str, target: str, detail: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    from core import audit

    audit.record(session, principal=_operator(), role="admin", action=action, target=target, detail=detail)


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    try:
        revision = schema.upgrade(settings.database_url, args.revision)
    except (schema.UnknownRevision, schema.NoDowngrade) as exc:
        print(f"civicpulse db upgrade: {exc.reason}", file=sys.stderr)
        return EXIT_USAGE
    print(f"database at revision {revision}: {_safe_url(settings.database_url)}")
    return 0


def cmd_seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    from core.seed import seed_demo

    database = _database(settings)
    with database.transaction() as session:
        report = seed_demo(session, secret=settings.secret_bytes(), policy=_policy(settings))
    print(f"districts: {report.districts}")
    for line in report.register.lines():
        print(f"register: {line}")
    print(f"concerns: {report.concerns_created} created, {report.concerns_total} in the demo")
    return 0


def cmd_analyze(settings: Settings, args: argparse.Namespace) -> int:
    from core import nlp

    try:
        analysis = nlp.analyze(args.text, prior_language=args.language, region=settings.phone_region)
    except DomainError as exc:
        print(f"civicpulse analyze: {exc.reason}", file=sys.stderr)
        return EXIT_USAGE
    out = analysis.as_dict()
    print(json.dumps({k: out[k] for k in ("text", "language", "category", "polarity", "subjectivity", "label",
                                          "flags")} | {"key_phrases": out["key_phrases"]}, ensure_ascii=False))
    return 0


def _import_file(settings: Settings, args: argparse.Namespace, *, what: str, action: str, read: Callable[[Path], Any],
                 write: Callable[[Session, Any], tuple[Any, dict[str, object]]]) -> int:
    """Read FILE, write it in one audited transaction with `write(session, parsed)`, print the report's lines."""
    path = Path(args.file)
    if not path.is_file():
        print(f"civicpulse {what} import: no such file {path}", file=sys.stderr)
        return EXIT_USAGE
    try:
        parsed = read(path)
        with _database(settings).transaction() as session:
            report, detail = write(session, parsed)
            # The file's name is the target: cut to the 200 characters the audit log keeps.
            _audit(session, action, path.name[:200], detail)
    except DomainError as exc:
        print(f"civicpulse {what} import: {exc.reason}", file=sys.stderr)
        return 1
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


def cmd_deployments_import(settings: Settings, args: argparse.Namespace) -> int:
    from core import exchange
    from core.deployments import import_records

    def write(session: Session, rows: Any) -> tuple[Any, dict[str, object]]:
        report = import_records(session, rows=rows, actor=_operator())
        return report, {"created": report.created, "updated": report.updated, "rejected": len(report.rejected)}

    return _import_file(settings, args, what="deployments", action="deployment.import", read=exchange.read_file,
                        write=write)


def _write_output(output: str | None, write: Callable[[TextIO], None]) -> None:
    """Write to the --output file (complete or not at all), or to standard output without one."""
    from core import files

    if output:
        files.write_text(Path(output), write)
        return
    with _standard_output():
        write(sys.stdout)
        sys.stdout.flush()


@contextlib.contextmanager
def _standard_output() -> Iterator[None]:
    """Turn a failure to write standard output (a full disk) into one line; a closed pipe stays quiet."""
    from core.files import WriteFailed

    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        _discard_stdout()
        raise WriteFailed(f"could not write standard output: {exc.strerror or type(exc).__name__}") from None


def _write_geojson(collection: dict[str, Any]) -> Callable[[TextIO], None]:
    def write(out: TextIO) -> None:
        json.dump(collection, out, ensure_ascii=False, indent=1)
        out.write("\n")

    return write


def cmd_deployments_export(settings: Settings, args: argparse.Namespace) -> int:
    from core import exchange

    database = _database(settings)
    with database.reading() as session:
        records = exchange.all_records(session)
    if args.format == "geojson":
        _write_output(args.output, _write_geojson(exchange.feature_collection(records)))
    else:
        _write_output(args.output, lambda out: exchange.write_csv(records, out))
    return 0


def cmd_districts_import(settings: Settings, args: argparse.Namespace) -> int:
    from core import districts

    def write(session: Session, collection: Any) -> tuple[Any, dict[str, object]]:
        report = districts.import_districts(session, collection=collection, actor=_operator())
        return report, {"created": report.created, "updated": report.updated, "rejected": len(report.rejected),
                        "deployments_replaced": report.replaced}

    return _import_file(settings, args, what="districts", action="district.import", read=districts.read_file,
                        write=write)


def cmd_districts_export(settings: Settings, args: argparse.Namespace) -> int:
    from core import districts

    with _database(settings).reading() as session:
        collection = districts.export_districts(session)
    _write_output(args.output, _write_geojson(collection))
    return 0


def cmd_districts_list(settings: Settings, args: argparse.Namespace) -> int:
    from core import districts
    from core.pagination import MAX_LIMIT

    rows: list[Any] = []
    with _database(settings).reading() as session:
        cursor = None
        while True:
            page = districts.list_districts(session, limit=MAX_LIMIT, cursor=cursor)
            rows += page.items
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    width = max([len("slug"), *(len(r.slug) for r in rows)])
    print(f"{'slug':{width}}  {'deployments':>11}  {'name (en)':30}  name (es)")
    for r in rows:
        print(f"{r.slug:{width}}  {r.deployments:>11}  {r.name_en[:30]:30}  {r.name_es[:30]}")
    return 0


def cmd_apikey_create(settings: Settings, args: argparse.Namespace) -> int:
    from core import apikeys
    from core.models import Role

    database = _database(settings)
    with database.transaction() as session:
        key, token = apikeys.create(session, role=Role(args.role), principal=args.name)
        _audit(session, "apikey.create", str(key.id), {"role": key.role, "principal": key.principal})
    print(f"created {key.role} key #{key.id} for {key.principal!r} (shown once; store it safely):")
    print(token)
    return 0


def cmd_apikey_list(settings: Settings, args: argparse.Namespace) -> int:
    from core import apikeys

    database = _database(settings)
    with database.reading() as session:
        keys = apikeys.list_keys(session)
    print(f"{'id':>4}  {'role':9}  {'prefix':10}  {'principal':24}  {'created':25}  {'last used':25}  revoked")
    for k in keys:
        # To the second, as 2026-11-29T07:38:15+00:00: exactly the 25 characters of the columns.
        print(f"{k.id:>4}  {k.role:9}  {k.prefix:10}  {k.principal[:24]:24}  "
              f"{k.created_at.isoformat(timespec='seconds'):25}  "
              f"{k.last_used_at.isoformat(timespec='seconds') if k.last_used_at else '-':25}  "
              f"{k.revoked_at.isoformat(timespec='seconds') if k.revoked_at else '-'}")
    return 0


def cmd_apikey_revoke(settings: Settings, args: argparse.Namespace) -> int:
    from core import apikeys

    database = _database(settings)
    with database.transaction() as session:
        key, revoked = apikeys.revoke(session, key_id=args.id)
        if revoked:
            _audit(session, "apikey.revoke", str(key.id), {})
    if not revoked:
        assert key.revoked_at is not None
        print(f"key #{key.id} ({key.role}, {key.principal!r}) was already revoked on "
              f"{key.revoked_at.isoformat(timespec='seconds')}; nothing changed")
        return 0
    print(f"revoked key #{key.id} ({key.role}, {key.principal!r})")
    return 0


def _serve_api(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app

    app = create_app(settings)
    base = f"http://{args.host}:{args.port}"
    log.info("civicpulse API on %s — docs at %s/docs, register at %s/api/v1/deployments", base, base, base)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False)
    return 0


def _host_bot(settings: Settings, args: argparse.Namespace, *, with_api: bool) -> int:
    """Run the bot (and the outbox sender), with the API in the same process for `serve`."""
    import asyncio

    from bot import runner

    emulator = None
    base_url = settings.telegram_api_url
    if settings.telegram_token is None and base_url is None:
        if with_api:
            from bot.emulator import Emulator, EmulatorServer

            emulator = EmulatorServer(Emulator(username=(settings.bot_username or "civicpulse_bot").lstrip("@"),
                                               state_file=EMULATOR_STATE), port=settings.emulator_port).start()
            base_url = emulator.bot_api_url
            log.info("no CIVICPULSE_TELEGRAM_TOKEN: the bot talks to the local Bot API emulator at %s; chat with "
                     "it as a resident in another terminal: civicpulse chat --url %s", emulator.base_url,
                     emulator.base_url)
        else:
            base_url = f"http://127.0.0.1:{settings.emulator_port}/bot"
            log.info("no CIVICPULSE_TELEGRAM_TOKEN: using the emulator at %s (start it with `civicpulse emulator`)",
                     base_url)
    app = None
    if with_api:
        from api.app import create_app

        app = create_app(settings)
        base = f"http://{args.host}:{args.port}"
        log.info("civicpulse API on %s — docs at %s/docs, register at %s/api/v1/deployments", base, base, base)
    from telegram.error import InvalidToken, NetworkError

    try:
        asyncio.run(runner.run(settings, _database(settings), base_url=base_url, asgi_app=app, host=args.host,
                               port=args.port))
    except (InvalidToken, NetworkError) as exc:
        # Start-up asks the Bot API who the bot is; past that, the bot rides out network errors itself.
        print(f"civicpulse: {_bot_api_problem(settings, base_url, exc)}", file=sys.stderr)
        return 1
    finally:
        if emulator is not None:
            emulator.stop()
    return 0


def _bot_api_problem(settings: Settings, base_url: str | None, exc: Exception) -> str:
    """Why the bot could not start on its Bot API, in one line that never holds the token."""
    from telegram.error import InvalidToken

    url = base_url or "https://api.telegram.org/bot"
    token = settings.telegram_token.get_secret_value() if settings.telegram_token else None
    reason = str(exc).replace(token, "***") if token else str(exc)
    if isinstance(exc, InvalidToken):
        return f"the Bot API at {url} refused CIVICPULSE_TELEGRAM_TOKEN: {reason}"
    hint = ("start `civicpulse emulator` or check CIVICPULSE_TELEGRAM_API_URL" if base_url
            else "check the network, or set CIVICPULSE_TELEGRAM_API_URL")
    return f"no Bot API at {url}: {reason} ({hint})"


def cmd_jobs_list(settings: Settings, args: argparse.Namespace) -> int:
    from bot.scheduler import next_run
    from core import jobs, lease
    from core.models import utcnow

    now = utcnow()
    database = _database(settings)
    with database.reading() as session:
        runs = jobs.last_runs(session)
        holder = lease.holder(session, now=now)
    zone = settings.zone
    print(f"{'job':20}  {'schedule':32}  {'last run':26}  {'status':7}  {'next run':26}  what it did")
    for name, job in jobs.JOBS.items():
        last = runs.get(name)
        upcoming = next_run(job, zone, now, last.started_at if last else None)
        did = ", ".join(f"{k} {v}" for k, v in last.detail.items()) if last else ""
        print(f"{name:20}  {job.schedule + ' ' + zone.key if job.trigger == 'cron' else job.schedule:32}  "
              f"{last.started_at.astimezone(zone).isoformat(timespec='seconds') if last else '-':26}  "
              f"{last.status if last else '-':7}  "
              f"{upcoming.astimezone(zone).isoformat(timespec='seconds') if upcoming else '-':26}  {did}")
    if holder is None:
        print("schedule lease: free (no bot process is running the schedule)")
    else:
        print(f"schedule lease: held by {holder.owner} until "
              f"{holder.expires_at.astimezone(zone).isoformat(timespec='seconds')}")
    return 0


def cmd_jobs_run(settings: Settings, args: argparse.Namespace) -> int:
    from core import jobs
    from core.models import utcnow

    now = utcnow()
    database = _database(settings)
    try:
        with database.transaction() as session:
            outcome, _ = jobs.run(session, args.name, now=now, context=jobs.JobContext.from_settings(settings),
                                  trigger="manual", week=args.week)
    except DomainError:
        raise
    except Exception as exc:
        with database.transaction() as session:
            jobs.record_failure(session, args.name, now=now, trigger="manual", error=type(exc).__name__)
        raise
    did = ", ".join(f"{k} {v}" for k, v in outcome.counts.items())
    print(f"{args.name}: {did or 'nothing to do'}; {len(outcome.messages)} messages queued"
          + (f" ({outcome.note})" if outcome.note else ""))
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    return _host_bot(settings, args, with_api=True)


def cmd_api(settings: Settings, args: argparse.Namespace) -> int:
    return _serve_api(settings, args)


def cmd_bot(settings: Settings, args: argparse.Namespace) -> int:
    return _host_bot(settings, args, with_api=False)


EMULATOR_LIMITS = ("Limits as Telegram applies them: a per-chat token bucket is always on (about 1 message/s "
                   "sustained, bursts allowed; a 429 carries retry_after); Telegram's global ~30 messages/s for "
                   "bulk sending applies only with --global-limit.")
EMULATOR_STATE = Path("var") / "emulator-state.json"
QR_EMULATOR_TOKEN = "1:emulator"  # noqa: S105 - the emulator accepts any <digits>:<text> token


def cmd_emulator(settings: Settings, args: argparse.Namespace) -> int:
    if settings.is_production:
        print("civicpulse emulator: refusing to start: the emulator never runs in production", file=sys.stderr)
        return EXIT_USAGE
    from bot.emulator import run

    port = args.port if args.port is not None else settings.emulator_port
    base = f"http://{args.host}:{port}"
    print(f"Bot API emulator on {base} — the bot's CIVICPULSE_TELEGRAM_API_URL is {base}/bot", flush=True)
    print(f"chat with the bot as a resident: civicpulse chat --url {base}", flush=True)
    print(EMULATOR_LIMITS + (" Global limit: on." if args.global_limit else ""), flush=True)
    run(host=args.host, port=port, global_limit=args.global_limit, per_chat_rate=args.per_chat_rate,
        per_chat_burst=args.per_chat_burst, username=(settings.bot_username or "civicpulse_bot").lstrip("@"),
        state_file=EMULATOR_STATE)
    return 0


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    from bot.chat import HELP, chat_loop, typed_lines
    from bot.emulator_client import EmulatorClient

    url = args.url or f"http://127.0.0.1:{settings.emulator_port}"
    interactive = sys.stdin.isatty()
    with EmulatorClient(url) as client:
        if interactive:
            print(f"chatting with the bot at {url} as user {args.user_id}; Ctrl-D or !quit leaves\n{HELP}")
        lines = typed_lines() if interactive else sys.stdin
        return chat_loop(client, user_id=args.user_id, lines=lines, language=args.language, follow=interactive)


def cmd_qr(settings: Settings, args: argparse.Namespace) -> int:
    from bot.qr import QrError, bot_username, deep_link, deep_link_payload, write_qr

    try:
        payload = deep_link_payload(args.code)
    except QrError as exc:
        print(f"civicpulse qr: {exc}", file=sys.stderr)
        return EXIT_USAGE
    token = settings.telegram_token.get_secret_value() if settings.telegram_token else QR_EMULATOR_TOKEN
    api_url = settings.telegram_api_url
    if api_url is None and settings.telegram_token is None:
        api_url = f"http://127.0.0.1:{settings.emulator_port}/bot"
    try:
        username = bot_username(configured=settings.bot_username, api_url=api_url, token=token)
    except QrError as exc:
        print(f"civicpulse qr: {exc}", file=sys.stderr)
        return 1
    from core import files

    link = deep_link(username, payload)
    path = Path(args.output or f"{payload}.png")
    with files.replacing(path) as target:
        write_qr(link, target)
    print(f"{path}: {link}")
    return 0


# Verbs that work without a database at this version's schema (`db upgrade` is how it gets there).
SCHEMA_FREE = frozenset({"db", "analyze", "emulator", "chat", "qr"})


def _schema_problem(settings: Settings) -> str | None:
    """Why the database cannot serve this version (unreachable, empty, behind or ahead), or None."""
    from sqlalchemy.exc import SQLAlchemyError

    from core.db import missing_sqlite_file
    from core.schema import revision_problem

    # Opening a SQLite file that is not there would create it (and its folders), empty: a typo leaves litter.
    if (missing := missing_sqlite_file(settings.database_url)) is not None:
        return (f"there is no database file {missing}: run `civicpulse db upgrade` to create it, or check "
                f"CIVICPULSE_DATABASE_URL ({_safe_url(settings.database_url)})")
    database = _database(settings)
    try:
        with database.reading() as session:
            problem = revision_problem(session.connection())
    except SQLAlchemyError as exc:
        return f"cannot reach the database at {_safe_url(settings.database_url)}: {type(exc).__name__}"
    finally:
        database.dispose()
    return None if problem is None else f"{problem} ({_safe_url(settings.database_url)})"


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _port(text: str) -> int:
    """A TCP port for argparse: 1 to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1 to 65535, not {port}")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="civicpulse", description="Community feedback for smart-city deployments.")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    def verb(name: str, help_: str, func: Callable[[Settings, argparse.Namespace], int] | None = None
             ) -> argparse.ArgumentParser:
        p = verbs.add_parser(name, help=help_, description=help_)
        if func:
            p.set_defaults(func=func)
        return p

    db = verb("db", "database schema").add_subparsers(dest="action", required=True, metavar="ACTION")
    up = db.add_parser("upgrade", help="apply the migrations (creates the SQLite file and its folders)")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=cmd_db_upgrade)

    seed = verb("seed", "seed data").add_subparsers(dest="action", required=True, metavar="WHAT")
    seed.add_parser("demo", help="the demo city of Riverton (idempotent)").set_defaults(func=cmd_seed_demo)

    for name, help_, func, port in (
            ("serve", "run the API, the resident bot and the outbox sender in one process (without "
             "CIVICPULSE_TELEGRAM_TOKEN it also starts the local Bot API emulator)", cmd_serve, 8000),
            ("api", "run the API alone (never the bot or its webhook)", cmd_api, 8000),
            ("bot", "run the resident bot and the outbox sender (long polling; with CIVICPULSE_WEBHOOK_URL, "
             "webhook mode serving /telegram/webhook on --host/--port)", cmd_bot, 8001)):
        p = verb(name, help_, func)
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=_port, default=port)

    analyze = verb("analyze", "analyse a text as intake would and print one JSON object", cmd_analyze)
    analyze.add_argument("text")
    analyze.add_argument("--language", choices=["en", "es"], help="the resident's language (prior for short texts)")

    dep = verb("deployments", "the deployment register").add_subparsers(dest="action", required=True,
                                                                      metavar="ACTION")
    imp = dep.add_parser("import", help="import a CSV or GeoJSON file (upsert by code; exit 1 if a row was rejected)")
    imp.add_argument("file")
    imp.set_defaults(func=cmd_deployments_import)
    exp = dep.add_parser("export", help="export the register (standard output unless --output)")
    exp.add_argument("--format", choices=["csv", "geojson"], required=True)
    exp.add_argument("--output", help="write to this file instead of standard output")
    exp.set_defaults(func=cmd_deployments_export)

    dis = verb("districts", "the city's districts (GeoJSON polygons)").add_subparsers(dest="action", required=True,
                                                                                    metavar="ACTION")
    dis_imp = dis.add_parser("import", help="import a GeoJSON FeatureCollection of Polygons or MultiPolygons (upsert "
                             "by slug; deployments that follow their point are re-placed; exit 1 if a feature was "
                             "rejected)")
    dis_imp.add_argument("file")
    dis_imp.set_defaults(func=cmd_districts_import)
    dis_exp = dis.add_parser("export", help="export the districts as GeoJSON (standard output unless --output)")
    dis_exp.add_argument("--output", help="write to this file instead of standard output")
    dis_exp.set_defaults(func=cmd_districts_export)
    dis.add_parser("list", help="each district's slug, deployment count and names").set_defaults(
        func=cmd_districts_list)

    key = verb("apikey", "API keys").add_subparsers(dest="action", required=True, metavar="ACTION")
    create = key.add_parser("create", help="issue a key (printed alone on the last line)")
    create.add_argument("--role", choices=["admin", "staff", "organizer"], required=True)
    create.add_argument("--name", required=True, help="the principal the key belongs to")
    create.set_defaults(func=cmd_apikey_create)
    key.add_parser("list", help="list keys (never the secrets)").set_defaults(func=cmd_apikey_list)
    revoke = key.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(func=cmd_apikey_revoke)

    job_verbs = verb("jobs", "scheduled jobs (run by the bot process that holds the schedule's lease)"
                     ).add_subparsers(dest="action", required=True, metavar="ACTION")
    job_verbs.add_parser("list", help="each job, its schedule, last run and next run").set_defaults(func=cmd_jobs_list)
    run_job = job_verbs.add_parser("run", help="run one job now (the same code and idempotency as the schedule)")
    run_job.add_argument("name", choices=["weekly-digest", "pilot-reminders", "satisfaction-checks", "retention",
                                          "campaign-lifecycle", "housekeeping"])
    run_job.add_argument("--week", help="weekly-digest only: a completed ISO week such as 2026-W47")
    run_job.set_defaults(func=cmd_jobs_run)

    emu = verb("emulator", "run the local Telegram Bot API emulator (development and demos; never in production)",
               cmd_emulator)
    emu.description = f"{emu.description}. {EMULATOR_LIMITS}"
    emu.add_argument("--host", default="127.0.0.1")
    emu.add_argument("--port", type=_port, default=None, help="default CIVICPULSE_EMULATOR_PORT (8081)")
    emu.add_argument("--global-limit", action="store_true", help="also apply Telegram's ~30 messages/s bulk limit")
    emu.add_argument("--per-chat-rate", type=float, default=1.0, help="messages per second per chat (sustained)")
    emu.add_argument("--per-chat-burst", type=int, default=20, help="messages a chat may receive at once")
    chat = verb("chat", "talk to the bot as a resident, in this terminal, through the emulator", cmd_chat)
    chat.add_argument("--url", help="the emulator (default http://127.0.0.1:CIVICPULSE_EMULATOR_PORT)")
    chat.add_argument("--user-id", type=int, default=1001, help="your Telegram user id in the emulator")
    chat.add_argument("--language", choices=["en", "es"], help="your Telegram client's language")
    qr = verb("qr", "a PNG QR code of the bot's deep link to a deployment card (AQ-017) or a campaign (c_<code>)",
              cmd_qr)
    qr.add_argument("code")
    qr.add_argument("--output", help="the PNG file (default CODE.png)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
    except ConfigurationError as exc:
        for line in exc.problems:
            print(f"civicpulse: invalid settings: {line}", file=sys.stderr)
        return EXIT_USAGE
    from asgi_correlation_id import CorrelationIdFilter

    from core.logging_setup import configure

    configure(json_logs=settings.is_production, request_ids=CorrelationIdFilter(default_value="-"))
    if args.verb not in SCHEMA_FREE and (problem := _schema_problem(settings)) is not None:
        print(f"civicpulse: {problem}", file=sys.stderr)
        return 1
    from core.files import UnusableOutput

    try:
        result: int = args.func(settings, args)
        with _standard_output():
            sys.stdout.flush()  # a full disk under standard output shows here, not as Python's complaint at exit
    except DomainError as exc:
        print(f"civicpulse: {exc.reason}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, UnusableOutput) else 1
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); stop quietly like other Unix tools.
        sys.stderr.close()
        return 0
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if exc.filename:  # a file the command reads (an import file it may not open, say)
            print(f"civicpulse: {exc.filename}: {reason}", file=sys.stderr)
            return 1
        # A report longer than the buffer, printed to standard output on a full disk.
        _discard_stdout()
        print(f"civicpulse: could not write standard output: {reason}", file=sys.stderr)
        return 1
    return result


def _discard_stdout() -> None:
    """Point standard output at /dev/null, so what is still buffered for it does not fail again at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
