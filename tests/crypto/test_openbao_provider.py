"""OpenBaoKeyProvider against a real OpenBao dev server (no mocks)."""

from __future__ import annotations

import os
import secrets
import time
import traceback
from collections.abc import Callable, Iterator

import pytest

from tests.servers import OpenBaoServer, openbao_dev_server, openbao_fixture, require_or_skip
from vault.crypto import DecryptionError, KeyProvider, KeyProviderUnavailable, OpenBaoKeyProvider

pytestmark = pytest.mark.openbao

TENANT_KEY = os.urandom(32)


@pytest.fixture(scope="module")
def bao() -> Iterator[OpenBaoServer]:
    yield from openbao_fixture()


@pytest.fixture
def provider(bao: OpenBaoServer) -> Iterator[OpenBaoKeyProvider]:
    key_name = f"test-{secrets.token_hex(4)}"
    with OpenBaoKeyProvider(bao.addr, bao.token, key_name, timeout=1.0) as prov:
        prov.ensure_key()
        yield prov


def _everything_said(exc: BaseException) -> str:
    """All an exception could show: str, repr, args, chained causes, formatted traceback."""
    parts = [str(exc), repr(exc), repr(exc.args), "".join(traceback.format_exception(exc))]
    for linked in (exc.__cause__, exc.__context__):
        if linked is not None:
            parts.append(_everything_said(linked))
    return "\n".join(parts)


def test_implements_the_key_provider_protocol(provider: OpenBaoKeyProvider) -> None:
    assert isinstance(provider, KeyProvider)
    assert provider.name == "openbao"


def test_round_trip(provider: OpenBaoKeyProvider) -> None:
    wrapped = provider.wrap(TENANT_KEY, context="tenant:t1:contact-dek")
    assert wrapped.startswith(b"vault:v1:")
    assert TENANT_KEY not in wrapped
    assert provider.unwrap(wrapped, context="tenant:t1:contact-dek") == TENANT_KEY
    # Every wrap uses a fresh nonce.
    assert provider.wrap(TENANT_KEY, context="tenant:t1:contact-dek") != wrapped


def test_empty_secret_and_empty_context_round_trip(provider: OpenBaoKeyProvider) -> None:
    assert provider.unwrap(provider.wrap(b"", context=""), context="") == b""


def test_wrong_context_is_a_decryption_error(provider: OpenBaoKeyProvider) -> None:
    wrapped = provider.wrap(TENANT_KEY, context="tenant:t1")
    with pytest.raises(DecryptionError):
        provider.unwrap(wrapped, context="tenant:t2")
    with pytest.raises(DecryptionError):
        provider.unwrap(wrapped, context="")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda b: b[:-2] + (b"A" if b[-2:-1] != b"A" else b"B") + b[-1:],  # flip ciphertext/tag
        lambda b: b.replace(b"vault:v1:", b"vault:v7:"),  # version that does not exist
        lambda b: b.replace(b"vault:v1:", b"vault:"),  # no version
        lambda b: b[:20],  # truncated
        lambda b: b + b"!!",  # not base64
        lambda b: b"\xff\xfe" + b,  # not text
        lambda b: b"",
    ],
)
def test_tampered_blob_is_a_decryption_error(provider: OpenBaoKeyProvider, tamper: Callable[[bytes], bytes]) -> None:
    wrapped = provider.wrap(TENANT_KEY, context="c")
    bad = tamper(wrapped)
    assert isinstance(bad, bytes) and bad != wrapped
    with pytest.raises(DecryptionError):
        provider.unwrap(bad, context="c")


def test_another_transit_key_cannot_open_the_blob(bao: OpenBaoServer, provider: OpenBaoKeyProvider) -> None:
    wrapped = provider.wrap(TENANT_KEY, context="c")
    with OpenBaoKeyProvider(bao.addr, bao.token, f"other-{secrets.token_hex(4)}") as other:
        other.ensure_key()
        with pytest.raises(DecryptionError):
            other.unwrap(wrapped, context="c")


def test_ensure_key_is_idempotent_and_checks_the_key(bao: OpenBaoServer, provider: OpenBaoKeyProvider) -> None:
    provider.ensure_key()
    provider.ensure_key()
    assert provider.latest_version() == 1
    # A key that is not derived would silently drop the context binding: refuse it.
    plain = f"plain-{secrets.token_hex(4)}"
    assert bao.request("POST", f"transit/keys/{plain}", {"type": "aes256-gcm96"}).status_code in (200, 204)
    with OpenBaoKeyProvider(bao.addr, bao.token, plain) as wrong, pytest.raises(KeyProviderUnavailable):
        wrong.ensure_key()


def test_missing_key_fails_closed(bao: OpenBaoServer) -> None:
    with OpenBaoKeyProvider(bao.addr, bao.token, f"absent-{secrets.token_hex(4)}") as prov:
        with pytest.raises(KeyProviderUnavailable):
            prov.latest_version()
        with pytest.raises(KeyProviderUnavailable):
            prov.unwrap(b"vault:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", context="c")


