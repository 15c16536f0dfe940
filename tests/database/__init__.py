"""pytest suites of the SQLAlchemy adapter against real database servers."""
