"""The resident bot: a PTB Application whose handlers parse an update, call core.conversation, send the replies."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LinkPreviewOptions,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatType, MessageEntityType, ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    BaseUpdateProcessor,
    CallbackContext,
    CallbackQueryHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.ratelimit import ChatRateLimiter
from core import conversation, residents
from core.concerns import IntakePolicy
from core.conversation import Env, Event, Reply
from core.db import Database
from core.i18n import t
from core.logging_setup import log_unexpected
from core.models import utcnow
from core.settings import Settings

logger = logging.getLogger(__name__)

EMULATOR_TOKEN = "1000001:civicpulse-local-emulator"  # noqa: S105 - the emulator accepts any token
MAX_CONCURRENT_UPDATES = 64  # updates being handled at once (each of a different chat)
MAX_PENDING_UPDATES = 10_000  # updates accepted from Telegram and not yet handled, over all chats
# httpcore checks every pooled connection on each request: a small pool is cheaper (measured: 4 beat 8 and 32),
# and the Bot API is one host.
CONNECTIONS = 4
POOL_TIMEOUT_S = 20.0  # with few connections, a burst of replies waits for one instead of failing after 1 s
# PostgreSQL transactions run on this many threads. They share the GIL with the event loop, so more threads only
# contend (bench/bot.py on a local server: 2 threads 173 updates/s, 4 157/s, 8 137-153/s); a distant server,
# where each statement waits longer on the network, may want more.
DATABASE_THREADS = 2


@dataclass
class Services:
    """What handlers need, built once per Application."""

    settings: Settings
    database: Database
    policy: IntakePolicy
    secret: bytes
    bot_id: int = 0
    bot_username: str | None = None
    # Update ids whose transaction committed, so the error handler can say whether the message was saved.
    committed: set[int] = field(default_factory=set)
    executor: ThreadPoolExecutor | None = None

    def __post_init__(self) -> None:
        # SQLite takes one writer at a time: one database thread avoids threads queueing on its lock while
        # holding the GIL from each other; PostgreSQL gets a few.
        workers = 1 if self.database.is_sqlite else DATABASE_THREADS
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="civicpulse-db")

    def close(self) -> None:
        """Stop the database threads (after the Application stopped)."""
        if self.executor is not None:
            self.executor.shutdown(wait=True)

    def blocked(self, telegram_user_id: int) -> None:
        """Record that the resident blocked the bot."""
        with self.database.transaction() as session:
            residents.mark_blocked(session, secret=self.secret, telegram_user_id=telegram_user_id)

    def language_of(self, telegram_user_id: int, fallback: str | None) -> str | None:
        """The language the resident chose, else `fallback` (also when the database cannot say)."""
        try:
            with self.database.reading() as session:
                resident = residents.find(session, secret=self.secret, telegram_user_id=telegram_user_id)
        except Exception as exc:  # the error being reported may be the database's own
            logger.warning("could not read the resident's language: %s", type(exc).__name__)
            return fallback
        return resident.language if resident is not None and resident.language else fallback

    def handle(self, env: Env, event: Event) -> list[Reply]:
        """Run the conversation for one event in its own transaction (on a worker thread)."""
        with self.database.transaction() as session:
            return conversation.handle(session, env=env, event=event)


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The context handlers receive, with the services."""

    @property
    def services(self) -> Services:
        services: Services = self.application.bot_data["services"]
        return services

    async def run(self, env: Env, event: Event) -> list[Reply]:
        """Call core off the event loop, so a database wait never stalls other residents."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.services.executor, self.services.handle, env, event)


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates of different chats run concurrently; updates of one chat run in the order they came.

    PTB takes its semaphore before do_process_update, so an update waiting for its own chat would hold a slot:
    one chat that sends a hundred messages at once (a forward) would take every slot, and other residents would
    wait behind its paced replies. PTB's semaphore is therefore only a generous cap on pending updates; the
    limit on updates running at once is taken here, after the chat's turn has come.
    """

    def __init__(self, max_concurrent_updates: int, max_pending_updates: int = MAX_PENDING_UPDATES) -> None:
        super().__init__(max_pending_updates)
        self._running = asyncio.Semaphore(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Any) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            async with self._running:
                await coroutine
            return
        key = chat.id
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock, self._running:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
                self._locks.pop(key, None)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


