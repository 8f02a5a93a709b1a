"""``mgx model pull``: download a Hugging Face model into ``Settings.models_dir``.

A model id ``org/name`` lands in ``models_dir/org--name``. ``huggingface_hub`` resumes
interrupted downloads (it keeps ``.incomplete`` files under ``.cache/huggingface`` inside that
directory) and honours ``HF_HUB_OFFLINE=1`` (then only what is already there is used),
``HF_ENDPOINT`` (a mirror) and ``HF_TOKEN``. A local directory works wherever a model name does:
:func:`local_model_dir` maps both spellings to a directory when one exists.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from marketplace.settings import Settings
from runtime.errors import ModelInputError, ModelServerError

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


@dataclass(frozen=True, kw_only=True)
class PullResult:
    model: str
    path: Path
    files: int
    bytes: int
    local: bool  # the model was a local directory: nothing was downloaded


def model_slug(model: str) -> str:
    """Directory name for a model id: ``Qwen/Qwen2.5-7B`` -> ``Qwen--Qwen2.5-7B``."""
    return model.replace("/", "--")


def local_model_dir(model: str, *, settings: Settings) -> Path | None:
    """The directory holding ``model``: the path itself, or the pulled copy; None otherwise."""
    candidate = Path(model).expanduser()
    if candidate.is_dir():
        return candidate.resolve()
    if _REPO_ID.match(model):
        pulled = settings.models_dir / model_slug(model)
        if (pulled / "config.json").is_file():
            return pulled
    return None


def pull_model(
    model: str,
    *,
    settings: Settings,
    revision: str | None = None,
    token: str | None = None,
    progress: bool = False,
) -> PullResult:
    """Download ``model`` (or accept a local directory) and return where it is.

    Raises ModelServerError with a one-line reason (offline and not cached, no such repo,
    gated repo without a token, network failure). ``progress`` shows huggingface_hub's bars on
    stderr.
    """
    candidate = Path(model).expanduser()
    if candidate.is_dir():
        if not (candidate / "config.json").is_file():
            raise ModelInputError(f"{candidate} is a directory but has no config.json")
        return _result(model, candidate.resolve(), local=True)
    if not _REPO_ID.match(model):
        raise ModelInputError(
            f"{model!r} is neither a local directory nor a Hugging Face id like 'org/name'"
        )

    from huggingface_hub import errors as hf_errors
    from huggingface_hub import snapshot_download

    # huggingface_hub.utils exports these through a lazy __getattr__ and a computed __all__,
    # which mypy cannot read; both names exist at run time.
    from huggingface_hub.utils import (  # type: ignore[attr-defined]
        disable_progress_bars,
        enable_progress_bars,
    )

    target = settings.models_dir / model_slug(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
    (enable_progress_bars if progress else disable_progress_bars)()
    try:
        path = snapshot_download(
            model,
            revision=revision,
            local_dir=target,
            token=token,
            local_files_only=offline,
            # huggingface_hub reads HF_ENDPOINT once, at import; read it per call instead.
            endpoint=os.environ.get("HF_ENDPOINT") or None,
        )
    except hf_errors.GatedRepoError as exc:
        raise ModelServerError(
            f"{model} is gated: accept its licence on huggingface.co and set HF_TOKEN"
        ) from exc
    except hf_errors.RepositoryNotFoundError as exc:
        raise ModelServerError(
            f"no model {model!r} on the Hub (or it is private: set HF_TOKEN)"
        ) from exc
    except hf_errors.RevisionNotFoundError as exc:
        raise ModelServerError(f"{model} has no revision {revision!r}") from exc
    except hf_errors.LocalEntryNotFoundError as exc:
        if offline:
            raise ModelServerError(
                f"HF_HUB_OFFLINE is set and {model} is not in {target}; unset it to download"
            ) from exc
        raise ModelServerError(
            f"cannot reach the Hugging Face Hub to download {model} and it is not in {target}"
            " (check the network, HF_ENDPOINT, or set HF_HUB_OFFLINE=1 to use what is local)"
        ) from exc
    except (hf_errors.HfHubHTTPError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelServerError(f"download of {model} failed: {first}; rerun to resume") from exc
    finally:
        enable_progress_bars()
    return _result(model, Path(path), local=False)


def _result(model: str, path: Path, *, local: bool) -> PullResult:
    files = [p for p in path.rglob("*") if p.is_file() and ".cache" not in p.parts]
    return PullResult(
        model=model,
        path=path,
        files=len(files),
        bytes=sum(p.stat().st_size for p in files),
        local=local,
    )
