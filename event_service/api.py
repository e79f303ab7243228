"""HTTP routes of the event service."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/events", tags=["events"])
