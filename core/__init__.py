"""civicpulse domain: register, concerns, residents, statistics. Knows nothing of its transports."""
