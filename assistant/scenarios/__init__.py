"""Scenario testing: the YAML schema, the runner against fresh simulated cars, the HTML and JUnit reports, and
the pytest plugin that collects scenario files."""
