"""Exceptions raised by the marketplace.

    MarketplaceError
    ├── ConfigError         bad user configuration (mgx.toml, config.toml, CLI input)
    ├── RegistryError       a registry could not be reached or answered badly
    │   └── NotFoundError   the registry (or cache) has no such server / version
    ├── ResolutionError     no version / package satisfies what was asked
    ├── VerificationError   an artifact failed a digest or signature check
    ├── InstallError        an installer failed; nothing was committed
    └── LockError           mgx.lock is missing, malformed or out of date

The CLI turns any of these into a one-line message and a non-zero exit code.
"""

from __future__ import annotations


class MarketplaceError(Exception):
    """Root of every error the marketplace raises on purpose."""

    exit_code = 1


class ConfigError(MarketplaceError):
    exit_code = 2


class RegistryError(MarketplaceError):
    pass


class NotFoundError(RegistryError):
    pass


class ResolutionError(MarketplaceError):
    pass


class VerificationError(MarketplaceError):
    pass


class InstallError(MarketplaceError):
    pass


class LockError(MarketplaceError):
    pass