def test_rotation_in_openbao_is_picked_up(bao: OpenBaoServer, provider: OpenBaoKeyProvider) -> None:
    old = provider.wrap(TENANT_KEY, context="c")
    assert provider.key_version_of(old) == 1
    # Rotate from outside, the way an operator does (`bao write -f transit/keys/<k>/rotate`).
    response = bao.request("POST", f"transit/keys/{provider.key_name}/rotate")
    assert response.status_code in (200, 204)
    assert provider.latest_version() == 2

    new = provider.wrap(TENANT_KEY, context="c")
    assert provider.key_version_of(new) == 2
    assert provider.unwrap(new, context="c") == TENANT_KEY
    assert provider.unwrap(old, context="c") == TENANT_KEY

    moved = provider.rewrap(old, context="c")
    assert provider.key_version_of(moved) == 2
    assert provider.unwrap(moved, context="c") == TENANT_KEY
    with pytest.raises(DecryptionError):
        provider.rewrap(old, context="other")

    assert provider.rotate() == 3
    assert provider.key_version_of(provider.rewrap(moved, context="c")) == 3


def test_key_version_of_rejects_garbage() -> None:
    assert OpenBaoKeyProvider.key_version_of(b"vault:v12:AAAA") == 12
    for bad in (b"", b"vault:v0:AAAA", b"vault:vx:AAAA", b"v1:AAAA", b"\xff"):
        with pytest.raises(DecryptionError):
            OpenBaoKeyProvider.key_version_of(bad)


def test_paused_server_fails_closed_within_the_timeout_then_recovers(
    bao: OpenBaoServer, provider: OpenBaoKeyProvider
) -> None:
    wrapped = provider.wrap(TENANT_KEY, context="c")  # a pooled keep-alive connection exists now
    failures: list[BaseException] = []
    bao.pause()
    calls: list[Callable[[], bytes]] = [
        lambda: provider.unwrap(wrapped, context="c"),
        lambda: provider.wrap(TENANT_KEY, context="c"),
    ]
    try:
        for call in calls:
            started = time.monotonic()
            with pytest.raises(KeyProviderUnavailable) as caught:
                call()
            elapsed = time.monotonic() - started
            assert elapsed < 1.0 + 1.0, elapsed  # timeout=1.0 plus scheduling slack
            failures.append(caught.value)
    finally:
        bao.resume()
    # Same provider object, no rebuild.
    assert provider.unwrap(wrapped, context="c") == TENANT_KEY
    assert provider.unwrap(provider.wrap(TENANT_KEY, context="c"), context="c") == TENANT_KEY
    for failure in failures:
        assert bao.token not in _everything_said(failure)
        assert TENANT_KEY.hex() not in _everything_said(failure)


def test_stopped_server_fails_closed_then_recovers_on_the_same_port() -> None:
    require_or_skip("openbao")
    # Own server: a dev-mode restart loses every key, which would break the other tests.
    with openbao_dev_server() as server, OpenBaoKeyProvider(server.addr, server.token, timeout=1.0) as prov:
        prov.ensure_key()
        wrapped = prov.wrap(TENANT_KEY, context="c")
        server.stop()
        started = time.monotonic()
        with pytest.raises(KeyProviderUnavailable) as caught:
            prov.unwrap(wrapped, context="c")
        assert time.monotonic() - started < 1.0
        assert server.token not in _everything_said(caught.value)

        server.start()  # same address and token, empty storage
        prov.ensure_key()
        with pytest.raises(DecryptionError):  # the old root key is gone for good
            prov.unwrap(wrapped, context="c")
        assert prov.unwrap(prov.wrap(TENANT_KEY, context="c"), context="c") == TENANT_KEY


def test_token_never_shows(bao: OpenBaoServer, provider: OpenBaoKeyProvider) -> None:
    assert bao.token not in repr(provider)
    assert bao.token not in str(provider)
    assert "<redacted>" in repr(provider)
    assert bao.token not in repr(bao)
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(provider)

    raised: list[BaseException] = []
    with pytest.raises(DecryptionError) as decryption:
        provider.unwrap(b"vault:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", context="c")
    raised.append(decryption.value)

    wrong_token = "s." + secrets.token_urlsafe(24)
    with OpenBaoKeyProvider(bao.addr, wrong_token, provider.key_name) as denied:
        assert wrong_token not in repr(denied)
        with pytest.raises(KeyProviderUnavailable) as refused:
            denied.wrap(TENANT_KEY, context="c")
        assert "403" in str(refused.value)
        assert wrong_token not in _everything_said(refused.value)

    with OpenBaoKeyProvider(f"http://127.0.0.1:{bao.port + 1}", bao.token, timeout=0.5) as nowhere:
        with pytest.raises(KeyProviderUnavailable) as unreachable:
            nowhere.wrap(TENANT_KEY, context="c")
        raised.append(unreachable.value)
    for exc in raised:
        assert bao.token not in _everything_said(exc)
        assert exc.__context__ is None or bao.token not in repr(vars(exc.__context__))


def test_constructor_validates_its_arguments() -> None:
    with pytest.raises(ValueError):
        OpenBaoKeyProvider("127.0.0.1:8200", "t")
    with pytest.raises(ValueError):
        OpenBaoKeyProvider("http://127.0.0.1:8200", "")
    with pytest.raises(ValueError):
        OpenBaoKeyProvider("http://127.0.0.1:8200", "t", "../sys/seal")
