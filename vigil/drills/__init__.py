"""Drills: replaying a recorded night, isolated, with injected scenarios; what to compare and report."""
