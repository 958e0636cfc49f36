"""The typed configuration: one default per field, plain data both ways, faults named by their key."""

import ast
import dataclasses
import inspect
import itertools
import textwrap

import pytest
import yaml

from cryptofolio.envs import (
    ActionConfig,
    Costs,
    EnvConfig,
    MarketConfig,
    ObservationConfig,
    PortfolioEnv,
    RewardConfig,
    SplitDates,
    synthetic_market,
)
from cryptofolio.envs.config import from_data, option_owners, to_data
from cryptofolio.envs.portfolio_env import step_parameters

SECTIONS = (Costs, RewardConfig, ActionConfig, ObservationConfig, MarketConfig, SplitDates, EnvConfig)


def documented_fields(kind: type) -> set[str]:
    """Fields of a dataclass whose definition is followed by a docstring."""
    body = ast.parse(textwrap.dedent(inspect.getsource(kind))).body[0].body
    return {
        statement.target.id
        for statement, following in itertools.pairwise(body)
        if isinstance(statement, ast.AnnAssign)
        and isinstance(statement.target, ast.Name)
        and isinstance(following, ast.Expr)
        and isinstance(following.value, ast.Constant)
        and isinstance(following.value.value, str)
    }


@pytest.mark.parametrize("kind", SECTIONS)
def test_every_field_has_a_docstring(kind):
    assert documented_fields(kind) == {f.name for f in dataclasses.fields(kind)}


def test_a_config_round_trips_through_yaml():
    config = EnvConfig(
        costs=Costs(fee=0.002, slippage=0.0005, cash_yield=0.04),
        reward=RewardConfig(drawdown_mode="increase", drawdown_tolerance=0.3),
        actions=ActionConfig(residual=True, tilt=2.0, trade_band=0.05, decision_every=7),
        observation=ObservationConfig(features="summary", window=60),
        episode_length=100,
    )
    assert from_data(EnvConfig, yaml.safe_load(yaml.safe_dump(to_data(config)))) == config
    market = MarketConfig(assets=("BTC", "ETH"), splits=SplitDates(("a", "b"), ("c", "d"), ("e", "f")))
    assert from_data(MarketConfig, yaml.safe_load(yaml.safe_dump(to_data(market)))) == market


def test_absent_keys_take_the_one_default():
    assert from_data(EnvConfig, {}) == EnvConfig()
    assert from_data(EnvConfig, {"costs": {"slippage": 0.001}}).costs == Costs(
        fee=Costs().fee, slippage=0.001
    )


def test_yaml_dates_and_whole_floats_are_read_as_what_the_field_holds():
    data = yaml.safe_load("splits: {train: [2020-01-01, 2020-12-31], validation: [2021-01-01, 2021-06-30],"
                          " test: [2021-07-01, 2021-12-31]}\nffill_limit: 4.0\n")  # fmt: skip
    market = from_data(MarketConfig, data)
    assert market.splits.train == ("2020-01-01", "2020-12-31") and market.ffill_limit == 4


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"costs": {"fees": 0.1}},
            r"env\.costs\.fees: unknown setting; known here: fee, slippage, cash_yield",
        ),
        ({"costs": {"fee": "abc"}}, r"env\.costs\.fee: expected a number, got 'abc'"),
        ({"costs": {"fee": -0.1}}, r"env\.costs\.fee must be a finite number in \[0.0, 0.5\], got -0.1"),
        ({"costs": 0.1}, r"env\.costs: expected a mapping of settings, got 0.1"),
        ({"actions": {"residual": "yes"}}, r"env\.actions\.residual: expected true or false"),
        ({"actions": {"decision_every": 1.5}}, r"env\.actions\.decision_every: expected a whole number"),
        ({"observation": {"features": "raw"}}, r"env\.observation\.features must be one of window, summary"),
        ({"reward": {"drawdown_mode": "all"}}, r"env\.reward\.drawdown_mode must be one of excess, increase"),
        ({"reward": {"budget_rate": -1.0}}, r"env\.reward\.budget_rate must be a finite number in \[0"),
        ({"episode_length": 0}, r"env\.episode_length must be at least 1 step"),
        ({"episode_length": True}, r"env\.episode_length: expected a whole number, got True"),
    ],
)
def test_a_bad_value_is_named_by_its_dotted_key(data, message):
    with pytest.raises(ValueError, match=message):
        from_data(EnvConfig, data, "env")


def test_market_faults_are_named():
    with pytest.raises(ValueError, match=r"market\.splits\.train: expected 2 values"):
        from_data(
            MarketConfig, {"splits": {"train": ["a"], "validation": ["b", "c"], "test": ["d", "e"]}}, "market"
        )
    with pytest.raises(ValueError, match=r"market\.splits\.validation: missing"):
        from_data(MarketConfig, {"splits": {"train": ["a", "b"], "test": ["b", "c"]}}, "market")
    with pytest.raises(ValueError, match="assets names an asset twice"):
        MarketConfig(assets=("BTC", "BTC"))


def test_options_by_name_go_to_their_section():
    owners = option_owners()
    assert owners["fee"] == "costs" and owners["window"] == "observation" and owners["episode_length"] is None
    config = EnvConfig().with_options(fee=0.002, residual=True, window=60, episode_length=10)
    assert config.costs.fee == 0.002 and config.actions.residual and config.observation.window == 60
    assert config.episode_length == 10 and config.reward == RewardConfig()
    with pytest.raises(ValueError, match="unknown env option 'observation'; options: fee, slippage"):
        EnvConfig().with_options(observation="summary")


def test_the_env_takes_its_config_whole_or_its_fields_by_name():
    market = synthetic_market(seed=0, n_bars=300)
    config = EnvConfig(costs=Costs(slippage=0.001), observation=ObservationConfig(window=10))
    whole, by_name = PortfolioEnv(market, config=config), PortfolioEnv(market, slippage=0.001, window=10)
    assert whole.config == by_name.config == config
    assert whole.parameters == step_parameters(config, "moderate")
    assert whole.parameters.cost_rate == pytest.approx(0.002)


def test_rules_keep_the_costs_and_drop_the_action_mapping():
    config = EnvConfig(costs=Costs(slippage=0.001), actions=ActionConfig(residual=True, trade_band=0.05))
    rules = config.for_rules()
    assert rules.costs == config.costs and rules.actions.free and not config.actions.free
    assert dataclasses.replace(rules, actions=config.actions) == config


def test_an_empty_asset_list_is_refused_before_any_file_is_read():
    with pytest.raises(ValueError, match="assets names no asset"):
        MarketConfig(source="no/such/folder", assets=())
