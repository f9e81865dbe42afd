"""What each kind of process imports as it starts: the worker skips the certificate's libraries
(it is restarted after every crash, and never makes a certificate); a web process loads them at
start, so that its first certificate does not pay for the import."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.wallclock  # real worker and web processes on the machine clock

PROBE = """
import json, sys
from notary.config import Settings
from notary.runtime import Runtime
rt = Runtime(Settings.load())
rt.worker()
worker = "pyhanko.sign" in sys.modules
from notary.app import create_app
create_app(runtime=Runtime(Settings.load(), web=True))
print(json.dumps({"worker": worker, "web": "pyhanko.sign" in sys.modules}))
"""


def test_the_worker_starts_without_the_certificate_libraries_and_the_web_app_with_them(settings):
    env = {
        **os.environ,
        "NOTARY_INSTANCE_PATH": str(settings.instance_path),
        "NOTARY_DATABASE_URL": settings.database_url,
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"worker": False, "web": True}
