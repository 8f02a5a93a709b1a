"""`mgx model pull` with the real huggingface_hub client against a loopback Hub (HF_ENDPOINT).

The loopback server answers the Hub's documented HTTP API for public repos: repo info
(``/api/models/ID/revision/REV``), the file tree (``/api/models/ID/tree/SHA``), and file
downloads (``/ID/resolve/SHA/FILE`` with ``X-Repo-Commit`` / ``ETag`` headers, ranges for
resumed downloads). No Hugging Face access is needed.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from marketplace.settings import Settings
from runtime.cli import main
from runtime.errors import ModelServerError
from runtime.models.pull import local_model_dir, pull_model

REPO_ID = "acme/tiny-chat"
SHA = "0123456789abcdef0123456789abcdef01234567"
FILES = {
    "config.json": json.dumps({"model_type": "qwen2", "num_hidden_layers": 2}).encode(),
    "tokenizer_config.json": b'{"chat_template": "<tool_call>"}',
    "model.safetensors": bytes(range(256)) * 400,
}


class LoopbackHub:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
                self._serve(body=False)

            def do_GET(self) -> None:  # noqa: N802
                self._serve(body=True)

            def _serve(self, *, body: bool) -> None:
                path = self.path.split("?", 1)[0]
                outer.requests.append((self.command, path))
                if m := re.fullmatch(r"/api/models/([^/]+/[^/]+)/revision/([^/]+)", path):
                    if m.group(1) != REPO_ID:
                        return self._missing()
                    info = {
                        "id": REPO_ID,
                        "sha": SHA,
                        "siblings": [{"rfilename": name} for name in FILES],
                    }
                    return self._json(info)
                if m := re.fullmatch(r"/api/models/([^/]+/[^/]+)/tree/([^/]+)(/.*)?", path):
                    if m.group(1) != REPO_ID:
                        return self._missing()
                    tree = [
                        {
                            "type": "file",
                            "path": name,
                            "size": len(data),
                            "oid": hashlib.sha1(data).hexdigest(),
                        }
                        for name, data in FILES.items()
                    ]
                    return self._json(tree)
                if m := re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path):
                    data = FILES.get(m.group(3))
                    if m.group(1) != REPO_ID or data is None:
                        return self._missing()
                    start = 0
                    if rng := re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", "")):
                        start = int(rng.group(1))
                    self.send_response(206 if start else 200)
                    self.send_header("X-Repo-Commit", SHA)
                    self.send_header("ETag", f'"{hashlib.sha1(data).hexdigest()}"')
                    self.send_header("Content-Length", str(len(data) - start))
                    self.end_headers()
                    if body:
                        self.wfile.write(data[start:])
                    return None
                return self._missing()

            def _json(self, value: object) -> None:
                data = json.dumps(value).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _missing(self) -> None:
                data = b'{"error": "Repository not found"}'
                self.send_response(404)
                self.send_header("X-Error-Code", "RepoNotFound")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def downloads(self) -> int:
        return sum(1 for method, path in self.requests if method == "GET" and "/resolve/" in path)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackHub]:
    server = LoopbackHub()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    try:
        yield server
    finally:
        server.close()


def test_pull_downloads_into_models_dir_and_resolves(hub: LoopbackHub, mgx_home: Path) -> None:
    settings = Settings.from_env()
    result = pull_model(REPO_ID, settings=settings)
    assert result.path == settings.models_dir / "acme--tiny-chat"
    assert result.local is False and result.files == len(FILES)
    assert result.bytes == sum(len(d) for d in FILES.values())
    for name, data in FILES.items():
        assert (result.path / name).read_bytes() == data
    assert hub.downloads() == len(FILES)
    # A pulled model resolves by its Hub id (serve uses the directory, not the network).
    assert local_model_dir(REPO_ID, settings=settings) == result.path


def test_second_pull_downloads_nothing_and_offline_uses_local(
    hub: LoopbackHub, mgx_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings.from_env()
    pull_model(REPO_ID, settings=settings)
    first = hub.downloads()
    again = pull_model(REPO_ID, settings=settings)
    assert hub.downloads() == first  # already complete: nothing fetched again
    assert again.files == len(FILES)

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub.requests.clear()
    offline = pull_model(REPO_ID, settings=settings)
    assert offline.path == again.path and hub.requests == []


def test_a_damaged_file_is_fetched_again(hub: LoopbackHub, mgx_home: Path) -> None:
    settings = Settings.from_env()
    result = pull_model(REPO_ID, settings=settings)
    (result.path / "model.safetensors").unlink()
    before = hub.downloads()
    pull_model(REPO_ID, settings=settings)
    assert hub.downloads() == before + 1
    assert (result.path / "model.safetensors").read_bytes() == FILES["model.safetensors"]


def test_unknown_repo_is_a_clear_error(hub: LoopbackHub, mgx_home: Path) -> None:
    with pytest.raises(ModelServerError, match="no model 'acme/missing' on the Hub"):
        pull_model("acme/missing", settings=Settings.from_env())


def test_cli_pull_json(
    hub: LoopbackHub, mgx_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["model", "pull", REPO_ID, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == REPO_ID and out["files"] == len(FILES) and out["local"] is False
