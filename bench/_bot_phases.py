"""`civicpulse bot` with phase timers, for bench/bot.py's profile: where an update's time goes, inside the bot process.

Runs the CLI's `bot` verb unchanged after wrapping (in this process only, nothing on disk changes):
  * on_private — one update, from the handler's start to its last reply;
  * BotContext.run — the wait for a database thread (the bot's own executor) and the transaction on it;
  * Services.handle — the whole transaction on the worker thread (wall and the thread's own CPU time);
  * core.conversation.handle — the conversation inside it; core.nlp.analyze — the NLP;
  * SQL — every cursor execute (SQLite's "BEGIN IMMEDIATE", where lock waits show, apart) and the DBAPI commit;
  * CallbackQuery.answer, send_replies, and inside ChatRateLimiter the HTTP call apart from the limiter's wait;
  * CPU time of the event-loop thread and of the other threads (from /proc), and the process's.
At exit (SIGTERM) the totals go as JSON to the file named by CIVICPULSE_BENCH_PHASES; with
CIVICPULSE_BENCH_PSTATS set, a cProfile of Services.handle (the database thread's work) goes to that file.

    CIVICPULSE_BENCH_PHASES=phases.json .venv/bin/python bench/_bot_phases.py   # then SIGTERM
"""

from __future__ import annotations

import asyncio
import atexit
import cProfile
import json
import os
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The project root before bench/ (the script's folder), where bench/bot.py would shadow the bot package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import telegram
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.engine.default import DefaultDialect

import bot.app as app
import civicpulse_cli
import core.conversation
import core.nlp
from bot.ratelimit import ChatRateLimiter

_lock = threading.Lock()
# name -> [count, wall seconds, thread CPU seconds]
TOTALS: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
MAIN_TID = threading.get_native_id()
STARTED: list[float] = []  # when the first update came: wall clock, process CPU, event-loop thread CPU


def _add(name: str, wall: float, cpu: float = 0.0) -> None:
    with _lock:
        entry = TOTALS[name]
        entry[0] += 1
        entry[1] += wall
        entry[2] += cpu


def _sync(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            _add(name, time.perf_counter() - wall, time.thread_time() - cpu)
    return wrapper


def _async(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not STARTED:
            STARTED.extend((time.perf_counter(), *_cpu()))
        wall = time.perf_counter()
        try:
            return await fn(*args, **kwargs)
        finally:
            _add(name, time.perf_counter() - wall)
    return wrapper


async def _run(self: app.BotContext, env: Any, ev: Any) -> Any:
    called = time.perf_counter()

    def job() -> Any:
        _add("worker-thread wait (the bot's database threads)", time.perf_counter() - called)
        return self.services.handle(env, ev)

    # The bot's own executor (one thread on SQLite), as BotContext.run uses it.
    return await asyncio.get_running_loop().run_in_executor(self.services.executor, job)


# Thread CPU time, not wall: a C call that releases the GIL would otherwise count the wait to take it back.
PROFILE = cProfile.Profile(time.thread_time)


def _profiled(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Profile fn's calls (cProfile follows the calling thread: here the database thread)."""
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        PROFILE.enable()
        try:
            return fn(*args, **kwargs)
        finally:
            PROFILE.disable()
    return wrapper


_process_request = ChatRateLimiter.process_request


async def _limited(self: ChatRateLimiter, callback: Any, args: Any, kwargs: Any, endpoint: str, data: Any,
                   rate_limit_args: Any) -> Any:
    async def http(*a: Any, **k: Any) -> Any:
        t = time.perf_counter()
        try:
            return await callback(*a, **k)
        finally:
            _add(f"HTTP {endpoint} (PTB request + emulator)", time.perf_counter() - t)

    t = time.perf_counter()
    try:
        return await _process_request(self, http, args, kwargs, endpoint, data, rate_limit_args)
    finally:
        _add("rate limiter + HTTP (all Bot API calls)", time.perf_counter() - t)


@event.listens_for(Engine, "before_cursor_execute")
def _before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    conn.info["bench_t"] = (time.perf_counter(), time.thread_time())


@event.listens_for(Engine, "after_cursor_execute")
def _after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    wall, cpu = conn.info.pop("bench_t", (time.perf_counter(), time.thread_time()))
    name = "SQL: BEGIN (IMMEDIATE) — SQLite lock waits" if statement.startswith("BEGIN") else "SQL: cursor execute"
    _add(name, time.perf_counter() - wall, time.thread_time() - cpu)


def _cpu() -> tuple[float, float]:
    """CPU seconds so far of the process and of its main (event-loop) thread."""
    with open(f"/proc/self/task/{MAIN_TID}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    times = os.times()
    return times.user + times.system, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _dump() -> None:
    out = os.environ.get("CIVICPULSE_BENCH_PHASES")
    if not out:
        return
    if os.environ.get("CIVICPULSE_BENCH_PSTATS"):
        PROFILE.dump_stats(os.environ["CIVICPULSE_BENCH_PSTATS"])
    process, main = _cpu()
    start = STARTED or [time.perf_counter(), 0.0, 0.0]
    # CPU from the first update to the exit (start-up left out); worker threads are gone by now, so "other" is
    # the process minus the event-loop thread.
    Path(out).write_text(json.dumps({
        "phases": {k: {"count": int(v[0]), "wall": v[1], "cpu": v[2]} for k, v in TOTALS.items()},
        "thread_cpu": {"event-loop thread": main - start[2],
                       "other threads (workers, sender)": (process - start[1]) - (main - start[2])},
        "process_cpu": process - start[1], "active_s": time.perf_counter() - start[0],
    }, indent=1))


def install() -> None:
    app.on_private = _async("on_private (one update, handler start to last reply)", app.on_private)
    app.BotContext.run = _async("BotContext.run (thread wait + transaction)", _run)  # type: ignore[method-assign]
    handle = _profiled(app.Services.handle) if os.environ.get("CIVICPULSE_BENCH_PSTATS") else app.Services.handle
    app.Services.handle = _sync("Services.handle (transaction on the worker thread)",  # type: ignore[method-assign]
                                handle)
    core.conversation.handle = _sync("conversation.handle (inside the transaction)", core.conversation.handle)
    core.nlp.analyze = _sync("nlp.analyze (NLP)", core.nlp.analyze)
    DefaultDialect.do_commit = _sync("SQL: COMMIT", DefaultDialect.do_commit)  # type: ignore[method-assign]
    app.send_replies = _async("send_replies (rate limiter + sendMessage)", app.send_replies)
    telegram.CallbackQuery.answer = _async("CallbackQuery.answer", telegram.CallbackQuery.answer)  # type: ignore
    ChatRateLimiter.process_request = _limited  # type: ignore[method-assign]
    atexit.register(_dump)


if __name__ == "__main__":
    install()
    sys.exit(civicpulse_cli.main(["bot"]))
