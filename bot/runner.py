"""Run the bot: long polling or webhook, the outbox sender beside it, and optionally the API in the same loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from typing import Any

from telegram import Update

from bot.app import build_application, prepare
from bot.scheduler import Schedule
from bot.sender import OutboxSender, sender_bot
from bot.webhook import PATH, webhook_route
from core.db import Database
from core.settings import Settings

logger = logging.getLogger(__name__)

POLL_TIMEOUT_SECONDS = 25


def _server_class() -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server without its own signal handling: the runner stops everything together."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Server


async def run(settings: Settings, database: Database, *, base_url: str | None = None,
              asgi_app: Any = None, host: str = "127.0.0.1", port: int = 8000,
              stop: asyncio.Event | None = None) -> None:
    """Host the bot until stopped (SIGINT/SIGTERM or `stop`); serve `asgi_app` (with the webhook route) if given.

    In webhook mode (CIVICPULSE_WEBHOOK_URL) the process registers the webhook with its secret and serves
    /telegram/webhook; otherwise it long-polls. The scheduled jobs and the outbox sender run in the same loop,
    but only while this process holds the schedule's lease (one owner among every process sharing the database).
    """
    import uvicorn
    from starlette.applications import Starlette

    stop = stop or asyncio.Event()
    webhook = bool(settings.webhook_url)
    application = build_application(settings, database, base_url=base_url, updater=not webhook)
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with application:
        await prepare(application)
        await application.start()
        if webhook:
            assert settings.webhook_url is not None
            await application.bot.set_webhook(settings.webhook_url, secret_token=secret,
                                              allowed_updates=Update.ALL_TYPES)
            logger.info("bot @%s in webhook mode at %s", application.bot.username, PATH)
        else:
            await application.bot.delete_webhook()
            assert application.updater is not None
            await application.updater.start_polling(timeout=POLL_TIMEOUT_SECONDS, allowed_updates=Update.ALL_TYPES)
            logger.info("bot @%s long polling", application.bot.username)
        # The sender has its own Bot without the reply limiter: it handles 429s itself and paces bulk sends.
        outbox_bot = sender_bot(settings, base_url=base_url)
        await outbox_bot.initialize()
        sender = OutboxSender(outbox_bot, database, settings)
        schedule = Schedule(database, settings)
        tasks = [asyncio.create_task(schedule.run(stop), name="schedule"),
                 asyncio.create_task(sender.run(stop, active=schedule.is_leading), name="outbox-sender")]
        server = None
        if asgi_app is not None or webhook:
            route = webhook_route(application, secret)
            if asgi_app is None:
                asgi_app = Starlette(routes=[route])
            else:
                asgi_app.router.routes.append(route)
            config = uvicorn.Config(asgi_app, host=host, port=port, log_config=None, access_log=False)
            server = _server_class()(config)
            tasks.append(asyncio.create_task(server.serve(), name="http"))
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        if server is not None:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        await application.stop()
        await outbox_bot.shutdown()
    application.bot_data["services"].close()
    logger.info("bot stopped")
