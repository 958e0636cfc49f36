"""Market data, the ledger, observation features, PortfolioEnv and its typed configuration.

Importing this package registers ``CryptoPortfolio-v0`` with Gymnasium.
"""

from gymnasium.envs.registration import register

from cryptofolio.envs.actions import action_to_weights, weights_to_action
from cryptofolio.envs.config import (
    ActionConfig,
    Costs,
    EnvConfig,
    MarketConfig,
    ObservationConfig,
    RewardConfig,
    SplitDates,
)
from cryptofolio.envs.errors import (
    ConfigError,
    DataError,
    HoldingsError,
    PlanError,
    RunFolderError,
    StorageError,
    UserError,
)
from cryptofolio.envs.features import Features, build_features
from cryptofolio.envs.ledger import ledger_step, rebalance_factor
from cryptofolio.envs.loaders import load_csv_dir, load_wide_table
from cryptofolio.envs.market import MarketData, MarketView
from cryptofolio.envs.portfolio_env import PortfolioEnv
from cryptofolio.envs.profiles import PROFILE_NAMES, RiskProfile, asset_category, risk_profile
from cryptofolio.envs.splits import SPLIT_NAMES, Splits, split_by_dates, split_by_fractions
from cryptofolio.envs.synthetic import RegimeModel, SyntheticTruth, calibrated_model, synthetic_market

ENV_ID = "CryptoPortfolio-v0"

register(id=ENV_ID, entry_point="cryptofolio.envs.portfolio_env:PortfolioEnv")

__all__ = [
    "ENV_ID",
    "PROFILE_NAMES",
    "SPLIT_NAMES",
    "ActionConfig",
    "ConfigError",
    "Costs",
    "DataError",
    "EnvConfig",
    "Features",
    "HoldingsError",
    "MarketConfig",
    "MarketData",
    "MarketView",
    "ObservationConfig",
    "PlanError",
    "PortfolioEnv",
    "RegimeModel",
    "RewardConfig",
    "RiskProfile",
    "RunFolderError",
    "SplitDates",
    "Splits",
    "StorageError",
    "SyntheticTruth",
    "UserError",
    "action_to_weights",
    "asset_category",
    "build_features",
    "calibrated_model",
    "ledger_step",
    "load_csv_dir",
    "load_wide_table",
    "rebalance_factor",
    "risk_profile",
    "split_by_dates",
    "split_by_fractions",
    "synthetic_market",
    "weights_to_action",
]
