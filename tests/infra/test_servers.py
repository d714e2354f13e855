"""The throwaway test servers of tests/servers.py start, work and stop cleanly."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.servers import (
    ServerUnavailable,
    find_bao,
    find_pg_bin,
    openbao_dev_server,
    postgres_cluster,
    require_or_skip,
)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.postgres
def test_postgres_cluster_starts_serves_and_stops() -> None:
    require_or_skip("postgres")
    with postgres_cluster() as pg:
        url = make_url(pg.url)
        assert url.drivername == "postgresql+psycopg"
        assert (url.username, url.host, url.port, url.database) == (
            "dialvault",
            "127.0.0.1",
            pg.port,
            "postgres",
        )
        with psycopg.connect(pg.dsn, connect_timeout=10) as conn:
            row = conn.execute("SELECT current_user, current_setting('max_connections')").fetchone()
            assert row == ("dialvault", "200")

        db_url = pg.create_database("dialvault_test")
        assert make_url(db_url).database == "dialvault_test"
        with psycopg.connect(pg.dsn_for("dialvault_test"), autocommit=True) as conn:
            conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
            conn.execute("INSERT INTO t VALUES (1)")
            assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)
        with pytest.raises(ValueError):
            pg.create_database('x"; DROP DATABASE postgres; --')
        workdir, port = pg.workdir, pg.port
        assert _port_open(port)
    assert not _port_open(port)
    assert not workdir.exists()


@pytest.mark.postgres
def test_two_clusters_run_side_by_side() -> None:
    require_or_skip("postgres")
    with postgres_cluster() as first, postgres_cluster() as second:
        assert first.port != second.port
        for pg in (first, second):
            with psycopg.connect(pg.dsn, connect_timeout=10) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.postgres
def test_pg_binaries_are_found() -> None:
    require_or_skip("postgres")
    bindir = find_pg_bin()
    assert (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file()


@pytest.mark.openbao
def test_openbao_dev_server_starts_pauses_restarts_and_stops() -> None:
    require_or_skip("openbao")
    assert find_bao().name == "bao"
    with openbao_dev_server() as bao:
        assert bao.request("GET", "sys/health").status_code == 200
        mounts = bao.request("GET", "sys/mounts").json()
        assert "transit/" in mounts["data"]
        assert bao.token not in repr(bao)
        home = bao.workdir / "home"
        assert not (home / ".vault-token").exists()  # touches nothing, not even its own HOME

        bao.pause()
        assert bao.running and bao.paused
        bao.resume()
        assert bao.request("GET", "sys/health").status_code == 200

        port, token = bao.port, bao.token
        bao.stop()
        assert not _port_open(port)
        bao.start()
        assert (bao.port, bao.token) == (port, token)
        assert "transit/" in bao.request("GET", "sys/mounts").json()["data"]
        process = bao.process
    assert process is not None and process.poll() is not None
    assert not _port_open(port)


@pytest.mark.openbao
def test_audited_openbao_dev_server_writes_each_request_to_its_audit_log() -> None:
    require_or_skip("openbao")
    with openbao_dev_server(audited=True) as bao:
        assert "file/" in bao.request("GET", "sys/audit").json()["data"]
        assert bao.request("POST", "transit/keys/audited", {"type": "aes256-gcm96"}).status_code in (200, 204)
        lines = bao.audit_log_path.read_text(encoding="utf-8").splitlines()
    assert any('"path":"transit/keys/audited"' in line for line in lines)
    assert bao.token not in "\n".join(lines)  # the device writes HMACs of secrets, not the secrets


def test_require_or_skip_fails_in_ci_and_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr("sys.executable", "/nonexistent/python")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        require_or_skip("openbao")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        require_or_skip("openbao")
    with pytest.raises(ServerUnavailable):
        find_bao()


def test_pg_binaries_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("glob.glob", lambda _pattern: [])
    with pytest.raises(ServerUnavailable, match="initdb"):
        find_pg_bin()
    assert os.environ["PATH"] == str(tmp_path)
