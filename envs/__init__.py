"""Market data, the ledger, observation features and PortfolioEnv.

Importing this package registers ``CryptoPortfolio-v0`` with Gymnasium.
"""

from gymnasium.envs.registration import register

from envs.actions import action_to_weights, weights_to_action
from envs.features import Features, build_features
from envs.ledger import ledger_step, rebalance_factor
from envs.loaders import DataError, load_csv_dir, load_wide_table, open_market
from envs.market import MarketData, MarketView
from envs.portfolio_env import PortfolioEnv
from envs.profiles import PROFILE_NAMES, RiskProfile, asset_category, risk_profile
from envs.splits import SPLIT_NAMES, Splits, split_by_dates, split_by_fractions
from envs.synthetic import RegimeModel, SyntheticTruth, calibrated_model, synthetic_market

ENV_ID = "CryptoPortfolio-v0"

register(id=ENV_ID, entry_point="envs.portfolio_env:PortfolioEnv")

__all__ = [
    "ENV_ID",
    "PROFILE_NAMES",
    "SPLIT_NAMES",
    "DataError",
    "Features",
    "MarketData",
    "MarketView",
    "PortfolioEnv",
    "RegimeModel",
    "RiskProfile",
    "Splits",
    "SyntheticTruth",
    "action_to_weights",
    "asset_category",
    "build_features",
    "calibrated_model",
    "ledger_step",
    "load_csv_dir",
    "load_wide_table",
    "open_market",
    "rebalance_factor",
    "risk_profile",
    "split_by_dates",
    "split_by_fractions",
    "synthetic_market",
    "weights_to_action",
]
