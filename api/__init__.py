"""FastAPI transport: parse, call core, render."""
