"""Hot routes: well-formed requests answered below FastAPI behave exactly like the route they stand in for."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TenantKeys
from vault.services import Role

NUMBER = "+8613800138000"


def test_a_request_the_hot_handler_passes_on_is_answered_by_the_route(client: TestClient, acme: TenantKeys) -> None:
    headers = acme.headers(Role.CAPTURE)
    hot = client.post("/v1/contacts", json={"phone": NUMBER}, headers=headers)
    routed = client.post("/v1/contacts", json={"phone": NUMBER, "note": "an extra key"}, headers=headers)
    assert (hot.status_code, routed.status_code) == (201, 200)
    assert hot.json() == {**routed.json(), "created": True}


def test_hot_answers_carry_the_request_id(client: TestClient, acme: TenantKeys) -> None:
    response = client.post(
        "/v1/contacts", json={"phone": NUMBER}, headers={**acme.headers(Role.CAPTURE), "X-Request-ID": "abc123"}
    )
    assert response.headers["x-request-id"] == "abc123"


def test_hot_route_without_a_key_is_401_with_the_envelope(client: TestClient) -> None:
    response = client.post("/v1/contacts", json={"phone": NUMBER})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_hot_route_with_another_roles_key_is_403(client: TestClient, acme: TenantKeys) -> None:
    response = client.post(
        "/v1/dial/authorize",
        json={"handle": "dvh_x", "caller_line": "+862150000000"},
        headers=acme.headers(Role.DIALER),
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden_role"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/dial/authorize", {"handle": "dvh_x", "caller_line": "+86" + "1" * 70}, "caller_line"),
        ("/v1/dial/authorize", {"handle": "", "caller_line": "+862150000000"}, "handle"),
        ("/v1/dial/authorize", {"caller_line": "+862150000000"}, "handle"),
        ("/v1/contacts", {"phone": NUMBER, "region": "CHINA"}, "region"),
        ("/v1/contacts", {"phone": 8613800138000}, "phone"),
    ],
)
def test_a_malformed_body_gets_the_routes_validation_error(
    client: TestClient, acme: TenantKeys, path: str, body: dict[str, object], field: str
) -> None:
    role = Role.GATEWAY if path.startswith("/v1/dial") else Role.CAPTURE
    response = client.post(path, json=body, headers=acme.headers(role))
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_request", field)


def test_a_body_that_is_not_json_gets_the_routes_error(client: TestClient, acme: TenantKeys) -> None:
    response = client.post(
        "/v1/contacts",
        content=b"phone=+8613800138000",
        headers={**acme.headers(Role.CAPTURE), "content-type": "text/plain"},
    )
    assert response.status_code == 422
    assert "13800138000" not in response.text


def test_a_body_larger_than_a_hot_body_is_read_whole_by_the_route(client: TestClient, acme: TenantKeys) -> None:
    body = {"phone": NUMBER, "padding": "x" * 10_000}
    response = client.post("/v1/contacts", json=body, headers=acme.headers(Role.CAPTURE))
    assert response.status_code == 201


def test_a_domain_error_in_a_hot_handler_gets_the_envelope(client: TestClient, acme: TenantKeys) -> None:
    response = client.post("/v1/contacts", json={"phone": "+86123"}, headers=acme.headers(Role.CAPTURE))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_phone_number"


def test_hot_requests_are_in_the_access_log_under_their_route(
    client: TestClient, acme: TenantKeys, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="dialvault.access"):
        client.post("/v1/contacts", json={"phone": NUMBER}, headers=acme.headers(Role.CAPTURE))
    (line,) = [r for r in caplog.records if r.name == "dialvault.access"]
    assert (line.__dict__["route"], line.__dict__["status"]) == ("/v1/contacts", 201)
