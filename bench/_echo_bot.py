"""The floor for bench/bot.py: the same PTB Application as bot/app.py with one handler that sends a fixed text.

Built like `bot.app.build_application` (same token, base_url, PerChatUpdateProcessor(MAX_CONCURRENT_UPDATES),
ChatRateLimiter from the same settings, the same connection pool size and pool timeout) and long polling like
`bot.runner.run` (timeout 25 s, every update type); no database, no NLP, no conversation. Messages and button presses
alike get one sendMessage.

    CIVICPULSE_SECRET_KEY=... .venv/bin/python bench/_echo_bot.py http://127.0.0.1:8081/bot
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# The project root before bench/ (the script's folder), where bench/bot.py would shadow the bot package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import Update
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot.app import CONNECTIONS, EMULATOR_TOKEN, MAX_CONCURRENT_UPDATES, POOL_TIMEOUT_S, PerChatUpdateProcessor
from bot.ratelimit import ChatRateLimiter
from bot.runner import POLL_TIMEOUT_SECONDS
from core.settings import get_settings

FIXED_TEXT = "Thanks, got it."


async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the fixed text to the chat the update came from."""
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_message(chat.id, FIXED_TEXT)


def main() -> None:
    base_url = sys.argv[1].rstrip("/")
    settings = get_settings()
    application: Any = (ApplicationBuilder().token(EMULATOR_TOKEN)
                        .concurrent_updates(PerChatUpdateProcessor(MAX_CONCURRENT_UPDATES))
                        .rate_limiter(ChatRateLimiter(per_chat_rate=settings.bot_per_chat_rate,
                                                      retry_scale=settings.pacing_scale))
                        .connection_pool_size(CONNECTIONS)
                        .pool_timeout(POOL_TIMEOUT_S)
                        .base_url(base_url)
                        .base_file_url(base_url.removesuffix("/bot") + "/file/bot")
                        .build())
    application.add_handler(CallbackQueryHandler(reply))
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE & ~filters.UpdateType.EDITED, reply))
    # run_polling stops on SIGTERM, like `civicpulse bot`.
    application.run_polling(timeout=POLL_TIMEOUT_SECONDS, allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
