"""kill -9 at every named point of install, update and remove leaves a consistent project.

Each trial copies a prepared project and MGX_HOME, runs the real ``mgx`` in a subprocess with
``MGX_TEST_CRASH_AT=<point>`` (the process SIGKILLs itself there), and then checks, before
any recovery, that the lock parses and names only installed tools and that both files are the
old or the new ones; then that the next command rolls an interrupted commit forward (or leaves
the old state), that ``sync --frozen`` accepts the result, and that no staging debris or unused
install directory remains.
"""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest

from marketplace import commands
from marketplace.installers import is_installed, tool_dir
from marketplace.lockfile import read_lock, unsatisfied
from marketplace.manifest import read_manifest
from marketplace.project import Project, find_project
from marketplace.settings import Settings
from marketplace.transaction import CRASH_POINTS
from tests.lock.conftest import World, run_mgx

ECHO = "io.github.test/echo"
OTHER = "io.github.test/other"
OPS = {
    "install": ["tool", "install", OTHER],
    "update": ["tool", "update"],
    "remove": ["tool", "remove", ECHO],
}
# The points each operation passes (remove resolves, installs and checks nothing).
REACHED = {
    "install": CRASH_POINTS,
    "update": CRASH_POINTS,
    "remove": (
        "locked",
        "journal-written",
        "manifest-written",
        "lock-written",
        "committed",
        "collected",
    ),
}
COMMITTED = CRASH_POINTS[CRASH_POINTS.index("journal-written") :]


def prepare(world: World, base: Path) -> tuple[Path, Path]:
    """A project with echo 1.0.0 under ``^1.0`` (so update has 1.1.0 to go to)."""
    world.publish(ECHO, ["1.0.0", "1.1.0"])
    world.publish(OTHER, ["0.5.0"])
    world.serve()
    project_dir = base / "proj"
    project_dir.mkdir(parents=True)
    project = find_project(project_dir, create=True, settings=world.settings)
    commands.install(project, ECHO, "1.0.0", check=False)
    text = project.manifest_path.read_text().replace('"1.0.0"', '"^1.0"')
    project.manifest_path.write_text(text)
    return project_dir, Path(str(world.settings.data_dir.parent))


def trial_copy(project_dir: Path, home: Path, dest: Path) -> tuple[Project, Settings]:
    shutil.copytree(project_dir, dest / "proj", symlinks=True)
    shutil.copytree(home, dest / "home", symlinks=True)
    shutil.rmtree(dest / "home" / "state" / "tool-refs", ignore_errors=True)
    settings = Settings.from_env({"MGX_HOME": str(dest / "home")})
    return Project(root=dest / "proj", settings=settings), settings


def lock_installed(project: Project) -> bool:
    lock = read_lock(project.lock_path)
    assert lock is not None
    return all(is_installed(project.settings, t.package) for t in lock.tools.values())


def effect(op: str, project: Project) -> bool:
    lock = read_lock(project.lock_path)
    assert lock is not None
    if op == "install":
        return OTHER in lock.tools
    if op == "update":
        return lock.tools[ECHO].version == "1.1.0"
    return ECHO not in lock.tools


@pytest.mark.parametrize(("op", "point"), [(op, p) for op in OPS for p in REACHED[op]])
def test_kill_at_point_leaves_consistent_state(
    world: World, tmp_path: Path, op: str, point: str
) -> None:
    project_dir, home = prepare(world, tmp_path / "base")
    project, settings = trial_copy(project_dir, home, tmp_path / "trial")
    old_manifest = project.manifest_path.read_text()
    old_lock = project.lock_path.read_text()
    env = {"MGX_HOME": str(settings.data_dir.parent), "MGX_TEST_CRASH_AT": point}

    extra = [] if op == "remove" else ["--check-timeout=120"]
    killed = run_mgx(*OPS[op], *extra, cwd=project.root, env=env)
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    # Right after the kill, before anything recovers: the lock is whole and installed.
    assert lock_installed(project)
    if point not in COMMITTED:
        assert project.manifest_path.read_text() == old_manifest
        assert project.lock_path.read_text() == old_lock

    # The next command (any: here a read) finishes or forgets the interrupted change.
    listed = run_mgx("tool", "list", "--json", cwd=project.root, env={"MGX_HOME": env["MGX_HOME"]})
    assert listed.returncode == 0, listed.stderr
    manifest = read_manifest(project.manifest_path)
    lock = read_lock(project.lock_path)
    assert unsatisfied(manifest, lock) == []
    assert effect(op, project) == (point in COMMITTED)
    assert not (project.root / ".mgx" / "journal.json").exists()

    synced = run_mgx(
        "tool", "sync", "--frozen", cwd=project.root, env={"MGX_HOME": env["MGX_HOME"]}
    )
    assert synced.returncode == 0, synced.stderr
    assert lock_installed(project)
    assert not settings.staging_dir.exists() or not any(settings.staging_dir.iterdir())
    assert lock is not None
    wanted = {tool_dir(settings, t.package).name for t in lock.tools.values()}
    assert {p.name for p in settings.tools_dir.iterdir()} == wanted
