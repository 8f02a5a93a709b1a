"""A clone alone passes its tests: nothing under tests/ reads reference data from outside it.

The reference material lives in ``tests/data/`` (sources and licences in its SOURCE.md). The
pattern below is the one the project's before-stop check uses; it is assembled from pieces
so that this file does not match it itself.
"""

from __future__ import annotations

import re
from pathlib import Path

from registry_cache import snapshot
from tests.conftest import REPO, TEST_DATA

_DOTS = re.escape("..")
OUTSIDE = re.compile(
    rf'(parent|{_DOTS}) */ *"shared"'
    + "|"
    + rf"[\"']{_DOTS}/shared"
    + "|"
    + "MGX"
    + "_SHARED"
    + "|"
    + re.escape("/work/" + "shared")
)


def test_no_test_reads_outside_the_repository() -> None:
    offenders = []
    for path in sorted((REPO / "tests").rglob("*")):
        if not path.is_file() or TEST_DATA in path.parents or "__pycache__" in path.parts:
            continue
        if path.suffix not in {".py", ".toml", ".cfg", ".ini", ".json", ".yaml", ".md"}:
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == [], "tests must read tests/data, not ../shared:\n" + "\n".join(offenders)


def test_the_pattern_catches_what_it_is_for() -> None:
    # The check above can fail: each way of reaching ../shared seen in this project matches.
    for line in (
        "SHARED = REPO.parent / " + '"shared"',
        "Path(" + '"../' + 'shared/registry")',
        "os.environ['MGX" + "_SHARED']",
        'seed = "/work/' + 'shared/registry/seed.json"',
    ):
        assert OUTSIDE.search(line), line
    assert not OUTSIDE.search('TEST_DATA = REPO / "tests" / "data"')


def test_every_data_folder_names_its_source_and_licence() -> None:
    assert (TEST_DATA / "SOURCE.md").is_file()
    for folder in sorted(p for p in TEST_DATA.iterdir() if p.is_dir()):
        assert (folder / "SOURCE.md").is_file(), folder
        # Material written for mgx itself is under the repository's own licence (LICENSE).
        own = re.search(r"\bwritten for\b", (folder / "SOURCE.md").read_text(), re.IGNORECASE)
        assert own or list(folder.glob("LICENSE*")), f"{folder} has no licence file"
    assert (REPO / "LICENSE").is_file()


def test_the_snapshot_builds_from_the_copies_by_default(tmp_path: Path) -> None:
    """``python -m registry_cache.snapshot build`` reads tests/data unless told otherwise."""
    out = tmp_path / "snapshot.json.gz"
    assert snapshot.main(["build", "--out", str(out)]) == 0
    rebuilt = snapshot.load(out)
    assert len(rebuilt.documents) == len(snapshot.load().documents)
