"""Key providers hold the root key-encryption key (KEK) and wrap/unwrap tenant keys with it."""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path
from typing import Protocol, runtime_checkable

from ._envelope import associated_data, open_envelope, seal
from ._errors import DecryptionError, KeyFileError
from ._secret import SecretBytes

__all__ = [
    "Argon2Params",
    "EnvKeyProvider",
    "KeyProvider",
    "LocalKeyFileProvider",
    "create_key_file",
]

_KEYFILE_FORMAT = "dialvault-keyfile"
_ROOT_KEY_VERSION = 1


@runtime_checkable
class KeyProvider(Protocol):
    """Wraps and unwraps small secrets (tenant keys) under a root KEK it never reveals."""

    @property
    def name(self) -> str: ...

    def wrap(self, secret: bytes, *, context: str) -> bytes:
        """Seal `secret`; `context` is bound as associated data and must match on unwrap."""
        ...

    def unwrap(self, wrapped: bytes, *, context: str) -> bytes:
        """Open a blob made by `wrap`; raises DecryptionError or KeyProviderUnavailable."""
        ...


class _RootKeyProvider:
    """Shared behaviour of providers whose root KEK is held in process memory."""

    def __init__(self, root_key: SecretBytes, name: str) -> None:
        if len(root_key) != 32:
            raise KeyFileError("the root key must be 32 bytes")
        self._root_key = root_key
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def wrap(self, secret: bytes, *, context: str) -> bytes:
        return seal(self._root_key.reveal(), _ROOT_KEY_VERSION, secret, associated_data("root", context))

    def unwrap(self, wrapped: bytes, *, context: str) -> bytes:
        return open_envelope(self._key_for_version, wrapped, associated_data("root", context))

    def _key_for_version(self, version: int) -> bytes | None:
        return self._root_key.reveal() if version == _ROOT_KEY_VERSION else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<redacted>)"


class EnvKeyProvider(_RootKeyProvider):
    """Root KEK given as base64 in an environment variable (tests, containers)."""

    def __init__(self, encoded_key: str) -> None:
        try:
            raw = base64.b64decode(encoded_key, validate=True)
        except (binascii.Error, ValueError):
            raise KeyFileError("the environment key is not valid base64") from None
        super().__init__(SecretBytes(raw), "env")


class Argon2Params:
    """argon2id cost parameters (RFC 9106 second recommendation by default)."""

    __slots__ = ("memory_cost", "parallelism", "time_cost")

    def __init__(self, time_cost: int = 3, memory_cost: int = 65536, parallelism: int = 4) -> None:
        self.time_cost = time_cost
        self.memory_cost = memory_cost
        self.parallelism = parallelism


def _derive(passphrase: str, salt: bytes, params: Argon2Params) -> bytes:
    # Imported here: only a key file's passphrase needs it, and every CLI start paid ~0.04 s to load it.
    from argon2.low_level import Type, hash_secret_raw  # noqa: PLC0415

    return hash_secret_raw(
        passphrase.encode("utf-8"),
        salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_cost,
        parallelism=params.parallelism,
        hash_len=32,
        type=Type.ID,
    )


def create_key_file(path: Path, passphrase: str, params: Argon2Params | None = None) -> None:
    """Write a new key file holding a fresh root KEK wrapped under argon2id(passphrase)."""
    params = params or Argon2Params()
    if path.exists():
        raise KeyFileError("a key file already exists; refusing to overwrite it")
    salt = os.urandom(16)
    wrapping_key = _derive(passphrase, salt, params)
    root_key = os.urandom(32)
    body = {
        "format": _KEYFILE_FORMAT,
        "version": 1,
        "kdf": {
            "alg": "argon2id",
            "salt": base64.b64encode(salt).decode(),
            "time_cost": params.time_cost,
            "memory_cost": params.memory_cost,
            "parallelism": params.parallelism,
        },
        "wrapped_root_key": base64.b64encode(
            seal(wrapping_key, 1, root_key, associated_data(_KEYFILE_FORMAT))
        ).decode(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(body, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())


class LocalKeyFileProvider(_RootKeyProvider):
    """Root KEK kept in a local key file, wrapped with AES-256-GCM under argon2id(passphrase)."""

    def __init__(self, path: Path, passphrase: str) -> None:
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            kdf = body["kdf"]
            if body.get("format") != _KEYFILE_FORMAT or kdf.get("alg") != "argon2id":
                raise KeyFileError("not a dialvault key file")
            params = Argon2Params(int(kdf["time_cost"]), int(kdf["memory_cost"]), int(kdf["parallelism"]))
            salt = base64.b64decode(kdf["salt"])
            wrapped = base64.b64decode(body["wrapped_root_key"])
        except (OSError, ValueError, KeyError, TypeError):
            raise KeyFileError("the key file is missing or malformed") from None
        wrapping_key = _derive(passphrase, salt, params)
        try:
            root_key = open_envelope(lambda _v: wrapping_key, wrapped, associated_data(_KEYFILE_FORMAT))
        except DecryptionError:
            raise KeyFileError("wrong passphrase or damaged key file") from None
        super().__init__(SecretBytes(root_key), "local")
