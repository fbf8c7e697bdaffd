"""Benchmark the resident bot end to end: updates/s from the emulator through `civicpulse bot`, the database, back.

2,000 residents (--quick: 200) with scripts drawn from a fixed seed: about 60 % of the updates are look-ups and
questions, 30 % concern-flow steps, 10 % other (/start and consent, /help, /mine, /following, a location). Every
update is enqueued in the local Bot API emulator (`civicpulse emulator`, its own process; per-chat bucket on at its
defaults, global bulk limit off) *before* the bot starts, so the driver's HTTP cost is outside the measurement.
Then the bot process starts and long-polls; the clock runs from its first getUpdates to the last reply.

Compared, in the same run against the same emulator and the same updates (the emulator reset in between), with
bench/_echo_bot.py: the same PTB Application (PerChatUpdateProcessor, ChatRateLimiter, pool, long polling) whose
only handler sends one fixed text; no database, no NLP. Targets: >= 50 % of its rate, >= 150 updates/s on SQLite,
peak RSS of the `civicpulse bot` process <= 300 MB.

    .venv/bin/python bench/bot.py [--quick] [--residents 2000] [--database-url URL] [--postgres URL] [--profile]
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pstats
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The project root before bench/ (the script's folder): there `import bot` finds this file, not the bot package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as c
import _texts
import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.emulator_client import EmulatorClient
from core.conversation.find import match_intent

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TARGET_SHARE = 0.50
TARGET_PER_S = 150.0
TARGET_RSS_MB = 300.0
QUIET_S = 2.0  # the run is over when no reply came for this long and no update is pending
POLL_S = 0.05
USER_ID_BASE = 880_000_000
ELM = (45.4907, -73.6395)
ERROR_TEXTS = ("Something went wrong", "Algo falló")  # prompts: error-unexpected(-saved), en and es
FLOW_EXPIRED = ("That step is over", "Ese paso")

QUESTIONS = {
    "en": ["who sees the data?", "How long is the footage kept?", "what is it for?", "who is responsible for this?",
           "does it record faces?", "where is the data stored?", "when does the pilot end?",
           "which company made it?", "who can see the data?", "how long do you keep it?", "Is it recording me?"],
    "es": ["¿quién ve los datos?", "¿cuánto tiempo guardan los datos?", "¿para qué sirve?",
           "¿dónde se guardan los datos?", "¿quién es el responsable?", "¿graba caras?", "¿cuándo termina el piloto?",
           "¿quién tiene acceso?"],
}
# Questions the record cannot answer: stored as concerns of kind "question" for staff.
UNANSWERABLE = {
    "en": ["can I get a copy of the video of my car?", "is this legal in our province?",
           "will there be more of these next year?"],
    "es": ["¿puedo pedir una copia del video de mi coche?", "¿esto es legal en nuestra provincia?"],
}
SEARCHES = {
    "en": ["camera on Elm street", "air quality sensor", "bike counter", "noise sensor near the park",
           "smart streetlight", "parking sensor", "traffic signal", "wifi hotspot", "cameras downtown"],
    "es": ["cámara en la calle Elm", "sensor de calidad del aire", "contador de bicicletas", "sensor de ruido",
           "semáforo", "cámaras del centro"],
}
CATEGORIES = ("privacy", "surveillance", "retention", "access_sharing", "equity", "usefulness", "safety", "noise",
              "accessibility", "cost", "environment", "other")


# --- the residents' scripts ---------------------------------------------------------------------------------------


@dataclass
class Step:
    kind: str  # text | callback | location
    value: Any  # the text, the callback data, or (lat, lon)
    group: str  # lookup | concern | other
    at: float = 0.0  # virtual seconds: the order of the queue


@dataclass
class Script:
    user_id: int
    language: str
    steps: list[Step] = field(default_factory=list)
    flows: int = 0  # concern flows that end in "ok"
    questions_stored: int = 0  # unanswerable questions (stored as kind "question")


def _code_variant(rng: random.Random, code: str) -> str:
    head, num = code.split("-")
    return rng.choice([code, code, code.lower(), f"{head} {num}", f"{head.lower()}{num}"])


def _script(rng: random.Random, user_id: int, codes: list[str], concern_texts: Iterator[str]) -> Script:
    lang = "es" if rng.random() < 0.3 else "en"
    s = Script(user_id, lang)

    def add(kind: str, value: Any, group: str) -> None:
        s.steps.append(Step(kind, value, group))

    def question(group: str = "lookup") -> None:
        q = rng.choice(UNANSWERABLE[lang]) if rng.random() < 0.08 else rng.choice(QUESTIONS[lang])
        if match_intent(q, lang) is None:
            s.questions_stored += 1
        add("text", q, group)

    consented = False
    if rng.random() < 0.06:  # came from a QR code or the bot's link: /start, then the consent button
        add("text", "/start", "other")
        add("callback", "y:", "other")
        consented = True
    last_code = rng.choice(codes)
    for _ in range(1 + (rng.random() < 0.6)):
        kind = rng.random()
        if kind < 0.55:  # type the code on the sign (or follow a deep link), then ask about it
            last_code = rng.choice(codes)
            if rng.random() < 0.1:
                add("text", f"/start {last_code}", "lookup")
            else:
                add("text", _code_variant(rng, last_code), "lookup")
            for _ in range(rng.choice((0, 1, 1, 2, 2))):
                question()
        elif kind < 0.75:  # the card's "Ask" button, then the question
            last_code = rng.choice(codes)
            add("text", _code_variant(rng, last_code), "lookup")
            add("callback", f"q:{last_code}", "lookup")
            question()
        elif kind < 0.92:  # plain words, then a result
            add("text", rng.choice(SEARCHES[lang]), "lookup")
            last_code = rng.choice(codes)
            add("callback", f"c:{last_code}", "lookup")
        else:  # a location, then one of the nearby devices
            add("location", (ELM[0] + rng.uniform(-0.02, 0.02), ELM[1] + rng.uniform(-0.02, 0.02)), "other")
            last_code = rng.choice(codes)
            add("callback", f"c:{last_code}", "lookup")
    if rng.random() < 0.30:
        used: set[str] = set()
        for n in range(1 + (rng.random() < 0.2)):
            code = last_code if n == 0 else rng.choice([x for x in codes if x not in used])
            used.add(code)
            add("callback", f"r:{code}", "concern")
            if not consented:  # the bot asks for consent first; its button carries the pending step
                add("callback", f"y:r:{code}", "other")
                consented = True
            add("text", next(concern_texts), "concern")
            add("callback", f"k:{rng.choice(CATEGORIES)}", "concern")
            add("callback", f"e:{rng.randint(0, 5)}", "concern")
            add("callback", "ok", "concern")
            s.flows += 1
    extra = rng.random()
    if extra < 0.03:
        add("text", "/help", "other")
    elif extra < 0.05 and consented:
        add("text", "/mine", "other")
    elif extra < 0.07:
        add("text", "/following", "other")
    elif extra < 0.10:
        add("location", (ELM[0] + rng.uniform(-0.02, 0.02), ELM[1] + rng.uniform(-0.02, 0.02)), "other")
    return s


def build_scripts(residents: int, codes: list[str], seed: int) -> list[Script]:
    """Residents' scripts; each step gets a place in the queue (see queue_order)."""
    rng = random.Random(seed)
    concern_texts = iter(_texts.texts(residents, seed + 7))
    scripts = [_script(rng, USER_ID_BASE + i, codes, concern_texts) for i in range(residents)]
    for s in scripts:
        n = len(s.steps)
        for j, step in enumerate(s.steps):
            # Step j of n falls at a random point of the j-th n-th of the run: every conversation spans the whole
            # queue, so a resident's steps are never back to back, and no tail of long scripts is left at the end.
            step.at = (j + rng.random()) / n
    return scripts


