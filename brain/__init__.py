"""Thinking: the agent team and its model clients. Knows agents and models, nothing of SIP or audio."""
