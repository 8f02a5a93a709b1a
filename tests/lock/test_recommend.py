"""`mgx tool recommend`: an installable, verified server ranks above a seed entry without
packages, even when the seed matches the task's words better, and each says why."""

from __future__ import annotations

import json
from pathlib import Path

from marketplace.usage import UsageRecorder
from tests.lock.conftest import OFFICIAL, World, run_mgx, server_doc

QUALITY = "com.example.quality/v1"


def test_installable_verified_server_ranks_above_a_seed(world: World, project_dir: Path) -> None:
    weather = server_doc(
        "io.github.test/weather",
        "1.0.0",
        [world.bundle("io.github.test/weather", "1.0.0")],
        latest=True,
    )
    weather["server"]["description"] = "Weather forecasts."
    weather["_meta"][QUALITY] = {"verified": True, "downloads": 12000, "rating": 4.5}
    seed = server_doc("io.github.test/weather-forecast-seed", "0.0.1-seed", [], latest=True)
    seed["server"]["description"] = "Weather forecast, weather alerts, weather radar, forecast."
    world.docs += [weather, seed]
    world.publish("io.github.test/echo", ["1.0.0"])
    world.serve()

    done = run_mgx("tool", "recommend", "weather forecast", "--json", cwd=project_dir)
    assert done.returncode == 0, done.stderr
    recs = json.loads(done.stdout)
    names = [r["name"] for r in recs]
    assert names.index("io.github.test/weather") < names.index(
        "io.github.test/weather-forecast-seed"
    )
    top, low = recs[names.index("io.github.test/weather")], recs[-1]
    assert top["installable"] is True
    assert "installable here (mcpb)" in top["reasons"]
    assert f"verified provenance (registry _meta {QUALITY})" in top["reasons"]
    assert "active" in top["reasons"] and "downloads 12000" in top["reasons"]
    assert "rating 4.5" in top["reasons"]
    assert top["quality"] == {f"{QUALITY}.downloads": 12000, f"{QUALITY}.rating": 4.5}
    assert low["name"] == "io.github.test/weather-forecast-seed" and not low["installable"]
    assert "not installable here: no package" in low["reasons"]
    assert OFFICIAL not in json.dumps(top["quality"])

    # Co-usage: once weather has been used beside the project's echo, that is a reason too.
    assert run_mgx("tool", "install", "echo", cwd=project_dir).returncode == 0
    recorder = UsageRecorder.from_env()
    recorder.record("echo", "echo", error=False, seconds=0.01)
    recorder.record("weather", "forecast", error=False, seconds=0.02)
    recorder.flush()
    again = json.loads(run_mgx("tool", "recommend", "weather", "--json", cwd=project_dir).stdout)
    first = next(r for r in again if r["name"] == "io.github.test/weather")
    assert "used with this project's tools in 1 session(s)" in first["reasons"]
    assert "io.github.test/echo" not in [r["name"] for r in again]  # already in the project

    table = run_mgx("tool", "recommend", "weather", cwd=project_dir)
    assert table.returncode == 0 and "installable here (mcpb)" in table.stdout


def test_a_project_tool_matching_the_task_is_named_as_left_out(
    world: World, project_dir: Path
) -> None:
    """A server the project already has is not recommended, and the user is told why."""
    world.publish("io.github.test/echo", ["1.0.0"])
    world.serve()
    assert run_mgx("tool", "install", "echo", cwd=project_dir).returncode == 0
    done = run_mgx("tool", "recommend", "echo", "--json", cwd=project_dir)
    assert done.returncode == 0
    assert "io.github.test/echo" not in [r["name"] for r in json.loads(done.stdout)]
    assert "already in this project, so left out: io.github.test/echo" in done.stderr
