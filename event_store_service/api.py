"""HTTP routes of the Event store."""

from fastapi import APIRouter

router = APIRouter(prefix="/api", tags=["event-store"])
