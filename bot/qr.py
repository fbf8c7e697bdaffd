"""QR codes for the signs: a PNG of the bot's deep link to a deployment's card or a campaign."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import segno

from core.deployments import normalize_code

# Telegram's rule for a /start deep-link payload.
PAYLOAD_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
TELEGRAM_API_URL = "https://api.telegram.org/bot"


class QrError(ValueError):
    """A payload or bot username that cannot make a working deep link; the message says why."""


def deep_link_payload(code: str) -> str:
    """Return the /start payload for a deployment code (normalised: aq017 → AQ-017) or a c_<campaign> code."""
    raw = code.strip()
    if raw[:2].lower() == "c_":
        if len(raw) == 2:
            raise QrError("a campaign deep link needs the campaign's code after c_")
        payload = "c_" + raw[2:]
    else:
        normalized = normalize_code(raw)
        if normalized is None:
            raise QrError(f"{code!r} is neither a deployment code (like AQ-017) nor a campaign (c_<code>)")
        payload = normalized
    if not PAYLOAD_RE.match(payload):
        raise QrError(f"Telegram refuses the deep-link payload {payload!r}: it must be 1–64 characters of "
                      "A-Z, a-z, 0-9, _ and -")
    return payload


def deep_link(username: str, payload: str) -> str:
    """Return the t.me link that opens the bot with /start <payload>."""
    return f"https://t.me/{username}?start={payload}"


def bot_username(*, configured: str | None, api_url: str | None, token: str, timeout: float = 5.0) -> str:
    """Return the bot's @username (without @): the configured one, else getMe on the Bot API."""
    if configured:
        name = configured.strip().removeprefix("@")
        if not USERNAME_RE.match(name):
            raise QrError(f"CIVICPULSE_BOT_USERNAME {configured!r} is not a Telegram username")
        return name
    url = (api_url or TELEGRAM_API_URL).rstrip("/")
    try:
        answer = httpx.get(f"{url}{token}/getMe", timeout=timeout)
        username = answer.json()["result"]["username"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        # The URL carries the token: name the server only.
        raise QrError(f"could not read the bot's username with getMe from {url.removesuffix('/bot')} — set "
                      "CIVICPULSE_BOT_USERNAME, or start the emulator (`civicpulse emulator`)") from None
    return str(username)


def write_qr(link: str, path: Path) -> Path:
    """Write the link as a PNG QR code (error correction M, 10 px modules, quiet zone of 4) and return the path."""
    segno.make(link, error="m", micro=False).save(str(path), kind="png", scale=10, border=4)
    return path
