"""Operator surfaces: the `employai` command and its subcommands."""
