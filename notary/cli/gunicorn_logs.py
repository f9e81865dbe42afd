"""gunicorn's own lines (workers booting, timing out, exiting) in the notary's log format, so that
a ``notary serve`` writes one format on standard error: gunicorn loads this class by name
(``--logger-class``) in its master process."""

from __future__ import annotations

from typing import Any

from gunicorn import glogging

from notary.config import ConfigError, Settings
from notary.logs import JSON, RequestContext, json_formatter


class NotaryGunicornLogger(glogging.Logger):  # type: ignore[misc]
    """gunicorn's logger, its handlers writing JSON lines unless ``NOTARY_LOG_FORMAT=text``."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        try:
            log_format = Settings.load().log_format
        except ConfigError:
            log_format = JSON  # the app reports the bad setting itself when it starts
        if log_format != JSON:
            return
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(json_formatter())
                handler.addFilter(RequestContext())
