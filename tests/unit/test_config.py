"""Settings: NOTARY_* variables, the instance's config.json, overrides, and clear refusals."""

from __future__ import annotations

import json

import pytest

from notary.config import ConfigError, Settings


def load(tmp_path, **env: str) -> Settings:
    return Settings.load({"NOTARY_INSTANCE_PATH": str(tmp_path), **env})


def test_defaults(tmp_path):
    settings = load(tmp_path)
    assert settings.instance_path == tmp_path.resolve()
    assert settings.effective_database_url == f"sqlite:///{tmp_path.resolve() / 'notary.db'}"
    assert (settings.blob_store, settings.blob_inline_max) == ("filesystem", 64 * 1024)
    assert (settings.web_workers, settings.web_threads) == (2, 2)
    assert settings.tsa_urls == ("embedded",)
    assert settings.checkpoint_interval == 1.0
    assert settings.effective_log_origin == "127.0.0.1:8000/contracts/v1"


def test_environment_beats_the_config_file_and_overrides_beat_both(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"web_threads": 3, "blob_inline_max": 10}))
    assert load(tmp_path).web_threads == 3
    assert load(tmp_path, NOTARY_WEB_THREADS="5").web_threads == 5
    settings = Settings.load({"NOTARY_WEB_THREADS": "5"}, instance_path=tmp_path, web_threads=7)
    assert (settings.web_threads, settings.blob_inline_max) == (7, 10)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("250ms", 0.25), ("1.5s", 1.5), ("2m", 120.0), ("12h", 43200.0), ("7d", 604800.0), ("30", 30.0)],
)
def test_durations(tmp_path, text, seconds):
    assert load(tmp_path, NOTARY_CHECKPOINT_INTERVAL=text).checkpoint_interval == seconds


def test_urls_are_a_comma_separated_ordered_list(tmp_path):
    settings = load(tmp_path, NOTARY_TSA_URLS=" embedded , https://tsa.example/ ,")
    assert settings.tsa_urls == ("embedded", "https://tsa.example/")


def test_no_inline_documents_is_allowed(tmp_path):
    assert load(tmp_path, NOTARY_BLOB_INLINE_MAX="0").blob_inline_max == 0


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"NOTARY_CHECKPOINT_INTERVAL": "soon"}, "checkpoint_interval"),
        ({"NOTARY_CHECKPOINT_INTERVAL": "0s"}, "checkpoint_interval"),
        ({"NOTARY_BLOB_INLINE_MAX": "-1"}, "blob_inline_max"),
        ({"NOTARY_BLOB_INLINE_MAX": "lots"}, "blob_inline_max"),
        ({"NOTARY_WEB_THREADS": "0"}, "web_threads"),
        ({"NOTARY_MAX_DOCUMENT_BYTES": "-5"}, "max_document_bytes"),
        ({"NOTARY_BLOB_STORE": "s3"}, "blob_store"),
        ({"NOTARY_TSA_URLS": " , "}, "tsa_urls"),
        ({"NOTARY_UNSAFE_WEBHOOK_LOOPBACK": "maybe"}, "unsafe_webhook_loopback"),
        ({"NOTARY_WEBHOOK_TIMEOUT": "0"}, "webhook_timeout"),
        ({"NOTARY_WEBHOOK_MAX_ATTEMPTS": "0"}, "webhook_max_attempts"),
    ],
)
def test_a_setting_that_cannot_be_understood_is_refused_by_name(tmp_path, env, named):
    with pytest.raises(ConfigError, match=named):
        load(tmp_path, **env)


def test_an_unknown_or_unreadable_config_file_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"web_thread": 2}))
    with pytest.raises(ConfigError, match="unknown setting: web_thread"):
        load(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"config\.json"):
        load(tmp_path)


def test_webhook_settings(tmp_path):
    defaults = load(tmp_path)
    assert defaults.unsafe_webhook_loopback is False
    assert defaults.unsafe_webhook_networks == ()
    assert defaults.webhook_max_attempts == 12
    settings = load(
        tmp_path,
        NOTARY_UNSAFE_WEBHOOK_LOOPBACK="yes",
        NOTARY_UNSAFE_WEBHOOK_NETWORKS="10.20.0.0/16, fd12::/48",
        NOTARY_WEBHOOK_RETRY_BASE="1m",
    )
    assert settings.unsafe_webhook_loopback is True
    assert settings.unsafe_webhook_networks == ("10.20.0.0/16", "fd12::/48")
    assert settings.webhook_retry_base == 60.0
    assert load(tmp_path, NOTARY_UNSAFE_WEBHOOK_LOOPBACK="0").unsafe_webhook_loopback is False
