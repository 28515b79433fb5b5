"""The store: SQLAlchemy models, migrations, repositories and the batched event writer."""
