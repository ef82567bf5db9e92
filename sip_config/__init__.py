"""Configuration: the TOML schema, its validation, and where the models are."""

from .errors import ConfigError
from .loader import config_from_dict, load_config
from .models import ModelPaths, resolve_models
from .schema import Config

__all__ = ["Config", "ConfigError", "ModelPaths", "config_from_dict", "load_config", "resolve_models"]
