"""HTTP routes of the saga orchestrator."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/saga", tags=["saga"])
