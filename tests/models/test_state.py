"""State records on disk: round trips, atomic writes, key files, names."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from marketplace._fs import atomic_write
from marketplace.settings import Settings
from runtime.errors import ModelServerError
from runtime.models.state import (
    ExternalRecord,
    ServerRecord,
    StateStore,
    check_name,
    connect_host,
    is_loopback,
)


def _record(**overrides: object) -> ServerRecord:
    fields = dict(
        name="qwen",
        model="Qwen/Qwen2.5-7B-Instruct",
        served_model="Qwen/Qwen2.5-7B-Instruct",
        host="127.0.0.1",
        port=8001,
        pid=4242,
        python="/venv/bin/python",
        argv=("/venv/bin/python", "-m", "vllm.entrypoints.openai.api_server"),
        log_path="/tmp/log",
        started_at=1.0,
        parser="hermes",
        options={"model": "Qwen/Qwen2.5-7B-Instruct", "extra": ["--seed", "1"]},
    )
    fields.update(overrides)
    return ServerRecord(**fields)


def test_server_record_round_trip(mgx_home: Path) -> None:
    store = StateStore(Settings.from_env())
    record = _record()
    path = store.save_server(record)
    assert path.name == "qwen@8001.json"
    data = json.loads(path.read_text())
    assert data["url"] == "http://127.0.0.1:8001/v1" and data["pid"] == 4242
    assert store.servers() == [record]
    assert store.servers("other") == []
    replica = _record(port=8002, pid=4343)
    store.save_server(replica)
    assert [r.port for r in store.servers("qwen")] == [8001, 8002]
    store.remove_server(record)
    assert store.servers() == [replica]


def test_wildcard_hosts_are_reached_on_loopback() -> None:
    assert _record(host="0.0.0.0").url == "http://127.0.0.1:8001/v1"
    assert _record(host="::").url == "http://[::1]:8001/v1"
    assert _record(host="10.0.0.5").url == "http://10.0.0.5:8001/v1"
    assert connect_host("fe80::1") == "[fe80::1]"


def test_corrupt_state_file_is_a_clear_error(mgx_home: Path) -> None:
    store = StateStore(Settings.from_env())
    store.servers_dir.mkdir(parents=True)
    (store.servers_dir / "bad@1.json").write_text("{not json")
    with pytest.raises(ModelServerError, match="corrupt state file .*bad@1.json"):
        store.servers()


def test_external_record_round_trip(mgx_home: Path) -> None:
    store = StateStore(Settings.from_env())
    record = ExternalRecord(
        name="cloud", urls=("https://api.example/v1",), model="m", api_key_env="K"
    )
    store.save_external(record)
    assert store.external("cloud") == record and store.external("nope") is None
    assert store.remove_external("cloud") is True
    assert store.remove_external("cloud") is False


def test_api_key_file_is_private_and_stable(mgx_home: Path) -> None:
    store = StateStore(Settings.from_env())
    path = store.ensure_api_key("qwen")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.keys_dir.stat().st_mode) == 0o700
    key = path.read_text().strip()
    assert len(key) >= 40
    assert store.ensure_api_key("qwen").read_text().strip() == key  # reused, not rotated
    assert store.ensure_api_key("other").read_text().strip() != key


def test_atomic_write_leaves_no_temp_files_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    atomic_write(target, "old")

    with pytest.raises(TypeError):
        atomic_write(target, 123)  # type: ignore[arg-type]  # write() of a non-str fails
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


@pytest.mark.parametrize("name", ["qwen", "Qwen2.5-7B", "a_b.c-d", "x" * 64])
def test_valid_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "../x", "a/b", "-lead", "x" * 65, "sp ace", "a@b"])
def test_invalid_names(name: str) -> None:
    with pytest.raises(ModelServerError, match="invalid model name"):
        check_name(name)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("[::1]", True),
     ("localhost", True), ("0.0.0.0", False), ("::", False), ("10.1.2.3", False),
     ("myhost.example", False)],
)  # fmt: skip
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
