"""Exceptions raised by the marketplace.

    MarketplaceError
    ├── ConfigError         bad user configuration (mgx.toml, config.toml, CLI input)
    ├── RegistryError       a registry could not be reached or answered badly
    │   └── NotFoundError   the registry (or cache) has no such server / version (exit 2)
    ├── ResolutionError     no version / package satisfies what was asked
    │   └── SpecifierError  a version specifier that does not parse (exit 2)
    ├── VerificationError   an artifact failed a digest or signature check
    ├── InstallError        an installer failed; nothing was committed
    └── LockError           mgx.lock is missing or out of date
        └── LockFormatError mgx.lock does not parse or holds unknown keys (exit 2)

The CLI turns any of these into a one-line message and an exit code: 2 for what the user
typed or wrote (an argument, mgx.toml, mgx.lock), 1 for an operation that failed (see the
exit-code table in docs/cli.md).
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
    # A name or version the user asked for that does not exist: bad input, not an outage.
    exit_code = 2


class ResolutionError(MarketplaceError):
    pass


class SpecifierError(ResolutionError):
    exit_code = 2


class VerificationError(MarketplaceError):
    pass


class InstallError(MarketplaceError):
    pass


class LockError(MarketplaceError):
    pass


class LockFormatError(LockError):
    exit_code = 2
