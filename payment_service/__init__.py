"""Payment service (:5000): payments in PostgreSQL, cache-aside in Redis (POLY1-POLY3)."""
