"""Instructor tooling for the logistic-regression nbgrader course."""
