"""Saga orchestrator (:3002): the booking saga and its compensations, logged durably in
PostgreSQL (SAGA1-SAGA4)."""
