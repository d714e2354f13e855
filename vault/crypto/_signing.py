"""Ed25519 compact JWS (RFC 7515 / RFC 8037) for consent receipts."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ._errors import CryptoError

__all__ = ["SignatureError", "jws_sign", "jws_verify", "public_jwk", "public_key_from_jwk"]


class SignatureError(CryptoError):
    """A JWS did not verify: bad format, unknown key or wrong signature."""

    def __init__(self) -> None:
        super().__init__("signature verification failed")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _canonical_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")


def jws_sign(private_key: Ed25519PrivateKey, kid: str, payload: dict[str, Any]) -> str:
    header = _b64url(_canonical_json({"alg": "EdDSA", "kid": kid, "typ": "JWT"}))
    body = _b64url(_canonical_json(payload))
    signing_input = f"{header}.{body}".encode("ascii")
    return f"{header}.{body}.{_b64url(private_key.sign(signing_input))}"


def jws_verify(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """Verify a compact JWS against a JWKS document and return its payload."""
    try:
        header_b64, body_b64, signature_b64 = token.split(".")
        header = json.loads(_b64url_decode(header_b64))
        if header.get("alg") != "EdDSA":
            raise SignatureError()
        matching = [k for k in jwks.get("keys", []) if k.get("kid") == header.get("kid")]
        if len(matching) != 1:
            raise SignatureError()
        public_key_from_jwk(matching[0]).verify(
            _b64url_decode(signature_b64), f"{header_b64}.{body_b64}".encode("ascii")
        )
        payload = json.loads(_b64url_decode(body_b64))
    except (ValueError, InvalidSignature, TypeError, AttributeError):
        raise SignatureError() from None
    if not isinstance(payload, dict):
        raise SignatureError()
    return payload


def public_jwk(public_key: Ed25519PublicKey, kid: str) -> dict[str, str]:
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw), "kid": kid, "use": "sig", "alg": "EdDSA"}


def public_key_from_jwk(jwk: dict[str, Any]) -> Ed25519PublicKey:
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise SignatureError()
    return Ed25519PublicKey.from_public_bytes(_b64url_decode(str(jwk["x"])))
