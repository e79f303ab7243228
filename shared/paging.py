"""The paging query parameters (`page`, `size`) as FastAPI dependencies of the list routes."""

from typing import Annotated

from fastapi import Depends, Query

from shared.schemas import MAX_PAGE_DEPTH, MAX_PAGE_SIZE, PageParams


async def page_params(
    page: int = Query(1, ge=1, le=100_000, description="1-based page number"),
    size: int = Query(20, ge=1, le=MAX_PAGE_SIZE, description=f"items per page, at most {MAX_PAGE_SIZE}"),
) -> PageParams:
    return PageParams(page=page, size=size)


async def search_page_params(
    page: int = Query(
        1,
        ge=1,
        le=MAX_PAGE_DEPTH // MAX_PAGE_SIZE,
        description=f"1-based page number; a search reaches its first {MAX_PAGE_DEPTH} results",
    ),
    size: int = Query(20, ge=1, le=MAX_PAGE_SIZE, description=f"items per page, at most {MAX_PAGE_SIZE}"),
) -> PageParams:
    """Paging of search-engine results: OpenSearch serves at most MAX_PAGE_DEPTH of them."""
    return PageParams(page=page, size=size)


# A list route's paging parameters: `paging: Paging` (a search's: `paging: SearchPaging`).
Paging = Annotated[PageParams, Depends(page_params)]
SearchPaging = Annotated[PageParams, Depends(search_page_params)]
