"""Policies: rule-based baselines and stable-baselines3 agents, all answering the same predict()."""
