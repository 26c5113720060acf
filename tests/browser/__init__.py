"""Browser tests (a package, so that its conftest does not shadow tests/conftest.py, which
the other test modules import as `conftest`)."""
