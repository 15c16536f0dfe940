"""Infrastructure adapters: SQLAlchemy persistence, migrations and the command line."""
