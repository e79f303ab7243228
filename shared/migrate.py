"""`python -m shared.migrate <migrations folder>`: bring a PostgreSQL schema to its newest
Alembic revision, the database URL read from TP4_MIGRATION_URL. A service runs it as a child
process at start (shared.sql.migrate)."""

import os
import sys
from pathlib import Path

from shared.sql import MIGRATION_URL_VARIABLE, upgrade


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not os.environ.get(MIGRATION_URL_VARIABLE):
        print(f"usage: {MIGRATION_URL_VARIABLE}=<url> python -m shared.migrate <migrations folder>")
        return 2
    upgrade(os.environ[MIGRATION_URL_VARIABLE], Path(argv[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
