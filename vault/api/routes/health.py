from __future__ import annotations

from fastapi import APIRouter

from .._routing import TextRoute

__all__ = ["router"]

router = APIRouter(tags=["health"], route_class=TextRoute)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
