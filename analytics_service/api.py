"""HTTP routes of the analytics service."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/analytics", tags=["analytics"])
