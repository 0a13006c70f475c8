"""The Prometheus alerting rules in docs/alerts.yml are valid and fire on sample series (issue 15, item 6).

promtool comes from Debian's `prometheus` package (.ci/run installs it)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool not installed (Debian package `prometheus`: apt-get install prometheus)",
)


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PROMTOOL, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)  # type: ignore[list-item]


def test_the_rules_are_valid():
    done = _promtool("check", "rules", "docs/alerts.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 8 rules found" in done.stdout


def test_the_rules_fire_on_the_sample_series():
    done = _promtool("test", "rules", "tests/saas/alerts_test.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


# PromQL words and label names in docs/alerts.yml's expressions; what is left are metric names.
_NOT_METRICS = {"sum", "max", "by", "on", "and", "rate", "increase", "service", "tenant", "outcome", "status"}
_NOT_METRICS |= {"job", "saas", "ready", "dead", "m"}
_EXTERNAL = {"up", "probe_success"}  # Prometheus' own, and the blackbox exporter's probe of /health/ready


def test_the_rules_read_only_metrics_the_platform_exports():
    """A renamed metric must not leave an alert that can never fire."""
    import django_prometheus
    import yaml

    groups = yaml.safe_load((ROOT / "docs/alerts.yml").read_text())["groups"]
    exprs = " ".join(rule["expr"] for group in groups for rule in group["rules"])
    names = set(re.findall(r"[a-z_]+", re.sub(r'"[^"]*"', "", exprs))) - _NOT_METRICS - _EXTERNAL
    prometheus_middleware = Path(django_prometheus.__file__).parent / "middleware.py"
    sources = "".join(
        path.read_text()
        for path in (ROOT / "integrations/metrics.py", ROOT / "integrations/health.py", prometheus_middleware)
    )
    assert names
    for name in names:
        assert f'"{name.removesuffix("_total")}"' in sources or f'"{name}"' in sources, name
