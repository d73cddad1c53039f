"""The soak benchmark, short: ``carvoice bench soak`` with 3 vehicles on a real Mosquitto restarted every 8 s."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from assistant.cli import app


def test_a_short_soak_loses_nothing_and_applies_nothing_twice():
    result = CliRunner().invoke(app, ["bench", "soak", "--minutes", "0.34", "--restart-every", "8", "--vehicles", "3",
                                      "--json"])
    report = json.loads(result.stdout)
    requests, turns = report["requests"], report["turns"]
    assert report["broker_restarts"] >= 1
    assert requests["acks"] > 0 and requests["sent"] == requests["acks"] + requests["failed_reported"]
    assert requests["lost"] == 0, requests["lost_detail"]
    assert requests["duplicated"] == 0 and report["vehicle_side"]["applied_twice"] == 0
    assert requests["applied_late"] == 0, requests["applied_late_detail"]
    assert turns["spoken"] > 0 and turns["without_reply"] == 0, turns["unanswered"]
    assert report["passed"] and result.exit_code == 0
