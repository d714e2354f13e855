"""Use cases. Callers own the unit of work: services flush but never commit."""

from ._context import Actor, Vault
from ._keyrings import KeyringCache
from ._phone import preload_phone_data
from .bootstrap import InitializedVault, initialize_vault, open_vault, vault_exists
from .tenants import IssuedKey, Role

__all__ = [
    "Actor",
    "InitializedVault",
    "IssuedKey",
    "KeyringCache",
    "Role",
    "Vault",
    "initialize_vault",
    "open_vault",
    "preload_phone_data",
    "vault_exists",
]