def _env(update: Update, services: Services) -> Env:
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    return Env(secret=services.secret, policy=services.policy, user_id=user.id, chat_id=chat.id, now=utcnow(),
               bot_id=services.bot_id, update_id=update.update_id, language_code=user.language_code,
               bot_username=services.bot_username)


def parse(update: Update, bot_username: str | None) -> Event | None:
    """Turn a private-chat update into a conversation event (None: nothing to handle)."""
    if update.callback_query is not None:
        return Event("callback", text=update.callback_query.data or "")
    message = update.message
    if message is None:
        return None
    if message.text is not None:
        entity = message.entities[0] if message.entities else None
        if entity is not None and entity.type == MessageEntityType.BOT_COMMAND and entity.offset == 0:
            command = message.text[1:entity.length]
            name, _, addressed = command.partition("@")
            if addressed and bot_username and addressed.lower() != bot_username.lower():
                return None
            return Event("command", text=name.lower(), args=message.text[entity.length:])
        return Event("text", text=message.text)
    location = message.location or (message.venue.location if message.venue else None)
    if location is not None:
        return Event("location", lat=location.latitude, lon=location.longitude)
    return Event("attachment", attachment=_attachment_kind(message))


def _attachment_kind(message: Message) -> str:
    for kind in ("sticker", "photo", "voice", "video", "video_note", "audio", "document", "animation", "contact",
                 "poll", "dice", "game"):
        if getattr(message, kind, None):
            return kind
    return "other"


def _markup(reply: Reply) -> Any:
    if reply.buttons:
        return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.data, url=b.url) for b in row]
                                     for row in reply.buttons])
    if reply.ask_location:
        rows = [[KeyboardButton(reply.ask_location, request_location=True)]]
        if reply.keyboard_extra:
            rows.append([KeyboardButton(reply.keyboard_extra)])
        return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)
    if reply.remove_keyboard:
        return ReplyKeyboardRemove()
    return None


async def send_replies(update: Update, context: BotContext, replies: list[Reply]) -> None:
    """Send the replies in order (edit the pressed message when a reply says so)."""
    chat = update.effective_chat
    assert chat is not None
    query = update.callback_query
    for reply in replies:
        if reply.document is not None:
            await context.bot.send_document(chat.id, document=reply.document.content,
                                            filename=reply.document.filename, caption=reply.document.caption,
                                            parse_mode=ParseMode.HTML)
        elif reply.edit and query is not None and isinstance(query.message, Message):
            await query.edit_message_text(reply.text, parse_mode=ParseMode.HTML, reply_markup=_markup(reply),
                                          link_preview_options=LinkPreviewOptions(is_disabled=True))
        else:
            await context.bot.send_message(chat.id, reply.text, parse_mode=ParseMode.HTML,
                                           reply_markup=_markup(reply),
                                           link_preview_options=LinkPreviewOptions(is_disabled=True))


async def on_private(update: Update, context: BotContext) -> None:
    """Every private-chat message and button press."""
    services = context.services
    event = parse(update, services.bot_username)
    if update.callback_query is not None:
        try:
            await update.callback_query.answer()
        except BadRequest as exc:
            # A redelivered or very old press: the spinner is gone anyway; handle the press all the same.
            logger.info("could not answer a button press: %s", exc.message)
        except TelegramError as exc:
            # A timeout or a server error on the acknowledgement only: the press itself still counts.
            logger.warning("could not answer a button press: %s", type(exc).__name__)
    if event is None:
        return
    replies = await context.run(_env(update, services), event)
    # From here on the message is saved. On an error below the id stays in the set: on_error, which PTB calls
    # after this handler has returned, takes it out and tells the resident their message was saved.
    services.committed.add(update.update_id)
    try:
        await send_replies(update, context, replies)
    except Forbidden:
        # The resident blocked the bot: nothing to tell them; stop writing to them.
        assert update.effective_user is not None
        await asyncio.get_running_loop().run_in_executor(services.executor, services.blocked,
                                                         update.effective_user.id)
        logger.info("a resident blocked the bot; marked inactive")
    services.committed.discard(update.update_id)


