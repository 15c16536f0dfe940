"""Test support shared by the Behave, Robot and ASV suites (not shipped in the wheel)."""
