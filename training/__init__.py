"""Training of stable-baselines3 agents from config files, with validation-based model selection."""
