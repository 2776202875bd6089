"""The HTTP interface: the FastAPI app factory and what every route shares (authentication)."""
