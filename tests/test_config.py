"""Configuration: the embedded defaults, validation errors naming the key, and the CLI's exit status 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sip_config import ConfigError, config_from_dict, load_config, resolve_models

pytestmark = pytest.mark.unit


def test_embedded_defaults_match_the_documented_default_file():
    from importlib.resources import files

    documented = load_config(str(files("sip_config") / "default.toml"))
    assert documented == load_config()


def test_defaults_resolve_to_the_bundled_models():
    models = resolve_models(load_config())
    assert (models.whisper_dir / "model.bin").is_file()
    assert models.piper_voice.suffix == ".onnx" and models.piper_voice.is_file()
    assert models.gguf is not None and models.gguf.suffix == ".gguf"


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"sip": {"prot": 5060}}, "sip.prot"),
        ({"sip": {"port": "5060"}}, "sip.port"),
        ({"sip": {"port": 70000}}, "sip.port"),
        ({"sip": {"codecs": ["OPUS"]}}, "sip.codecs"),
        ({"audio": {"vad_aggressiveness": 7}}, "audio.vad_aggressiveness"),
        ({"audio": {"preroll_ms": 310}}, "audio.preroll_ms"),
        ({"llm": {"backend": "openai"}}, "llm.base_url"),
        ({"llm": {"tools": True}}, "llm.tools"),
        ({"profile": {"facts": "not a list"}}, "profile.facts"),
        ({"nonsense": {}}, "nonsense"),
        ({"call": {"silence_prompt_s": 30.0, "silence_hangup_s": 20.0}}, "call.silence_prompt_s"),
        ({"memory": {"housekeeping_minutes": 0}}, "memory.housekeeping_minutes"),
        ({"memory": {"housekeeping_minutes": -5.0}}, "memory.housekeeping_minutes"),
        ({"memory": {"housekeeping_minutes": float("inf")}}, "memory.housekeeping_minutes"),
        ({"memory": {"housekeeping_minutes": "ten"}}, "memory.housekeeping_minutes"),
        ({"stt": {"unsure_logprob": 0.3}}, "stt.unsure_logprob"),
        ({"stt": {"unsure_logprob": float("nan")}}, "stt.unsure_logprob"),
        ({"stt": {"unsure_logprob": "low"}}, "stt.unsure_logprob"),
    ],
)
def test_bad_values_name_their_key(raw, key):
    with pytest.raises(ConfigError) as err:
        config_from_dict(raw)
    assert err.value.key == key


@pytest.mark.parametrize("tools", [False, True])
def test_a_served_model_is_offered_tools_only_when_the_config_says_it_calls_them(tools):
    from brain.model_clients import build_model_client

    config = config_from_dict({"llm": {"backend": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "served",
                                       "tools": tools}})
    client = build_model_client(config.llm, resolve_models(config))  # no request is made until a reply is asked
    assert client.model_info["function_calling"] is tools


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"stt": {"model": "/nowhere/whisper"}}, "stt.model"),
        ({"tts": {"voice": "/nowhere/voice.onnx"}}, "tts.voice"),
        ({"llm": {"model": "/nowhere/model.gguf"}}, "llm.model"),
    ],
)
def test_missing_model_files_name_their_key(raw, key):
    with pytest.raises(ConfigError) as err:
        resolve_models(config_from_dict(raw))
    assert err.value.key == key


@pytest.mark.parametrize(
    ("toml", "key"),
    [('[sip]\nport = "five"\n', "sip.port"), ('[llm]\nmodel = "/missing.gguf"\n', "llm.model"),
     ("[sip\n", "(file)"), ('[data]\nurl = "mysql://bot@db/employai"\n', "data.url"),
     ("[memory]\nhousekeeping_minutes = 0\n", "memory.housekeeping_minutes")],
)
def test_cli_exits_2_naming_the_key_without_a_traceback(tmp_path, toml, key):
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    result = subprocess.run([sys.executable, "-m", "employai", "-c", str(path), "run"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert key in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_data_url_is_sqlite_by_default_or_postgresql_and_its_password_may_come_from_the_environment(monkeypatch):
    from employai.runtime.storage import database_label

    assert config_from_dict({}).data.url == ""
    assert database_label(config_from_dict({"data": {"dir": "/srv/bot"}})) == "/srv/bot/employai.sqlite3"
    url = "postgresql://bot:s3cret@db.example:5432/employai"
    assert database_label(config_from_dict({"data": {"url": url}})) == "postgresql://bot:***@db.example:5432/employai"
    with pytest.raises(ConfigError) as err:
        config_from_dict({"data": {"url": "sqlite:///tmp/x"}})
    assert err.value.key == "data.url"
    with pytest.raises(ConfigError) as err:
        config_from_dict({"data": {"url": "postgresql://bot@db/employai", "password_env": "EMPLOYAI_TEST_DB_PW"}})
    assert err.value.key == "data.password_env"
    monkeypatch.setenv("EMPLOYAI_TEST_DB_PW", "s3cret")
    assert config_from_dict({"data": {"url": "postgresql://bot@db/employai",
                                      "password_env": "EMPLOYAI_TEST_DB_PW"}}).data.password_env
