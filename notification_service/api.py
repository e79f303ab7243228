"""HTTP routes of the Notification service."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/notifications", tags=["notifications"])
