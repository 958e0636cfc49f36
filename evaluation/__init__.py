"""Backtests of policies on held-out splits, metrics, statistics and reports."""
