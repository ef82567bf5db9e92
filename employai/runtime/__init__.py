"""The per-call runtime and the bot process: the conductor and its collaborators, engines, scheduler."""
