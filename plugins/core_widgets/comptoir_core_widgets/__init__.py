"""The standard dashboard widgets, written as a plugin like any other."""
