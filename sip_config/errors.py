class ConfigError(Exception):
    """A configuration value is wrong. `key` is the dotted TOML key, e.g. ``sip.port``."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"config key '{key}': {problem}")
        self.key = key
        self.problem = problem
