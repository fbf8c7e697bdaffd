"""Logging: readable in development, JSON in production; never a token or a raw id."""

from __future__ import annotations

import logging
import re
import traceback

from pythonjsonlogger.json import JsonFormatter

# httpx and PTB log request URLs, which carry the bot token (/bot<token>/method).
TOKEN_IN_URL = re.compile(r"/bot\d+:[A-Za-z0-9_-]+")


class RedactTokens(logging.Filter):
    """Remove bot tokens from log records before any handler formats them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if TOKEN_IN_URL.search(message):
            record.msg = TOKEN_IN_URL.sub("/bot<token>", message)
            record.args = ()
        return True


def log_unexpected(logger: logging.Logger, message: str, exc: BaseException, *args: object) -> None:
    """Log an unexpected error by its type and where it happened, never its words.

    An exception's text can carry what a resident wrote, a pseudonym or a database's key detail
    (PostgreSQL's "Key (pseudonym)=(...) already exists"). `message` takes `args`, then the type name.
    """
    where = "\n".join(f"  {frame.filename}:{frame.lineno} in {frame.name}"
                      for frame in traceback.extract_tb(exc.__traceback__))
    logger.error(message + "\n%s", *args, type(exc).__name__, where)


def configure(*, json_logs: bool, level: int = logging.INFO, request_ids: logging.Filter | None = None) -> None:
    """Set up the root logger once for an entry point; request_ids adds `correlation_id` to each record."""
    handler = logging.StreamHandler()
    rid = " %(correlation_id)s" if request_ids is not None else ""
    if json_logs:
        handler.setFormatter(JsonFormatter(f"%(asctime)s %(levelname)s %(name)s{rid} %(message)s"))
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)-7s %(name)s{rid}: %(message)s"))
    handler.addFilter(RedactTokens())
    if request_ids is not None:
        handler.addFilter(request_ids)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # PTB's DEBUG records carry whole updates (ids, text): never below INFO, whatever the root level.
    logging.getLogger("telegram").setLevel(max(level, logging.INFO))
