"""The HTTP ceiling: a bare FastAPI endpoint returning constant JSON, served like `dialvault serve`.

`python -m bench.bare_app --port P [--workers N]` runs uvicorn with the exact options
`vault.cli._core.serve` passes (factory app, no access log, no proxy headers, no server header, the
HTTP protocol that sends a response in one write).
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI

from vault.api import HTTP_PROTOCOL

__all__ = ["create_bare_app"]


def create_bare_app() -> FastAPI:
    app = FastAPI()

    @app.get("/bare")
    def bare_get() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/bare")
    def bare_post() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/bare-async")
    async def bare_post_async() -> dict[str, str]:  # no thread-pool hop: FastAPI's cheapest route
        return {"status": "ok"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run(
        "bench.bare_app:create_bare_app",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        access_log=False,
        log_config=None,
        proxy_headers=False,
        server_header=False,
        http=HTTP_PROTOCOL,
    )


if __name__ == "__main__":
    main()
