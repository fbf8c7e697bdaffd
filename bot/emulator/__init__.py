"""A local Telegram Bot API emulator for development, demos and tests (Telegram itself is not needed).

The Bot API side answers python-telegram-bot like Telegram does (shapes, checks, error texts, rate limits);
the control API under /_emulator is the residents' side: tests and `civicpulse chat` write and press there
and read what the bot sent.
"""

from bot.emulator.app import create_emulator_app
from bot.emulator.server import EmulatorServer, run
from bot.emulator.state import BOT_ID, BotApiError, Emulator

__all__ = ["BOT_ID", "BotApiError", "Emulator", "EmulatorServer", "create_emulator_app", "run"]
