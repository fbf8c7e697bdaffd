"""Shared helpers for the benchmark scripts: arguments, target database, machine facts, tables, timing."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from core.db import Database
from core.schema import upgrade

# A database whose name starts with this (or a temporary file made here) may be emptied by the scripts.
SCRATCH_PREFIX = "cp_bench"
BENCH_TABLES = ("concern_event", "staff_reply", "follow", "concern", "deployment")


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--database-url", default=None,
                   help="SQLAlchemy URL; default: a fresh temporary SQLite file (WAL, synchronous=NORMAL). "
                        f"A database that is not a temp file must be empty or be named {SCRATCH_PREFIX}*.")
    p.add_argument("--quick", action="store_true", help="small sizes for a smoke run (seconds)")
    p.add_argument("--seed", type=int, default=20261127, help="random seed")
    return p


def redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@dataclass
class Target:
    """The database under test: made with the project's Alembic migrations, emptied of earlier bench rows."""

    url: str
    db: Database
    temp_dir: str | None = None
    facts: dict[str, str] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.db.is_sqlite

    @property
    def backend(self) -> str:
        return "sqlite" if self.is_sqlite else self.db.engine.dialect.name

    def close(self) -> None:
        self.db.dispose()
        if self.temp_dir:
            shutil.rmtree(self.temp_dir, ignore_errors=True)


@contextmanager
def open_target(url: str | None) -> Iterator[Target]:
    temp_dir = None
    if url is None:
        temp_dir = tempfile.mkdtemp(prefix="cp_bench_")
        url = f"sqlite:///{os.path.join(temp_dir, 'bench.db')}"
    upgrade(url)
    target = Target(url, Database(url), temp_dir)
    try:
        _empty_bench_tables(target)
        target.facts = machine_facts(target)
        yield target
    finally:
        target.close()


def _scratch(target: Target) -> bool:
    if target.temp_dir:
        return True
    name = make_url(target.url).database or ""
    return os.path.basename(name).startswith(SCRATCH_PREFIX)


def _empty_bench_tables(target: Target) -> None:
    with target.db.reading() as s:
        counts = {t: s.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in BENCH_TABLES}
    if not any(counts.values()):
        return
    if not _scratch(target):
        raise SystemExit(f"refusing to empty {redacted(target.url)}: it holds rows ({counts}) and its name does "
                         f"not start with {SCRATCH_PREFIX!r}; give an empty or a scratch database")
    with target.db.transaction() as s:
        if target.is_sqlite:
            for t in BENCH_TABLES:
                s.execute(text(f"DELETE FROM {t}"))
        else:
            s.execute(text(f"TRUNCATE {', '.join(BENCH_TABLES)} RESTART IDENTITY CASCADE"))
    if target.is_sqlite:
        with target.db.engine.connect() as c:
            c.exec_driver_sql("VACUUM")


def machine_facts(target: Target) -> dict[str, str]:
    facts = {
        "cpus": str(os.cpu_count()),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "database": redacted(target.url),
    }
    with target.db.reading() as s:
        if target.is_sqlite:
            facts["journal_mode"] = s.execute(text("PRAGMA journal_mode")).scalar_one()
            facts["synchronous"] = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(
                s.execute(text("PRAGMA synchronous")).scalar_one(), "?")
        else:
            facts["server"] = s.execute(text("SHOW server_version")).scalar_one()
            facts["synchronous_commit"] = s.execute(text("SHOW synchronous_commit")).scalar_one()
    return facts


# --- figures -------------------------------------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def pct(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation between closest ranks."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


@dataclass
class Row:
    name: str
    value: float
    unit: str
    ratio: str = ""
    target: str = ""
    verdict: str = ""


def print_report(title: str, target: Target, rows: list[Row], notes: Sequence[str] = ()) -> None:
    out = sys.stdout
    out.write(f"\n== {title} [{target.backend}] ==\n")
    out.write("machine: " + ", ".join(f"{k}={v}" for k, v in target.facts.items()) + "\n")
    w = max(len(r.name) for r in rows)
    out.write(f"{'figure':<{w}}  {'value':>12} {'unit':<12} {'ratio':<34} {'target':<14} verdict\n")
    out.write(f"{'-' * w}  {'-' * 12} {'-' * 12} {'-' * 34} {'-' * 14} -------\n")
    for r in rows:
        value = f"{r.value:,.0f}" if abs(r.value) >= 100 else f"{r.value:.3f}"
        out.write(f"{r.name:<{w}}  {value:>12} {r.unit:<12} {r.ratio:<34} {r.target:<14} {r.verdict}\n")
    for note in notes:
        out.write(f"note: {note}\n")
    out.flush()


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


# --- raw values for bulk inserts -----------------------------------------------------------------------------------


def sqlite_datetime(moment: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores (UTC, naive), so the ORM reads bulk rows back unchanged."""
    return moment.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def sqlite_date(day: date) -> str:
    return day.isoformat()


def profile(fn: Callable[[], Any], *, top: int = 15, title: str = "profile",
            breakdown: Sequence[tuple[str, str, str]] = ()) -> str:
    """Run fn under cProfile; return the top entries by cumulative time, and the cumulative time of the
    functions named in breakdown ((label, file suffix, function name)) as a share of the whole."""
    import cProfile
    import io
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("cumulative").print_stats(top)
    lines = [ln for ln in buf.getvalue().splitlines() if ln.strip()]
    # Drop pstats' preamble up to the column header, keep the total line.
    header = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls"))
    total = next((ln.strip() for ln in lines if "function calls" in ln), "")
    out = [f"-- {title}: top {top} by cumulative time ({total})", *lines[header:]]
    if breakdown:
        whole = max(v[3] for v in stats.stats.values())  # type: ignore[attr-defined]
        out.append(f"-- {title}: where the time goes (cumulative, overlapping; whole = {whole:.3f} s)")
        for label, suffix, name in breakdown:
            cum = sum(v[3] for (file, _line, func), v in stats.stats.items()  # type: ignore[attr-defined]
                      if func == name and file.endswith(suffix))
            out.append(f"   {label:<44} {cum:8.3f} s  {cum / whole:6.1%}")
    return "\n".join(out)


def bulk_load(target: Target, table: str, columns: str, chunks: Iterable[Sequence[tuple[Any, ...]]]) -> None:
    """Load rows fast through the raw driver: one executemany transaction on SQLite, COPY on PostgreSQL.

    Afterwards PostgreSQL gets what autovacuum would give a freshly loaded table in production: statistics
    and the visibility map (VACUUM ANALYZE), so plans and index-only scans are realistic.
    """
    raw = target.db.engine.raw_connection()
    try:
        cur = raw.cursor()
        if target.is_sqlite:
            cur.execute("BEGIN IMMEDIATE")
            sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(columns.split(',')))})"
            for chunk in chunks:
                cur.executemany(sql, chunk)
            cur.execute("COMMIT")
        else:
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for chunk in chunks:
                    for row in chunk:
                        copy.write_row(row)
            raw.commit()
        cur.close()
    finally:
        raw.close()
    if not target.is_sqlite:
        with target.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"VACUUM ANALYZE {table}")
