"""pytest configuration shared by the tests and the docstring examples."""
