"""python-telegram-bot transport: the resident bot (built on top of core)."""
