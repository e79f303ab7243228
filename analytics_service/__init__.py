"""Analytics service (:8081): the search and metrics read model in OpenSearch (POLY4, POLY5)."""
