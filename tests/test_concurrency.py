"""SQLite under concurrency: several threads writing at once wait for each other instead of failing."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from core.db import Database
from core.models import Concern
from tests import builders

THREADS = 6
PER_THREAD = 15


def test_parallel_writers_all_succeed(database_url: str) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def writer(n: int) -> None:
        database = Database(database_url)
        try:
            start.wait()
            for i in range(PER_THREAD):
                with database.transaction() as s:
                    builders.concern(s, f"Writer {n} concern {i}: the camera on Elm Street")
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            database.dispose()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    database = Database(database_url)
    with database.reading() as s:
        assert s.scalar(select(func.count()).select_from(Concern)) == THREADS * PER_THREAD
    database.dispose()
