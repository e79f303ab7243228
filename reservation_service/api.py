"""HTTP routes of the Reservation service."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/reservations", tags=["reservations"])
