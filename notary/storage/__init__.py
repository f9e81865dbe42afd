"""Storage: SQLAlchemy models, the database handle, repositories, the blob store, the log's tree."""
