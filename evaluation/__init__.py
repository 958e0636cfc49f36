"""Backtests of policies on held-out splits, metrics, statistics and reports.

:func:`evaluate_policies` is the one call for your own policies (and runs); the runner of
``cryptofolio evaluate`` is :func:`cryptofolio.evaluation.evaluate.evaluate`. The names below load
their modules on first use, so importing :mod:`cryptofolio.evaluation.metrics` does not import torch
(through the run-folder loaders) or matplotlib (through the figures).

    from cryptofolio.evaluation import evaluate_policies
    evaluation = evaluate_policies({"momentum": Momentum()}, "reports/momentum")
"""

from importlib import import_module
from typing import Any

_MODULES = {
    "AgentGroup": "results",
    "BacktestResult": "backtest",
    "Evaluation": "results",
    "evaluate_policies": "evaluate",
    "find_runs": "evaluate",
    "metrics_table": "backtest",
    "run_backtest": "backtest",
    "summarize": "metrics",
    "write_report": "report",
}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return getattr(import_module(f"cryptofolio.evaluation.{_MODULES[name]}"), name)
    raise AttributeError(f"module 'cryptofolio.evaluation' has no attribute {name!r}")


__all__ = [
    "AgentGroup",
    "BacktestResult",
    "Evaluation",
    "evaluate_policies",
    "find_runs",
    "metrics_table",
    "run_backtest",
    "summarize",
    "write_report",
]
