"""cryptofolio: a lab for reinforcement-learning crypto portfolio allocation, judged against rule-based
risk profiles after fees.

Floors, each importing only the ones below it:

- :mod:`cryptofolio.commands` and :mod:`cryptofolio.cli`: the ``cryptofolio`` command line;
- :mod:`cryptofolio.training`: training from configs, tuning, sweeps, walk-forward, studies;
- :mod:`cryptofolio.evaluation`: the backtest runner, metrics, statistics, reports, recommend;
- :mod:`cryptofolio.agents`: rule-based baselines and trained agents, one ``predict``;
- :mod:`cryptofolio.envs`: market data, the ledger, features, PortfolioEnv and its configuration;
- :mod:`cryptofolio.configs`: data files (profiles, hyperparameters, search spaces).
"""
