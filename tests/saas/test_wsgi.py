"""The web process: the WSGI module loads the URL confs before serving, and gunicorn forks its
workers from a master that did (gunicorn.conf.py, preload_app), so a replaced worker's first request
pays no import."""

import json
import runpy
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.conftest import ROOT, serving_gunicorn, subprocess_env

_PROBE = """
import json, sys
import saas.wsgi
from django.db import connections
print(json.dumps({
    "tenant_urls": "saas.urls_tenant" in sys.modules,
    "pysaml2": "saml2.sigver" in sys.modules,
    "connections": [c.connection is not None for c in connections.all()],
}))
"""


def test_the_wsgi_module_loads_both_url_confs_and_opens_no_connection(django_db_setup):
    """pysaml2 builds its XML schema validators at import (~0.6 s): the first request of every new
    worker used to wait for them. Nothing may be connected before gunicorn forks, though."""
    probe = [sys.executable, "-c", _PROBE]
    out = subprocess.run(probe, cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == {"tenant_urls": True, "pysaml2": True, "connections": [False]}


def _conf(monkeypatch, **env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_workers_fork_from_a_loaded_master_and_are_replaced_at_spread_out_counts(monkeypatch):
    monkeypatch.delenv("GUNICORN_PRELOAD", raising=False)
    monkeypatch.delenv("GUNICORN_MAX_REQUESTS", raising=False)
    conf = _conf(monkeypatch)
    assert conf["preload_app"] is True
    assert (conf["max_requests"], conf["max_requests_jitter"]) == (5000, 2500)
    assert _conf(monkeypatch, GUNICORN_PRELOAD="false")["preload_app"] is False
    assert _conf(monkeypatch, GUNICORN_MAX_REQUESTS="800")["max_requests_jitter"] == 400


def test_workers_replaced_every_few_requests_keep_answering(fresh_tenant):
    """Forked from the preloaded master, replaced after 3 to 4 requests each: every concurrent request
    is routed to its tenant and answered (a connection opened before the fork would be shared by the
    workers and garble their replies)."""
    headers = {"Host": f"{fresh_tenant.slug}.localhost"}
    with serving_gunicorn("--max-requests", "3", "--max-requests-jitter", "1") as url:

        def get(_: int) -> tuple[int, str]:
            response = requests.get(f"{url}/api/v1/auth/me", headers=headers, timeout=20)
            return response.status_code, response.json()["error"]["code"]

        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(get, range(40)))
    assert answers == [(401, "not_authenticated")] * 40
