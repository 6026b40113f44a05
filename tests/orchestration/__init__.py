"""Orchestration tests: CLI runs, checks, schedule, daemon backfills, webserver and browser."""
