"""Load a TOML file over the embedded defaults and validate it into a frozen `Config`.

Every error is a `ConfigError` naming the dotted key, so the CLI can print it and exit with status 2.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import tomllib
import typing
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .schema import FIELD_TYPES, Config

KNOWN_CODECS = ("G722", "PCMU", "PCMA")
KNOWN_TRANSPORTS = ("udp", "tcp")
KNOWN_BACKENDS = ("llama_cpp", "openai")


def load_config(path: str | Path | None = None) -> Config:
    """The defaults, overlaid with the file at `path` when given."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError("(file)", f"no such file: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("(file)", f"not valid TOML: {exc}") from None
    return config_from_dict(raw)


def config_from_dict(raw: dict[str, Any]) -> Config:
    config = _build(Config, raw, prefix="")
    _check_values(config)
    return config


def _build(cls: type, raw: Any, prefix: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(prefix or "(top)", "must be a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            raise ConfigError(f"{prefix}{key}", "unknown key")
    values = {}
    for name in fields:
        if name not in raw:
            continue
        hint = hints[name]
        key = f"{prefix}{name}"
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            values[name] = _build(hint, raw[name], prefix=f"{key}.")
        else:
            values[name] = _coerce(hint, raw[name], key)
    return cls(**values)


def _coerce(hint: Any, value: Any, key: str) -> Any:
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, f"must be true or false, not {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"must be an integer, not {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(key, f"must be a number, not {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(key, f"must be a string, not {value!r}")
        return value
    if typing.get_origin(hint) is tuple and dataclasses.is_dataclass(typing.get_args(hint)[0]):
        if not isinstance(value, list):
            raise ConfigError(key, "must be a list of tables")
        return tuple(_build(typing.get_args(hint)[0], item, prefix=f"{key}[{i}].") for i, item in enumerate(value))
    if typing.get_origin(hint) is dict:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ConfigError(key, f"must be a table of strings, not {value!r}")
        return dict(value)
    if typing.get_origin(hint) is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(key, f"must be a list of strings, not {value!r}")
        return tuple(value)
    raise ConfigError(key, f"unsupported type {hint!r}")  # a schema bug, not a user error


def _require(ok: bool, key: str, problem: str) -> None:
    if not ok:
        raise ConfigError(key, problem)


def _check_values(c: Config) -> None:
    _check_telephony(c)
    _check_forms(c)
    _check_console(c)
    _require(not c.recording.enabled or bool(c.recording.announcement.strip()), "recording.announcement",
             "must tell callers they are recorded when recording.enabled is true")
    _require(c.capacity.cores >= 0, "capacity.cores", "must be 0 (all this process may use) or more")
    _require(c.capacity.calls >= 0, "capacity.calls", "must be 0 (as measured) or more")
    _require(c.capacity.when_full in ("announce", "486", "503"), "capacity.when_full",
             "must be \"announce\", \"486\" or \"503\"")
    _require(c.llm.open_replies in ("auto", "model", "fallback"), "llm.open_replies",
             "must be \"auto\", \"model\" or \"fallback\"")
    _require(1 <= c.sip.port <= 65535, "sip.port", "must be between 1 and 65535")
    _require(1024 <= c.sip.rtp_port <= 65000, "sip.rtp_port", "must be between 1024 and 65000")
    _require(c.sip.rtp_port_range >= 2, "sip.rtp_port_range", "must be at least 2")
    _require(bool(c.sip.transports), "sip.transports", "needs at least one transport")
    for t in c.sip.transports:
        _require(t in KNOWN_TRANSPORTS, "sip.transports", f"unknown transport {t!r}; use {KNOWN_TRANSPORTS}")
    _require(bool(c.sip.codecs), "sip.codecs", "needs at least one codec")
    for codec in c.sip.codecs:
        _require(codec in KNOWN_CODECS, "sip.codecs", f"unknown codec {codec!r}; use {KNOWN_CODECS}")
    _require(c.sip.max_calls >= 1, "sip.max_calls", "must be at least 1")
    _require(1 <= c.sip.max_calls_per_source, "sip.max_calls_per_source", "must be at least 1")
    _require(c.sip.invites_per_source_per_s > 0, "sip.invites_per_source_per_s", "must be positive")
    _require(0 <= c.sip.retry_after_s <= 3600, "sip.retry_after_s", "must be between 0 and 3600")
    for network in c.sip.trusted_proxies:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ConfigError("sip.trusted_proxies", f"{network!r} is not an address or CIDR range") from None
    _require(c.audio.max_utterance_s >= 5, "audio.max_utterance_s", "must be at least 5 seconds")
    _require(bool(c.sip.user) and "@" not in c.sip.user, "sip.user", "must be a plain user part")
    for name in ("vad_aggressiveness", "barge_in_vad_aggressiveness"):
        _require(0 <= getattr(c.audio, name) <= 3, f"audio.{name}", "must be 0, 1, 2 or 3")
    for name in ("preroll_ms", "min_speech_ms", "end_of_turn_silence_ms", "barge_in_min_speech_ms",
                 "preemptive_silence_ms", "echo_tail_ms"):
        value = getattr(c.audio, name)
        _require(value >= 0 and value % 20 == 0, f"audio.{name}", "must be a non-negative multiple of 20")
    _require(c.audio.end_of_turn_silence_ms >= 100, "audio.end_of_turn_silence_ms", "must be at least 100")
    _require(c.audio.preemptive_silence_ms <= c.audio.end_of_turn_silence_ms,
             "audio.preemptive_silence_ms", "must not exceed audio.end_of_turn_silence_ms")
    _require(0.0 < c.audio.echo_gate_ratio <= 4.0, "audio.echo_gate_ratio", "must be in (0, 4]")
    _require(0 < c.call.silence_prompt_s < c.call.silence_hangup_s, "call.silence_prompt_s",
             "must be positive and below call.silence_hangup_s")
    _require(c.call.max_duration_s > 0, "call.max_duration_s", "must be positive")
    _require(c.stt.beam_size >= 1, "stt.beam_size", "must be at least 1")
    _require(8 <= c.stt.window_s <= 30, "stt.window_s", "must be between 8 and 30")
    _require(c.stt.cpu_threads >= 0, "stt.cpu_threads", "must be 0 (automatic) or more")
    _require(-5.0 <= c.stt.unsure_logprob <= 0.0, "stt.unsure_logprob", "must be between -5.0 and 0.0")
    _require(0.3 <= c.tts.length_scale <= 3.0, "tts.length_scale", "must be between 0.3 and 3.0")
    _require(0.0 <= c.tts.variation <= 2.0, "tts.variation", "must be between 0.0 and 2.0")
    _require(c.llm.backend in KNOWN_BACKENDS, "llm.backend", f"must be one of {KNOWN_BACKENDS}")
    if c.llm.backend == "openai":
        _require(c.llm.base_url.startswith(("http://", "https://")), "llm.base_url",
                 "must be an http(s) URL when llm.backend is 'openai'")
        _require(c.llm.model not in ("", "bundled"), "llm.model",
                 "must name the served model when llm.backend is 'openai'")
    _require(not c.llm.tools or c.llm.backend == "openai", "llm.tools",
             "needs llm.backend = 'openai' (a server whose model calls tools); the in-process client has no tool calls")
    _require(c.llm.context_tokens >= 256, "llm.context_tokens", "must be at least 256")
    _require(8 <= c.llm.max_reply_tokens < c.llm.context_tokens, "llm.max_reply_tokens",
             "must be at least 8 and below llm.context_tokens")
    _require(64 <= c.llm.history_tokens <= c.llm.context_tokens - c.llm.max_reply_tokens - 256,
             "llm.history_tokens", "must leave room for the instructions (256) and the reply within llm.context_tokens")
    _require(0.0 <= c.llm.temperature <= 2.0, "llm.temperature", "must be between 0 and 2")
    _require(c.llm.max_reply_sentences >= 1, "llm.max_reply_sentences", "must be at least 1")
    _require(c.llm.threads >= 1, "llm.threads", "must be at least 1")
    _require(bool(c.profile.name.strip()), "profile.name", "must not be empty")
    _require(bool(c.profile.greeting.strip()), "profile.greeting", "must not be empty")
    _require(c.memory.after_call_llm in ("auto", "on", "off"), "memory.after_call_llm", "must be auto, on or off")
    _require(c.memory.retention_days >= 0, "memory.retention_days", "must be 0 (keep) or a number of days")
    _require(0 < c.memory.housekeeping_minutes <= 1440, "memory.housekeeping_minutes",
             "must be a number of minutes above 0, at most 1440 (a day)")
    _require(bool(c.data.dir.strip()), "data.dir", "must not be empty")
    _check_data(c)
    try:
        c.profile.returning_greeting.format(name="Alice")
    except (KeyError, IndexError, ValueError):
        raise ConfigError("profile.returning_greeting", "may only use the placeholder {name}") from None


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _check_telephony(c: Config) -> None:
    import os
    import re

    r = c.registration
    if r.registrar:
        _require(r.registrar.startswith(("sip:", "sips:")), "registration.registrar",
                 "must be a SIP URI (sip:host:port)")
        if r.password_env:
            _require(bool(os.environ.get(r.password_env)), "registration.password_env",
                     f"the environment variable {r.password_env} is not set")
        else:
            _require(bool(r.password), "registration.password", "is needed (or registration.password_env)")
        _require(r.expiry_s >= 10, "registration.expiry_s", "must be at least 10")
        _require(1 <= r.retry_s <= r.retry_max_s, "registration.retry_s", "must be between 1 and retry_max_s")
        _require(r.keepalive_s >= 0, "registration.keepalive_s", "must be 0 (off) or more")
    _require("*" not in r.realm, "registration.realm",
             "must name the registrar's realm (empty: the registrar's host); '*' would give the password to any "
             "host that challenges")
    names = set()
    for i, entry in enumerate(c.transfer.directory):
        key = f"transfer.directory[{i}]"
        _require(bool(entry.name.strip()), f"{key}.name", "must not be empty")
        _require(entry.name.lower() not in names, f"{key}.name", "is already in the directory")
        names.add(entry.name.lower())
        _require(entry.uri.startswith(("sip:", "sips:")) or entry.uri.isdigit(), f"{key}.uri",
                 "must be a SIP URI or an extension (digits)")
        _require(not entry.uri.isdigit() or bool(r.registrar or r.domain), f"{key}.uri",
                 "an extension needs registration.registrar or registration.domain")
    for digit, target in c.dtmf.shortcuts.items():
        _require(len(digit) == 1 and digit in "0123456789*#", f"dtmf.shortcuts.{digit}", "must be one key: 0-9, * or #")
        _require(target.lower() in names, f"dtmf.shortcuts.{digit}", f"{target!r} is not in transfer.directory")
    _require(len(c.dtmf.terminator) == 1 and c.dtmf.terminator in "*#", "dtmf.terminator", "must be * or #")
    _require(c.dtmf.interdigit_timeout_s > 0, "dtmf.interdigit_timeout_s", "must be positive")
    o = c.outbound
    match = re.fullmatch(r"(\d\d):(\d\d)-(\d\d):(\d\d)", o.calling_hours)
    if match is None:
        raise ConfigError("outbound.calling_hours", "must look like 09:00-18:00")
    start, end = int(match[1]) * 60 + int(match[2]), int(match[3]) * 60 + int(match[4])
    _require(int(match[2]) < 60 and int(match[4]) < 60 and start < end <= 24 * 60, "outbound.calling_hours",
             "must be a window within one day, start before end")
    for day in o.calling_days:
        _require(day in _DAYS, "outbound.calling_days", f"unknown day {day!r}; use {_DAYS}")
    _require(o.max_attempts >= 1, "outbound.max_attempts", "must be at least 1")
    _require(o.retry_after_s >= 1, "outbound.retry_after_s", "must be at least 1")
    _require(o.max_callbacks_per_caller >= 0, "outbound.max_callbacks_per_caller", "must be 0 (none) or more")
    _require("{" not in o.callback_text, "outbound.callback_text", "is said as it is: no placeholders")
    _require(o.ring_timeout_s >= 1, "outbound.ring_timeout_s", "must be at least 1")


def _check_data(c: Config) -> None:
    """data.url: empty (SQLite in data.dir) or a PostgreSQL URL; a password named by password_env must be set."""
    import os

    url = c.data.url.strip()
    _require(not url or url.startswith(("postgresql://", "postgres://")), "data.url",
             "must be empty (SQLite in data.dir) or a postgresql:// URL")
    if c.data.password_env:
        _require(bool(url), "data.password_env", "is for a PostgreSQL data.url")
        _require(bool(os.environ.get(c.data.password_env)), "data.password_env",
                 f"the environment variable {c.data.password_env} is not set")


def _check_forms(c: Config) -> None:
    import shlex

    names: set[str] = set()
    for i, form in enumerate(c.forms):
        key = f"forms[{i}]"
        _require(bool(form.name.strip()), f"{key}.name", "must not be empty")
        _require(form.name.strip().lower() not in names, f"{key}.name", "is already the name of a form")
        names.add(form.name.strip().lower())
        _require(bool(form.done_text.strip()), f"{key}.done_text", "must not be empty")
        _require(bool(form.fields), f"{key}.fields", "needs at least one field ([[forms.fields]])")
        keys: set[str] = set()
        for j, item in enumerate(form.fields):
            fkey = f"{key}.fields[{j}]"
            _require(bool(item.key.strip()), f"{fkey}.key", "must not be empty")
            _require(item.key.strip().lower() not in keys, f"{fkey}.key", "is already a field of this form")
            keys.add(item.key.strip().lower())
            _require(item.type in FIELD_TYPES, f"{fkey}.type", f"unknown type {item.type!r}; use {FIELD_TYPES}")
            _require(bool(item.prompt.strip()), f"{fkey}.prompt", "must not be empty")
    n = c.notify
    if n.command:
        try:
            argv = shlex.split(n.command)
        except ValueError as exc:
            raise ConfigError("notify.command", f"is not a command line: {exc}") from None
        _require(bool(argv), "notify.command", "is not a command line")
    _require(not n.webhook_url or n.webhook_url.startswith(("http://", "https://")), "notify.webhook_url",
             "must be an http(s) URL (or empty)")
    _require(0 <= n.retries <= 10, "notify.retries", "must be between 0 and 10")
    _require(0 < n.retry_s <= 3600, "notify.retry_s", "must be positive (seconds, at most 3600)")


def _check_console(c: Config) -> None:
    """The console listens on loopback without a login; anywhere else only with a token from the environment."""
    import os

    host, port = c.console.host_port
    _require(bool(host) and 1 <= port <= 65535, "console.listen", "must be address:port, e.g. \"127.0.0.1:8080\"")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        raise ConfigError("console.listen", f"{host!r} is not an IP address") from None
    if c.console.token_env:
        _require(bool(os.environ.get(c.console.token_env)), "console.token_env",
                 f"the environment variable {c.console.token_env} is not set")
    elif c.console.enabled:
        _require(loopback, "console.listen",
                 "is not a loopback address: set console.token_env (the console needs a token off loopback)")
