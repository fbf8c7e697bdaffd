"""Running the emulator: in a background thread (tests, benchmarks, `serve`) or in the foreground (CLI)."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn

from bot.emulator.app import create_emulator_app
from bot.emulator.state import Emulator

log = logging.getLogger("civicpulse.emulator")
START_TIMEOUT_S = 10.0


class EmulatorServer:
    """The emulator on a real socket, served by uvicorn in a background thread."""

    def __init__(self, emulator: Emulator | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.emulator = emulator or Emulator()
        self.host = host
        self.port = port
        # Access logs would print request paths, which carry the bot token: they stay off.
        config = uvicorn.Config(create_emulator_app(self.emulator), host=host, port=port, log_config=None,
                                access_log=False, lifespan="on", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def start(self) -> EmulatorServer:
        """Start serving and return once the socket listens (port 0 picks a free port)."""
        if self._thread is not None:
            raise RuntimeError("the emulator server is already running")
        self._thread = threading.Thread(target=self._server.run, name="bot-api-emulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the emulator did not start on {self.host}:{self.port}")
            time.sleep(0.01)
        sockets = [s for server in self._server.servers for s in server.sockets]
        self.port = int(sockets[0].getsockname()[1])
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        if self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=START_TIMEOUT_S)
        self._thread = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def bot_api_url(self) -> str:
        """What PTB's base_url and CIVICPULSE_TELEGRAM_API_URL take."""
        return self.base_url + "/bot"

    @property
    def file_api_url(self) -> str:
        """What PTB's base_file_url takes."""
        return self.base_url + "/file/bot"

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def run(*, host: str, port: int, global_limit: bool, per_chat_rate: float = 1.0, per_chat_burst: int = 20,
        global_rate: float = 30.0, username: str = "civicpulse_bot", state_file: str | Path | None = None) -> None:
    """Serve the emulator in the foreground until interrupted (`civicpulse emulator`)."""
    emulator = Emulator(username=username, per_chat_rate=per_chat_rate, per_chat_burst=per_chat_burst,
                        global_rate=global_rate, global_limit=global_limit, state_file=state_file)
    uvicorn.run(create_emulator_app(emulator), host=host, port=port, log_config=None, access_log=False,
                timeout_graceful_shutdown=1)
