"""HTTP routes of the payment service."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/payments", tags=["payments"])
