"""The project's benchmark (scripts/bench); not part of the test suite."""
