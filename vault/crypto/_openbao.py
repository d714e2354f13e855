"""A key provider whose root KEK lives in OpenBao's (or HashiCorp Vault's) Transit engine.

The root key never leaves OpenBao: `wrap` and `unwrap` send the small secret (a tenant
key) to Transit's `encrypt` / `decrypt` endpoints and keep only the `vault:vN:...`
ciphertext string.

Context binding: the transit key is created with `derived=true`, and every call sends
`context` = base64(b"dialvault:" + context). OpenBao derives a per-context AES-256-GCM
key from the root key, so a blob opened with another context fails authentication,
exactly as associated data would. We do not use Transit's `associated_data` parameter:
encrypt/decrypt accept it, but `/rewrap` does not (OpenBao 2.x), so AAD-bound blobs
could only be re-wrapped by decrypting them in our process. With a derived key,
`rewrap` moves a blob to the newest key version entirely inside OpenBao.
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Any

from ._errors import DecryptionError, KeyProviderUnavailable

if TYPE_CHECKING:
    import httpx

__all__ = ["OpenBaoKeyProvider"]

_KEY_TYPE = "aes256-gcm96"
_CONTEXT_PREFIX = b"dialvault:"
_CIPHERTEXT = re.compile(r"\Avault:v([1-9][0-9]{0,9}):[A-Za-z0-9+/=]+\Z")
# Transit's answers (HTTP 400) to a blob it cannot open: all become one DecryptionError.
_DECRYPT_FAILURES = (
    "message authentication failed",
    "invalid ciphertext",
    "missing 'context'",
    "disallowed by policy",
)


class OpenBaoKeyProvider:
    """Wraps and unwraps tenant keys with an OpenBao Transit key (fails closed when OpenBao is down)."""

    def __init__(
        self,
        addr: str,
        token: str,
        key_name: str = "dialvault-root",
        *,
        mount: str = "transit",
        timeout: float = 2.0,
        namespace: str | None = None,
    ) -> None:
        if not addr.startswith(("http://", "https://")):
            raise ValueError("the OpenBao address must start with http:// or https://")
        if not token:
            raise ValueError("an OpenBao token is required")
        for label, part in (("key_name", key_name), ("mount", mount)):
            if not part or not re.fullmatch(r"[A-Za-z0-9._/-]+", part) or ".." in part:
                raise ValueError(f"invalid OpenBao {label}")
        self._addr = addr.rstrip("/")
        self._key_name = key_name
        self._mount = mount.strip("/")
        self._timeout = timeout
        self._token = token
        headers = {"X-Vault-Request": "true"}
        if namespace:
            headers["X-Vault-Namespace"] = namespace
        import httpx  # noqa: PLC0415 - not at module level: a vault with a local key file never loads it

        self._client = httpx.Client(
            base_url=f"{self._addr}/v1/",
            headers=headers,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16, keepalive_expiry=30.0),
            follow_redirects=False,
            trust_env=False,
        )

    # -- KeyProvider protocol -------------------------------------------------------------

    @property
    def name(self) -> str:
        return "openbao"

    @property
    def key_name(self) -> str:
        return self._key_name

    def wrap(self, secret: bytes, *, context: str) -> bytes:
        """Encrypt `secret` under the newest transit key version, bound to `context`."""
        body = {"plaintext": _b64(secret), "context": _context(context)}
        data = self._post(f"{self._mount}/encrypt/{self._key_name}", body, decrypting=False)
        return _ciphertext_of(data)

    def unwrap(self, wrapped: bytes, *, context: str) -> bytes:
        """Decrypt a blob made by `wrap`; DecryptionError for a bad blob or wrong context."""
        ciphertext = _parse(wrapped)[1]
        body = {"ciphertext": ciphertext, "context": _context(context)}
        data = self._post(f"{self._mount}/decrypt/{self._key_name}", body, decrypting=True)
        try:
            return base64.b64decode(str(data["plaintext"]), validate=True)
        except (KeyError, TypeError, ValueError):
            raise KeyProviderUnavailable("OpenBao sent a malformed decrypt answer") from None

    # -- rotation and key management ------------------------------------------------------

    def rewrap(self, wrapped: bytes, *, context: str) -> bytes:
        """Move a blob to the newest key version inside OpenBao; the plaintext never reaches us."""
        ciphertext = _parse(wrapped)[1]
        body = {"ciphertext": ciphertext, "context": _context(context)}
        data = self._post(f"{self._mount}/rewrap/{self._key_name}", body, decrypting=True)
        return _ciphertext_of(data)

    @staticmethod
    def key_version_of(wrapped: bytes) -> int:
        """The transit key version a blob was wrapped with (DecryptionError if it is not one)."""
        return _parse(wrapped)[0]

    def latest_version(self) -> int:
        """The newest version of the transit key (the one `wrap` uses)."""
        data = self._read_key()
        if data is None:
            raise KeyProviderUnavailable("the OpenBao transit key does not exist")
        return _int_field(data, "latest_version")

    def ensure_key(self) -> None:
        """Create the transit key (derived aes256-gcm96) if missing; check it if present. Idempotent."""
        data = self._read_key()
        if data is None:
            self._post(
                f"{self._mount}/keys/{self._key_name}",
                {"type": _KEY_TYPE, "derived": True, "exportable": False},
                decrypting=False,
            )
            data = self._read_key()
            if data is None:
                raise KeyProviderUnavailable("OpenBao did not create the transit key")
        if data.get("type") != _KEY_TYPE or data.get("derived") is not True:
            raise KeyProviderUnavailable(f"the OpenBao transit key must be a derived {_KEY_TYPE} key; this one is not")

    def rotate(self) -> int:
        """Add a new key version (new wraps use it; old blobs still unwrap). Returns the new version."""
        data = self._post(f"{self._mount}/keys/{self._key_name}/rotate", {}, decrypting=False)
        if "latest_version" in data:
            return _int_field(data, "latest_version")
        return self.latest_version()

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpenBaoKeyProvider:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"OpenBaoKeyProvider(addr={self._addr!r}, key_name={self._key_name!r}, "
            f"mount={self._mount!r}, token=<redacted>)"
        )

    __str__ = __repr__

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("OpenBaoKeyProvider cannot be pickled")

    # -- HTTP -------------------------------------------------------------------------------

    def _read_key(self) -> dict[str, Any] | None:
        response = self._send("GET", f"{self._mount}/keys/{self._key_name}", None)
        if response.status_code == 404:
            return None
        return self._data_of(response, decrypting=False)

    def _post(self, path: str, body: dict[str, Any], *, decrypting: bool) -> dict[str, Any]:
        return self._data_of(self._send("POST", path, body), decrypting=decrypting)

    def _send(self, method: str, path: str, body: dict[str, Any] | None) -> httpx.Response:
        # The exception is raised outside the `except` block so that it carries no
        # __context__ (the httpx request, headers and token included).
        import httpx  # noqa: PLC0415

        failure: str | None = None
        try:
            return self._client.request(method, path, json=body, headers={"X-Vault-Token": self._token})
        except httpx.TimeoutException:
            failure = f"OpenBao at {self._addr} did not answer within {self._timeout:g} s"
        except httpx.HTTPError as exc:
            failure = f"OpenBao at {self._addr} is unreachable ({type(exc).__name__})"
        raise KeyProviderUnavailable(failure)

    def _data_of(self, response: httpx.Response, *, decrypting: bool) -> dict[str, Any]:
        status = response.status_code
        if status in (200, 204):
            if status == 204 or not response.content:
                return {}
            try:
                payload = response.json()
            except ValueError:
                payload = None
            data = payload.get("data") if isinstance(payload, dict) else None
            if not isinstance(data, dict):
                raise KeyProviderUnavailable("OpenBao sent a malformed answer")
            return data
        message = self._error_text(response)
        if decrypting and status == 400 and any(f in message for f in _DECRYPT_FAILURES):
            raise DecryptionError()
        if status == 503:
            raise KeyProviderUnavailable(f"OpenBao at {self._addr} is sealed or in standby (HTTP 503)")
        if status >= 500:
            raise KeyProviderUnavailable(f"OpenBao at {self._addr} failed (HTTP {status})")
        raise KeyProviderUnavailable(f"OpenBao refused the request (HTTP {status}: {message})")

    def _error_text(self, response: httpx.Response) -> str:
        try:
            errors = response.json().get("errors")
            text = "; ".join(str(e) for e in errors) if isinstance(errors, list) else ""
        except (ValueError, AttributeError):
            text = ""
        return text.replace(self._token, "<redacted>")[:200] or "no detail"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _context(context: str) -> str:
    # The prefix keeps the derivation context non-empty (Transit requires one) and
    # separates dialvault's contexts from any other user of the same key.
    return _b64(_CONTEXT_PREFIX + context.encode("utf-8"))


def _parse(wrapped: bytes) -> tuple[int, str]:
    try:
        text = bytes(wrapped).decode("ascii")
    except (UnicodeDecodeError, TypeError):
        raise DecryptionError() from None
    match = _CIPHERTEXT.match(text)
    if match is None:
        raise DecryptionError()
    return int(match.group(1)), text


def _ciphertext_of(data: dict[str, Any]) -> bytes:
    ciphertext = data.get("ciphertext")
    if not isinstance(ciphertext, str) or _CIPHERTEXT.match(ciphertext) is None:
        raise KeyProviderUnavailable("OpenBao sent a malformed ciphertext")
    return ciphertext.encode("utf-8")


def _int_field(data: dict[str, Any], field: str) -> int:
    value = data.get(field)
    if isinstance(value, bool) or not isinstance(value, int):
        raise KeyProviderUnavailable("OpenBao sent a malformed key description")
    return value
