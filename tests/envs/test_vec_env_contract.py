"""BatchedPortfolioEnv keeps stable-baselines3's VecEnv contract, as a DummyVecEnv of PortfolioEnvs does.

Adapted from stable-baselines3's ``tests/test_vec_envs.py`` (custom calls, terminal observation,
spaces, seeding, ``env_is_wrapped``), in both info modes. The reference is a DummyVecEnv of
PortfolioEnvs with the same settings, seeds and actions, which the batched env equals exactly.
"""

import copy
import dataclasses
import inspect
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pytest
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecFrameStack, VecNormalize

from cryptofolio.envs import PortfolioEnv, synthetic_market
from cryptofolio.envs.vector_env import INFO_MODES, PER_PORTFOLIO, BatchedPortfolioEnv

N = 3
SEED = 7
OPTIONS = {"window": 10, "episode_length": 12, "turnover_penalty": 0.01}
VEC_ENV_END = {"terminal_observation", "TimeLimit.truncated"}
"""The keys a VecEnv adds to the info of a finished episode."""


@pytest.fixture(scope="module")
def market():
    return synthetic_market(seed=3, n_bars=400)


def make_pair(market, infos: str, **options: Any) -> tuple[BatchedPortfolioEnv, DummyVecEnv]:
    """A BatchedPortfolioEnv and a DummyVecEnv of PortfolioEnvs, same settings, both seeded ``SEED``."""
    settings = {**OPTIONS, **options}
    batched = BatchedPortfolioEnv(N, market, infos=infos, **settings)
    dummy = DummyVecEnv([partial(PortfolioEnv, market, **settings) for _ in range(N)])
    batched.seed(SEED)
    dummy.seed(SEED)
    return batched, dummy


def stepped_pair(market, infos: str, steps: int = 20) -> tuple[BatchedPortfolioEnv, DummyVecEnv]:
    """:func:`make_pair`, reset and stepped together with the same random actions (across resets)."""
    batched, dummy = make_pair(market, infos)
    batched.reset()
    dummy.reset()
    rng = np.random.default_rng(0)
    for _ in range(steps):
        actions = random_actions(batched, rng)
        batched.step(actions)
        dummy.step(actions)
    return batched, dummy