async def guard(update: Update, context: BotContext) -> None:
    """Before any handler: edited messages are ignored on purpose; group chats store nothing."""
    if update.edited_message is not None or update.edited_channel_post is not None:
        # A resident's edit does not change what they already sent (a concern is filed when confirmed).
        raise ApplicationHandlerStop
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return
    services = context.services
    message = update.effective_message
    if chat.id in services.settings.staff_chat_ids:
        if message is not None and _addressed(message, services.bot_username):
            await message.reply_text(t(None, "staff-chat-hello"))
    elif message is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP) and message.text is not None:
        user = update.effective_user
        await message.reply_text(t(user.language_code[:2] if user and user.language_code else None, "group-chat"))
    raise ApplicationHandlerStop


def _addressed(message: Message, bot_username: str | None) -> bool:
    text = message.text or ""
    if not bot_username:
        return text.startswith("/")
    return f"@{bot_username.lower()}" in text.lower()


async def on_error(update: object, context: BotContext) -> None:
    """Log an unexpected error without personal data and tell the resident whether their message was saved."""
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if error is not None:
        log_unexpected(logger, "error while handling update %s: %s", error, update_id)
    saved = update_id in context.services.committed
    context.services.committed.discard(update_id)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.effective_chat.type != ChatType.PRIVATE:
        return
    user = update.effective_user
    language = user.language_code[:2] if user and user.language_code else None
    if user is not None:
        language = await asyncio.get_running_loop().run_in_executor(
            context.services.executor, context.services.language_of, user.id, language)
    try:
        await context.bot.send_message(update.effective_chat.id,
                                       t(language, "error-unexpected-saved" if saved else "error-unexpected"))
    except Exception as exc:
        logger.warning("could not tell the resident about the error: %s", type(exc).__name__)


async def prepare(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """After initialize(): learn the bot's id and username, and publish the command menu in both languages.

    PTB runs `post_init` only inside run_polling/run_webhook; the runner starts the Application itself.
    """
    services: Services = application.bot_data["services"]
    services.bot_id = application.bot.id
    services.bot_username = services.settings.bot_username or application.bot.username
    for language in ("en", "es"):
        commands = [BotCommand(name, t(language, f"command-{name}")) for name in conversation.COMMANDS]
        await application.bot.set_my_commands(commands, language_code=None if language == "en" else language)


def endpoints(settings: Settings, base_url: str | None) -> tuple[str, str | None, str | None]:
    """The token, Bot API URL and file URL the bot uses (the emulator's token when no real one is set)."""
    token = settings.telegram_token.get_secret_value() if settings.telegram_token else EMULATOR_TOKEN
    base_url = base_url or settings.telegram_api_url
    if not base_url:
        return token, None, None
    base_url = base_url.rstrip("/")
    return token, base_url, base_url.removesuffix("/bot") + "/file/bot"


def build_application(settings: Settings, database: Database, *, base_url: str | None = None,
                      base_file_url: str | None = None, token: str | None = None,
                      updater: bool = True) -> Application[Any, Any, Any, Any, Any, Any]:
    """Build the bot's Application; `base_url` points it at the emulator (or another Bot API server)."""
    configured_token, base_url, file_url = endpoints(settings, base_url)
    token = token or configured_token
    builder = (ApplicationBuilder().token(token)
               .context_types(ContextTypes(context=BotContext))
               .concurrent_updates(PerChatUpdateProcessor(MAX_CONCURRENT_UPDATES))
               .rate_limiter(ChatRateLimiter(per_chat_rate=settings.bot_per_chat_rate,
                                             retry_scale=settings.pacing_scale))
               .connection_pool_size(CONNECTIONS)
               .pool_timeout(POOL_TIMEOUT_S))
    if base_url:
        builder = builder.base_url(base_url).base_file_url(base_file_url or file_url or base_url)
    if not updater:
        builder = builder.updater(None)
    application = builder.build()
    policy = IntakePolicy(zone=settings.zone, phone_region=settings.phone_region,
                          concerns_per_hour=settings.concerns_per_hour)
    application.bot_data["services"] = Services(settings=settings, database=database, policy=policy,
                                                secret=settings.secret_bytes())
    application.add_handler(TypeHandler(Update, guard), group=-1)
    application.add_handler(CallbackQueryHandler(on_private))
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE & ~filters.UpdateType.EDITED, on_private))
    application.add_error_handler(on_error)
    return application
