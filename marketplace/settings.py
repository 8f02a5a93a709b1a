"""Every filesystem root mgx uses, in one place.

Tests (and users who want a self-contained install) set ``MGX_HOME``; everything then lives
under it. Otherwise the platform's conventional directories are used (via platformdirs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

OFFICIAL_REGISTRY = "https://registry.modelcontextprotocol.io"


@dataclass(frozen=True, kw_only=True)
class Settings:
    config_dir: Path
    data_dir: Path
    cache_dir: Path
    state_dir: Path

    @classmethod
    def from_env(cls, env: os._Environ[str] | dict[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = env.get("MGX_HOME")
        if home:
            root = Path(home).expanduser().resolve()
            return cls(
                config_dir=root / "config",
                data_dir=root / "data",
                cache_dir=root / "cache",
                state_dir=root / "state",
            )
        import platformdirs  # imported lazily: only needed without MGX_HOME

        return cls(
            config_dir=Path(platformdirs.user_config_dir("mgx")),
            data_dir=Path(platformdirs.user_data_dir("mgx")),
            cache_dir=Path(platformdirs.user_cache_dir("mgx")),
            state_dir=Path(platformdirs.user_state_dir("mgx")),
        )

    # --- registry data -------------------------------------------------------------------
    @property
    def config_file(self) -> Path:
        """User configuration: configured registries (never token values)."""
        return self.config_dir / "config.toml"

    @property
    def cache_db(self) -> Path:
        """The SQLite registry cache."""
        return self.cache_dir / "registry.sqlite3"

    # --- installs ------------------------------------------------------------------------
    @property
    def tools_dir(self) -> Path:
        """Installed tool environments, one directory per (name, version, package digest)."""
        return self.data_dir / "tools"

    @property
    def staging_dir(self) -> Path:
        """Where installs are built before being renamed into ``tools_dir``."""
        return self.data_dir / "staging"

    # --- runtime -------------------------------------------------------------------------
    @property
    def models_dir(self) -> Path:
        """Models downloaded with ``mgx model pull``."""
        return self.data_dir / "models"

    @property
    def model_state_dir(self) -> Path:
        """State files and logs of managed model servers."""
        return self.state_dir / "models"