def random_actions(venv: VecEnv, rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(-1.3, 1.3, size=(venv.num_envs, *venv.action_space.shape)).astype(np.float32)


def vec_env_keys(info: dict[str, Any]) -> dict[str, Any]:
    """A DummyVecEnv info cut to what ``infos="done"`` keeps: a finished episode's VecEnv keys, else none."""
    return {key: info[key] for key in VEC_ENV_END} if "terminal_observation" in info else {}


def same(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` hold the same values, of the same types (arrays, generators, configs...)."""
    if a is b:
        return True
    if isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        )
    if isinstance(a, pd.Index):
        return isinstance(b, pd.Index) and a.equals(b)
    if isinstance(a, np.random.Generator):
        return isinstance(b, np.random.Generator) and a.bit_generator.state == b.bit_generator.state
    if inspect.ismethod(a):
        return inspect.ismethod(b) and a.__func__ is b.__func__
    if dataclasses.is_dataclass(a):
        fields = dataclasses.fields(a)
        return type(a) is type(b) and all(same(getattr(a, f.name), getattr(b, f.name)) for f in fields)
    if isinstance(a, tuple | list):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


# --- reset and step -----------------------------------------------------------------------------


@pytest.mark.parametrize("infos", INFO_MODES)
def test_reset_and_step_return_sb3_shapes_and_dtypes(market, infos):
    batched, _ = make_pair(market, infos)
    space = batched.observation_space
    observations = batched.reset()
    assert observations.shape == (N, *space.shape) and all(space.contains(o) for o in observations)
    rng = np.random.default_rng(0)
    dones = np.zeros(N, dtype=bool)
    while not dones.any():
        observations, rewards, dones, step_infos = batched.step(random_actions(batched, rng))
        assert observations.shape == (N, *space.shape) and all(space.contains(o) for o in observations)
        assert rewards.shape == (N,) and rewards.dtype == np.float32
        assert dones.shape == (N,) and dones.dtype == np.bool_
        assert isinstance(step_infos, list) and len(step_infos) == N
        assert all(type(info) is dict for info in step_infos)


@pytest.mark.parametrize("wrapper", [None, VecNormalize, partial(VecFrameStack, n_stack=2)])
@pytest.mark.parametrize("infos", INFO_MODES)
def test_steps_equal_a_dummy_vec_env_exactly(market, infos, wrapper):
    batched, dummy = make_pair(market, infos)
    if wrapper is not None:
        batched, dummy = wrapper(batched), wrapper(dummy)
    assert same(batched.reset(), dummy.reset())
    rng = np.random.default_rng(0)
    finished = 0
    for _ in range(40):
        actions = random_actions(batched, rng)
        observations, rewards, dones, step_infos = batched.step(actions)
        expected_observations, expected_rewards, expected_dones, expected_infos = dummy.step(actions)
        assert same(observations, expected_observations)
        assert same(rewards, expected_rewards) and same(dones, expected_dones)
        if infos == "done":
            expected_infos = [vec_env_keys(info) for info in expected_infos]
        assert same(step_infos, expected_infos)
        finished += int(dones.sum())
    assert finished > N  # several episodes each, so auto-resets were compared too


@pytest.mark.parametrize("infos", INFO_MODES)
def test_reset_infos_are_portfolio_env_reset_infos_with_full_infos_and_empty_without(market, infos):
    batched, dummy = make_pair(market, infos)
    batched.reset()
    dummy.reset()
    expected = dummy.reset_infos if infos == "full" else [{}] * N
    assert same(batched.reset_infos, expected)


@pytest.mark.parametrize("infos", INFO_MODES)
def test_terminal_observation_is_in_the_info_exactly_when_an_episode_ends(market, infos):
    batched, _ = make_pair(market, infos)
    previous = batched.reset()
    rng = np.random.default_rng(0)
    for _ in range(30):
        observations, _, dones, step_infos = batched.step(random_actions(batched, rng))
        steps = batched.get_attr("episode_steps")
        for i, (info, done) in enumerate(zip(step_infos, dones, strict=True)):
            assert ("terminal_observation" in info) == done
            if done:  # the returned observation starts the next episode
                assert steps[i] == 0 and not np.array_equal(info["terminal_observation"], observations[i])
            else:
                assert steps[i] > 0 and not np.array_equal(observations[i], previous[i])
        previous = observations


@pytest.mark.parametrize("infos", INFO_MODES)
def test_ruin_is_a_termination_and_running_out_of_steps_a_truncation(market, infos):
    batched, dummy = make_pair(market, infos, ruin_fraction=0.99)
    batched.reset()
    dummy.reset()
    rng = np.random.default_rng(0)
    truncations = []
    for _ in range(40):
        actions = random_actions(batched, rng)
        _, _, dones, step_infos = batched.step(actions)
        _, _, _, expected = dummy.step(actions)
        for i in np.flatnonzero(dones):
            assert step_infos[i]["TimeLimit.truncated"] is expected[i]["TimeLimit.truncated"]
            truncations.append(step_infos[i]["TimeLimit.truncated"])
    assert True in truncations and False in truncations


@pytest.mark.parametrize("infos", INFO_MODES)
def test_infos_are_fresh_dicts_a_caller_may_copy_and_change(market, infos):
    batched, _ = make_pair(market, infos)
    batched.reset()
    actions = np.zeros((N, *batched.action_space.shape), dtype=np.float32)
    _, _, _, first = batched.step(actions)
    copied = copy.deepcopy(first)
    first[0]["mine"] = 1
    _, _, _, second = batched.step(actions)
    assert "mine" not in first[1] and "mine" not in second[0] and "mine" not in copied[0]


@pytest.mark.parametrize("infos", INFO_MODES)
def test_what_a_step_returned_does_not_change_with_later_steps(market, infos):
    batched, _ = make_pair(market, infos)
    batched.reset()
    rng = np.random.default_rng(0)
    returned = batched.step(random_actions(batched, rng))
    last_step = batched.last_step
    kept = copy.deepcopy((returned, last_step))
    for _ in range(30):  # with auto-resets
        batched.step(random_actions(batched, rng))
    assert same((returned, last_step), kept)


# --- seeding and options ------------------------------------------------------------------------


def test_seed_gives_portfolio_i_the_seed_s_plus_i(market):
    batched, dummy = make_pair(market, "done")
    assert batched.seed(5) == dummy.seed(5) == [5, 6, 7]
    batched.reset()
    dummy.reset()
    assert batched.get_attr("np_random_seed") == dummy.get_attr("np_random_seed") == [5, 6, 7]


def test_portfolios_seeded_together_start_apart(market):
    batched, _ = make_pair(market, "done")
    batched.reset()
    assert len(set(batched.get_attr("bar"))) == N


def test_seeding_again_with_the_same_seed_replays_the_same_starts(market):
    batched, _ = make_pair(market, "done")
    first = batched.reset()
    batched.step(np.zeros((N, *batched.action_space.shape), dtype=np.float32))
    batched.seed(SEED)
    assert np.array_equal(batched.reset(), first)


def test_reset_options_apply_to_the_next_reset_only_as_in_dummy(market):
    batched, dummy = make_pair(market, "full")
    for venv in (batched, dummy):
        venv.set_options({"start": 100})
        venv.reset()
    assert batched.get_attr("bar") == dummy.get_attr("bar") == [100] * N
    batched.reset()
    dummy.reset()
    assert batched.get_attr("bar") == dummy.get_attr("bar") != [100] * N


# --- get_attr, set_attr, env_method, env_is_wrapped ---------------------------------------------


@pytest.mark.parametrize("name", PER_PORTFOLIO)
def test_get_attr_answers_each_portfolios_state_as_dummy_does(market, name):
    batched, dummy = stepped_pair(market, "done")
    assert same(batched.get_attr(name), dummy.get_attr(name))


def test_get_attr_answers_every_public_attribute_as_dummy_does_or_refuses_it_by_name(market):
    batched, dummy = stepped_pair(market, "full")
    names = [n for n in dir(PortfolioEnv(market, **OPTIONS)) if not n.startswith("_")]
    answered = []
    for name in names:
        try:
            values = batched.get_attr(name)
        except AttributeError as error:
            assert repr(name) in str(error)
            continue
        assert same(values, dummy.get_attr(name)), name
        answered.append(name)
    shared = {"config", "market", "symbols", "observation_space", "profile", "split", "features"}
    assert shared | set(PER_PORTFOLIO) <= set(answered)


@pytest.mark.parametrize("name", ["_value", "_t", "market_view", "reset", "render", "unwrapped"])
def test_get_attr_refuses_one_episodes_state_naming_it(market, name):
    batched, _ = stepped_pair(market, "done")
    with pytest.raises(AttributeError, match=repr(name)):
        batched.get_attr(name)
    assert not batched.has_attr(name)


def test_has_attr_is_false_for_an_attribute_portfolio_envs_lack(market):
    batched, dummy = make_pair(market, "done")
    assert batched.has_attr("no_such_attribute") is dummy.has_attr("no_such_attribute") is False


@pytest.mark.parametrize("indices", [None, 0, 2, -1, [0, 2], [-1], [0, -1], [2, 2], range(1, 3), []])
def test_indices_select_portfolios_as_dummy_does(market, indices):
    batched, dummy = stepped_pair(market, "done")
    assert batched.get_attr("bar", indices) == dummy.get_attr("bar", indices)


@pytest.mark.parametrize(
    "call",
    [
        lambda venv: venv.get_attr("bar", N),
        lambda venv: venv.get_attr("config", [0, -N - 1]),
        lambda venv: venv.env_method("market_view", indices=[N]),
        lambda venv: venv.env_is_wrapped(Monitor, indices=N + 2),
    ],
    ids=["get_attr", "get_attr-negative", "env_method", "env_is_wrapped"],
)
def test_out_of_range_indices_raise_index_error_as_in_dummy(market, call):
    batched, dummy = make_pair(market, "done")
    for venv in (batched, dummy):
        with pytest.raises(IndexError):
            call(venv)


def test_set_attr_is_refused_naming_the_attribute(market):
    batched, _ = stepped_pair(market, "done")
    bars = batched.get_attr("bar")
    with pytest.raises(AttributeError, match="cannot set 'bar'"):
        batched.set_attr("bar", 100, indices=[0, -1])
    assert batched.get_attr("bar") == bars


def test_env_method_calls_market_view_per_portfolio_as_dummy_does(market):
    batched, dummy = stepped_pair(market, "done")
    assert same(batched.env_method("market_view"), dummy.env_method("market_view"))


def test_env_method_passes_arguments_and_indices_as_dummy_does(market):
    batched, dummy = stepped_pair(market, "done")
    action = np.linspace(-1.0, 1.0, len(market.symbols)).astype(np.float32)
    drifted = np.full(len(market.symbols), 1.0 / len(market.symbols))
    expected = dummy.env_method("target_weights", action, 150, indices=[0, 2], drifted=drifted)
    assert same(batched.env_method("target_weights", action, 150, indices=[0, 2], drifted=drifted), expected)


@pytest.mark.parametrize("name", ["reset", "step", "render", "close"])
def test_env_method_refuses_other_methods_naming_them(market, name):
    batched, _ = make_pair(market, "done")
    with pytest.raises(AttributeError, match=f"cannot call {name!r}"):
        batched.env_method(name)


def test_env_is_wrapped_is_false_as_for_bare_portfolio_envs(market):
    batched, dummy = make_pair(market, "done")
    assert batched.env_is_wrapped(Monitor) == dummy.env_is_wrapped(Monitor) == [False] * N