def queue_order(scripts: list[Script]) -> list[tuple[Script, Step]]:
    return sorted(((s, st) for s in scripts for st in s.steps), key=lambda pair: pair[1].at)


# --- processes -------------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def base_env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPULSE_")}
    env.update(CIVICPULSE_SECRET_KEY="bench-" + "k" * 40, CIVICPULSE_ENVIRONMENT="development",
               CIVICPULSE_DATABASE_URL=f"sqlite:///{work / 'unused.db'}", PYTHONUNBUFFERED="1")
    return env


def start(cmd: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    return subprocess.Popen(cmd, env=env, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def proc_status_kb(pid: int, key: str) -> int:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


@contextlib.contextmanager
def pg_scratch(url: str) -> Iterator[str]:
    """A fresh PostgreSQL database cp_bench_bot_<pid> on the server of `url`, dropped afterwards."""
    import psycopg

    u = make_url(url)
    name = f"{c.SCRATCH_PREFIX}_bot_{os.getpid()}"

    def admin(sql: str) -> None:
        with psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password,
                             dbname="postgres", autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql)

    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{name}"')
    try:
        yield u.set(database=name).render_as_string(hide_password=False)
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- one run ---------------------------------------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    updates: int
    seconds: float
    enqueue_s: float
    first_reply_s: float
    peak_rss_mb: float
    stats: dict[str, Any]
    replies: int
    error_replies: int
    expired_replies: int
    unanswered_updates: int
    log_errors: int
    concerns: int = 0
    questions: int = 0

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    def errors(self, code: str) -> int:
        return int(self.stats.get("errors", {}).get(code, 0))


def enqueue(client: EmulatorClient, order: list[tuple[Script, Step]]) -> None:
    """Put every update in the emulator's queue: texts and locations as residents send them, presses as raw updates.

    A press carries the button's data and a stand-in bot message of the resident's chat (the chat exists: every
    script starts with a message). Its callback query id is unknown to the emulator, so the bot's
    answerCallbackQuery gets a 400, which the bot logs and ignores (one HTTP round trip, as a real answer costs).
    """
    now = int(time.time())
    for n, (s, step) in enumerate(order):
        if step.kind == "text":
            client.say(s.user_id, step.value, language_code=s.language)
        elif step.kind == "location":
            client.send_location(s.user_id, *step.value, language_code=s.language)
        else:
            user = {"id": s.user_id, "is_bot": False, "first_name": f"Resident {s.user_id}",
                    "language_code": s.language}
            message = {"message_id": 1, "date": now, "text": "…",
                       "from": {"id": 7000000001, "is_bot": True, "first_name": "civicpulse"},
                       "chat": {"id": s.user_id, "type": "private", "first_name": f"Resident {s.user_id}"}}
            client.raw_update({"callback_query": {"id": f"bench-{n}", "from": user, "message": message,
                                                  "chat_instance": str(s.user_id), "data": step.value}})


def measure(label: str, cmd: list[str], env: dict[str, str], work: Path, client: EmulatorClient,
            order: list[tuple[Script, Step]], scripts: list[Script]) -> Run:
    client.reset()
    t = time.perf_counter()
    enqueue(client, order)
    enqueue_s = time.perf_counter() - t
    before = client.stats()
    if before["pending_updates"] != len(order):
        raise SystemExit(f"{label}: {before['pending_updates']} updates pending, {len(order)} enqueued")
    log = work / f"{label}.log"
    proc = start(cmd, env, work, log)
    try:
        deadline = time.monotonic() + 120
        while not client.stats()["calls"].get("getUpdates"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{label} did not start polling; see its log:\n{log.read_text()[-3000:]}")
            time.sleep(0.01)
        t0 = time.perf_counter()
        last_sent, t_last, first_reply = 0, t0, 0.0
        deadline = time.monotonic() + 3600
        while True:
            time.sleep(POLL_S)
            stats = client.stats()
            now = time.perf_counter()
            if stats["messages_sent"] != last_sent:
                if not last_sent:
                    first_reply = now - t0
                last_sent, t_last = stats["messages_sent"], now
            if stats["pending_updates"] == 0 and last_sent and now - t_last >= QUIET_S:
                break
            if proc.poll() is not None:
                raise SystemExit(f"{label} exited during the run; see its log:\n{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise SystemExit(f"{label}: no end after an hour ({stats['messages_sent']} replies)")
        peak_kb = proc_status_kb(proc.pid, "VmHWM")
    finally:
        stop(proc)
    replies = error_replies = expired = unanswered = 0
    for s in scripts:
        bot_texts = [m.get("text") or "" for m in client.messages(s.user_id) if m["from"] == "bot"]
        replies += len(bot_texts)
        error_replies += sum(any(e in m for e in ERROR_TEXTS) for m in bot_texts)
        expired += sum(any(e in m for e in FLOW_EXPIRED) for m in bot_texts)
        unanswered += max(0, len(s.steps) - len(bot_texts))
    lines = log.read_text(errors="replace").splitlines()
    log_errors = sum(" ERROR " in line for line in lines)
    if log_errors:  # the log goes with the scratch folder: show the first error and its traceback
        first = next(i for i, line in enumerate(lines) if " ERROR " in line)
        print(f"-- {label}: first of {log_errors} ERROR lines in its log:", *lines[first:first + 30], sep="\n")
    return Run(label, len(order), t_last - t0, enqueue_s, first_reply, peak_kb / 1024, stats, replies,
               error_replies, expired, unanswered, log_errors)


def db_counts(target: c.Target) -> tuple[int, int]:
    with target.db.reading() as s:
        rows = dict(s.execute(text("SELECT kind, count(*) FROM concern GROUP BY kind")).all())
    return int(rows.get("concern", 0)), int(rows.get("question", 0))


def seed(url: str, env: dict[str, str], work: Path) -> None:
    """Seed the demo city with the CLI, as a deployment would (the schema is already made by open_target)."""
    done = subprocess.run([str(BIN / "civicpulse"), "seed", "demo"], env={**env, "CIVICPULSE_DATABASE_URL": url},
                          cwd=work, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"civicpulse seed demo failed:\n{done.stdout}\n{done.stderr}")


def codes_of(target: c.Target) -> list[str]:
    with target.db.reading() as s:
        return sorted(s.execute(text("SELECT code FROM deployment")).scalars())


def profile_run(target: c.Target, env: dict[str, str], work: Path, client: EmulatorClient,
                order: list[tuple[Script, Step]], scripts: list[Script], api_url: str) -> None:
    """Run the bot again with phase timers on a fresh database of the same kind, and print where the time went."""
    with contextlib.ExitStack() as stack:
        if target.is_sqlite:
            fresh = stack.enter_context(c.open_target(None))
        else:
            fresh = stack.enter_context(c.open_target(stack.enter_context(pg_scratch(target.url))))
        seed(fresh.url, env, work)
        out = work / "phases.json"
        pstats_file = work / "handle.pstats"
        phase_env = {**env, "CIVICPULSE_DATABASE_URL": fresh.url, "CIVICPULSE_TELEGRAM_API_URL": api_url,
                     "CIVICPULSE_BENCH_PHASES": str(out), "CIVICPULSE_BENCH_PSTATS": str(pstats_file)}
        run = measure(f"bot-phases-{fresh.backend}", [sys.executable, str(ROOT / "bench" / "_bot_phases.py")],
                      phase_env, work, client, order, scripts)
        print_phases(run, json.loads(out.read_text()))
        print_handle_profile(pstats_file)


# --- the report ------------------------------------------------------------------------------------------------------


def report(target: c.Target, bot: Run, base: Run, scripts: list[Script], mix: Counter[str],
           callbacks: int, notes_extra: list[str]) -> None:
    share = bot.rate / base.rate
    sqlite = target.is_sqlite
    expected_flows = sum(s.flows for s in scripts)
    expected_questions = sum(s.questions_stored for s in scripts)
    rows = [
        c.Row("bot: updates end to end", bot.rate, "updates/s", f"{share:.0%} of the fixed-text bot",
              f">= {TARGET_PER_S:.0f}/s" if sqlite else "(reported)",
              c.verdict(bot.rate >= TARGET_PER_S) if sqlite else ""),
        c.Row("bot / fixed-text bot", share * 100, "%", f"{share:.2f}x", f">= {TARGET_SHARE:.0%}",
              c.verdict(share >= TARGET_SHARE)),
        c.Row("fixed-text bot (same PTB setup)", base.rate, "updates/s", "1.00x (floor)"),
        c.Row("bot: seconds for all updates", bot.seconds, "s", f"{bot.updates:,} updates, {bot.replies:,} replies"),
        c.Row("fixed-text bot: seconds", base.seconds, "s", f"{base.updates:,} updates, {base.replies:,} replies"),
        c.Row("bot: peak RSS (VmHWM)", bot.peak_rss_mb, "MB", f"fixed-text bot {base.peak_rss_mb:.0f} MB",
              f"<= {TARGET_RSS_MB:.0f} MB", c.verdict(bot.peak_rss_mb <= TARGET_RSS_MB)),
        c.Row("bot: per update", bot.seconds / bot.updates * 1000, "ms",
              f"fixed-text bot {base.seconds / base.updates * 1000:.2f} ms"),
        c.Row("429s from the emulator", bot.errors("429"), "count", f"fixed-text bot {base.errors('429')}", "0",
              c.verdict(bot.errors("429") == 0)),
        c.Row("concerns stored / concern flows", bot.concerns, "count", f"expected {expected_flows}",
              f"= {expected_flows}", c.verdict(bot.concerns == expected_flows)),
        c.Row("questions stored for staff", bot.questions, "count", f"expected {expected_questions}",
              f"= {expected_questions}", c.verdict(bot.questions == expected_questions)),
        c.Row("error replies (\"Something went wrong\")", bot.error_replies, "count",
              f"{bot.log_errors} ERROR lines in the bot's log", "0", c.verdict(bot.error_replies == 0)),
        c.Row("updates left without a reply", bot.unanswered_updates, "count",
              f"fixed-text bot {base.unanswered_updates}", "0", c.verdict(bot.unanswered_updates == 0)),
        c.Row("\"that step is over\" replies", bot.expired_replies, "count", "a script out of step if > 0", "0",
              c.verdict(bot.expired_replies == 0)),
    ]
    total = sum(mix.values())
    calls = bot.stats.get("calls", {})
    notes = [
        f"{len(scripts):,} residents, {total:,} updates: look-ups and questions {mix['lookup'] / total:.1%}, "
        f"concern-flow steps {mix['concern'] / total:.1%}, other {mix['other'] / total:.1%}; {expected_flows} concern "
        f"flows; {callbacks:,} button presses (raw callback_query updates)",
        "emulator: its own process, per-chat bucket on (1 msg/s sustained, burst 20), global 30/s bulk limit OFF; "
        "all updates enqueued before each bot started; clock from its first getUpdates to its last reply "
        f"(end = nothing pending and no reply for {QUIET_S:.0f} s)",
        "bot's Bot API calls: " + ", ".join(f"{k} {v:,}" for k, v in sorted(calls.items())) +
        f"; HTTP errors {json.dumps(bot.stats.get('errors', {}))} (the 400s are answerCallbackQuery of the "
        "stand-in query ids)",
        f"first reply after {bot.first_reply_s:.2f} s (bot) / {base.first_reply_s:.2f} s (fixed-text); enqueueing "
        f"took {bot.enqueue_s:.1f} s, outside the clock",
        *notes_extra,
    ]
    c.print_report("bot end to end", target, rows, notes)


# --- where the time goes ----------------------------------------------------------------------------------------------


def print_phases(run: Run, data: dict[str, Any]) -> None:
    phases = data["phases"]
    out = [f"-- where the bot's time goes: the same {run.updates:,} updates, a fresh database, the bot run as "
           f"bench/_bot_phases.py (phase timers on): {run.rate:.0f} updates/s, {run.seconds:.1f} s",
           f"   {'phase':<58} {'calls':>7} {'ms/call':>8} {'ms/update':>9} {'in flight':>9} {'thread CPU ms/call':>18}"]
    for name, v in sorted(phases.items(), key=lambda kv: -kv[1]["wall"]):
        calls = max(v["count"], 1)
        cpu = f"{v['cpu'] / calls * 1000:.2f}" if v["cpu"] else ""
        out.append(f"   {name:<58} {v['count']:>7,} {v['wall'] / calls * 1000:>8.2f} "
                   f"{v['wall'] / run.updates * 1000:>9.2f} {v['wall'] / run.seconds:>9.2f} {cpu:>18}")
    threads = data["thread_cpu"]
    out.append(f"   CPU of the bot process: {data['process_cpu']:.1f} s (from the first update) over "
               f"{run.seconds:.1f} s of run = {data['process_cpu'] / run.seconds:.2f} cores; " +
               ", ".join(f"{k} {v:.1f} s" for k, v in threads.items()) +
               f"; per update {data['process_cpu'] / run.updates * 1000:.2f} ms CPU")
    out.append("   (ms/update = total wall / updates; in flight = total wall / run seconds, the mean number of updates "
               "in that phase at once; phases nest and overlap)")
    print("\n".join(out), flush=True)


def print_handle_profile(path: Path, top: int = 25) -> None:
    """The database thread's work (Services.handle under cProfile): top functions by own time, and the project's
    own functions by cumulative time, in the thread's CPU time."""
    for order, restriction, what in (("tottime", "", "all functions by own time"),
                                     ("cumulative", f"^{ROOT}/(core|bot)/", "the project's functions, cumulative")):
        buffer = io.StringIO()
        stats = pstats.Stats(str(path), stream=buffer)
        stats.sort_stats(order).print_stats(*([restriction] if restriction else []), top)
        print(f"-- Services.handle under cProfile (CPU of the database thread; profiling slows it): "
              f"top {top}, {what}")
        print(buffer.getvalue().split("\n", 4)[-1].rstrip(), flush=True)


# --- main ------------------------------------------------------------------------------------------------------------


def main() -> None:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--residents", type=int, default=2000)
    p.add_argument("--postgres", default=None, metavar="URL",
                   help="also run the bot on PostgreSQL: a fresh database cp_bench_bot_<pid> on this server")
    p.add_argument("--profile", action="store_true", help="profile a bot run even when every target is met")
    args = p.parse_args()
    if args.quick:
        args.residents = 200

    backends: list[str | None] = [args.database_url]
    if args.postgres:
        backends.append(args.postgres)
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cp_bench_bot_")))
        env = base_env(work)
        port = free_port()
        emulator = start([str(BIN / "civicpulse"), "emulator", "--port", str(port)], env, work, work / "emulator.log")
        stack.callback(stop, emulator)
        client = stack.enter_context(EmulatorClient(f"http://127.0.0.1:{port}", timeout=30))
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                limits = client.stats()["limits"]
                break
            if emulator.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the emulator did not start:\n{(work / 'emulator.log').read_text()[-2000:]}")
            time.sleep(0.1)
        if limits["global_limit"]:
            raise SystemExit("the emulator's global limit is on; this benchmark keeps it off")
        api_url = f"http://127.0.0.1:{port}/bot"

        load = " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"
        scripts: list[Script] = []
        order: list[tuple[Script, Step]] = []
        base: Run | None = None
        for url in backends:
            with contextlib.ExitStack() as db_stack:
                if url is not None and make_url(url).get_backend_name() == "postgresql":
                    url = db_stack.enter_context(pg_scratch(url))
                target = db_stack.enter_context(c.open_target(url))
                seed(target.url, env, work)
                codes = codes_of(target)
                if not scripts:
                    scripts = build_scripts(args.residents, codes, args.seed)
                    order = queue_order(scripts)
                    base = measure("fixed-text", [sys.executable, str(ROOT / "bench" / "_echo_bot.py"), api_url],
                                   env, work, client, order, scripts)
                assert base is not None
                concerns0, questions0 = db_counts(target)
                bot_env = {**env, "CIVICPULSE_DATABASE_URL": target.url, "CIVICPULSE_TELEGRAM_API_URL": api_url}
                bot = measure(f"bot-{target.backend}", [str(BIN / "civicpulse"), "bot"], bot_env, work, client,
                              order, scripts)
                concerns1, questions1 = db_counts(target)
                bot.concerns, bot.questions = concerns1 - concerns0, questions1 - questions0
                mix = Counter(st.group for _, st in order)
                callbacks = sum(st.kind == "callback" for _, st in order)
                report(target, bot, base, scripts, mix, callbacks, [f"load average at the start: {load}"])
                missed = bot.rate / base.rate < TARGET_SHARE or bot.peak_rss_mb > TARGET_RSS_MB or (
                    target.is_sqlite and bot.rate < TARGET_PER_S)
                if missed or args.profile:
                    profile_run(target, env, work, client, order, scripts, api_url)


if __name__ == "__main__":
    main()
