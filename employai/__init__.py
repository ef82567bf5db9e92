"""The application: the CLI, the bot process and the per-call conductor."""
