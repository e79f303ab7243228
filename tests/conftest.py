import pytest

from tests.support import drop_created_databases


@pytest.fixture(scope="session", autouse=True)
def _drop_throwaway_databases():
    yield
    drop_created_databases()
