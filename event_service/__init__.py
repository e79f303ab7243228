"""Event service (:8080): events and their seats in PostgreSQL (DB1, DB2, REST1)."""
