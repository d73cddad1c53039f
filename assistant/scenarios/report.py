"""Scenario reports: a self-contained HTML page for people, JUnit XML for CI systems."""

from __future__ import annotations

import platform
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import jinja2

from assistant.bench.stats import percentiles
from assistant.scenarios.runner import ScenarioResult

TEMPLATE = jinja2.Template("""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>carvoice scenarios: {{ passed }}/{{ results|length }} passed</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } table { border-collapse: collapse; margin: .5em 0; }
td, th { border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top; }
.pass { color: #176317; } .fail { color: #b00020; font-weight: bold; }
details.scenario { border: 1px solid #ddd; border-radius: 4px; margin: .4em 0; padding: .3em .6em; }
details.scenario.failed { border-color: #b00020; background: #fff5f5; }
details.scenario table { width: 100%; table-layout: fixed; } details.scenario td { overflow-wrap: anywhere; }
summary { cursor: pointer; } .failure { color: #b00020; white-space: pre-wrap; font-family: monospace; }
.dim { color: #777; } code { font-size: 12px; }
</style></head><body>
<h1 id="summary">carvoice scenarios:
<span class="{{ 'pass' if failed == 0 else 'fail' }}">{{ passed }} passed,
{{ failed }} failed</span> of {{ results|length }}</h1>
<p class="dim">{{ when }} on {{ machine }}; {{ duration }} s in all.</p>
<table id="latency"><tr><th>stage timing (recorded, not asserted)</th><th>turns</th><th>p50 ms</th>
<th>p95 ms</th></tr>
{% for name, stats in latency.items() %}<tr><td>{{ name }}</td><td>{{ stats.n }}</td>
<td>{{ '%.1f'|format(stats.p50) }}</td>
<td>{{ '%.1f'|format(stats.p95) }}</td></tr>{% endfor %}</table>
{% for result in results %}
<details class="scenario {{ 'passed' if result.passed else 'failed' }}"
 {% if not result.passed %}open{% endif %}
 data-status="{{ 'pass' if result.passed else 'fail' }}">
<summary>
<span class="{{ 'pass' if result.passed else 'fail' }}">{{ 'PASS' if result.passed else 'FAIL' }}</span>
{{ result.scenario.name }}
<span class="dim">{{ result.scenario.source }} · {{ result.scenario.tags|join(', ') }}
· {{ '%.2f'|format(result.duration_s) }} s</span></summary>
{% if result.scenario.description %}<p>{{ result.scenario.description }}</p>{% endif %}
{% if result.error %}<p class="failure">error: {{ result.error }}</p>{% endif %}
<table><tr><th>#</th><th>step</th><th>heard</th><th>reply</th><th>actions</th><th>state changes</th>
<th>timings ms</th></tr>
{% for step in result.steps %}<tr>
<td>{{ step.number }}</td><td><code>{{ step.step }}</code>{% for failure in step.failures %}
<div class="failure">{{ failure }}</div>{% endfor %}</td>
<td>{{ step.heard if step.heard is not none else '' }}</td>
<td>{{ '(ignored)' if step.ignored else (step.reply or '') }}{% if step.bus_error %}<br>
<span class="dim">vehicle:
{{ step.bus_error }}</span>{% endif %}</td>
<td>{% for action in step.actions %}
<code>{{ action.name }}({{ action.args|dictsort|map('join', '=')|join(', ') }})
-> {{ action.status }}</code><br>{% endfor %}</td>
<td>{% for path, change in step.changes.items() %}
<code>{{ path }}: {{ change[0] }} → {{ change[1] }}</code><br>
{% endfor %}</td>
<td>{% for name, ms in step.timings_ms.items() %}{{ name }} {{ '%.0f'|format(ms) }}<br>{% endfor %}</td>
</tr>{% endfor %}</table>
</details>
{% endfor %}
</body></html>
""", autoescape=True)


def latency_summary(results: list[ScenarioResult]) -> dict[str, dict[str, float]]:
    """Percentiles of each recorded stage timing over every step of every scenario."""
    samples: dict[str, list[float]] = {}
    for result in results:
        for step in result.steps:
            for name, ms in step.timings_ms.items():
                samples.setdefault(name, []).append(ms)
    return {name: percentiles(values) for name, values in sorted(samples.items())}


def write_html(results: list[ScenarioResult], path: Path) -> None:
    passed = sum(result.passed for result in results)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TEMPLATE.render(
        results=results, passed=passed, failed=len(results) - passed, latency=latency_summary(results),
        when=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        machine=platform.node() or "this machine", duration=round(sum(r.duration_s for r in results), 1)))


def write_junit(results: list[ScenarioResult], path: Path) -> None:
    suite = ET.Element("testsuite", name="carvoice scenarios", tests=str(len(results)),
                       failures=str(sum(not r.passed and r.error is None for r in results)),
                       errors=str(sum(r.error is not None for r in results)),
                       time=f"{sum(r.duration_s for r in results):.3f}")
    for result in results:
        case = ET.SubElement(suite, "testcase", name=result.scenario.name,
                             classname=str(result.scenario.source or "scenario"),
                             time=f"{result.duration_s:.3f}")
        if not result.passed:
            kind = "error" if result.error else "failure"
            first = result.error or next(f for step in result.steps for f in step.failures)
            ET.SubElement(case, kind, message=first).text = result.failure_message()
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
