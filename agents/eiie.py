"""The shared per-asset policy (``--algo eiie``): one network scores every asset, trained on pooled assets.

After EIIE (Jiang, Xu and Liang 2017, "ensemble of identical independent evaluators") and the
pooled training of Pigorsch and Schäfer (2021): the same network reads each risky asset's own
features and answers that asset's score, so its weights do not depend on which assets, or how
many, a market holds. Each asset sees the others through a summary: the mean of their encodings
(over the listed ones), which makes the policy permutation-equivariant (permuting the assets
permutes the weights) and lets it learn cross-sectional signals such as relative momentum.

Network (:class:`SharedAssetNetwork`), for an observation of N+1 columns (cash first,
:mod:`cryptofolio.envs.features`' layout, M market features per column)::

    x_i = [standardized market features of asset i (M), w_i, listed_i]      i = 1..N
    h_i = encoder(x_i)                               the same MLP for every asset (net_arch)
    c   = mean of h_j over listed j                  (0 when none is)
    a_i = tanh(score([h_i, c, drawdown]))            a linear head per asset
    a_0 = tanh(cash([c, w_0, drawdown]))             the cash entry's linear head

The actions are the env's, mapped to weights by its own mapping (free: ``w ~ a + 1``; residual:
tilts of the anchor); both heads start at zero, so the untrained policy is the zero action
(equal weights over cash and the listed assets when free). The market features are
standardized by the mean and standard deviation of each feature over the listed assets of the
untrained policy's first rollout, kept in the network (``model.npz``): the run's own
observation normalization is off (``normalize: false``), since it would tie the policy to one
universe size.

Training is the gradient agent's (:mod:`cryptofolio.agents.direct`: exact gradients through the
differentiable ledger), on windows drawn from a pool of assets: with ``pool: market`` (the
default) every asset the run's market source offers, loaded with the run's options and split at
the run's own split dates (so nothing after the train split is read); a list of symbols names
the pool; ``pool: own`` trains on the run's assets alone. Each window trades ``universe`` assets
(default: as many as the run's) drawn from those listed at its first bar (fewer if fewer are
listed; the rest are drawn among the others, which list later or stay cash). Pooling is the
resampling: it is refused with ``bootstrap_block`` (a bootstrap of one universe's dates), and a
residual anchor (the run's rule on the run's assets) trains with ``pool: own`` only.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from cryptofolio.agents.direct import CLIP, EPSILON, WEIGHTS, DirectAgent
from cryptofolio.agents.hyperparameters import POOLS, algo_kwargs
from cryptofolio.agents.snapshots import SPACES, read_json, read_spaces, read_state
from cryptofolio.envs import MarketConfig, PortfolioEnv, split_by_dates
from cryptofolio.envs.config import from_data
from cryptofolio.envs.errors import ConfigError, RunFolderError

if TYPE_CHECKING:
    from cryptofolio.agents.learners import RunSettings

POOL = "pool.json"
"""A snapshot's record of the pool it trained on: its symbols and its data's fingerprint."""


class SharedAssetNetwork(torch.nn.Module):
    """(B, D) observations of any number of columns -> (B, N+1) actions in (-1, 1) (module docstring).

    :param n_features: M, market features per column (``(L + table blocks)`` of the feature layout).
    :param net_arch: hidden layer sizes of the per-asset encoder.
    :param activation: the encoder's activation (a torch module class).
    """

    mean: Tensor
    """(M,) each market feature's mean over the listed assets of the first rollout."""
    scale: Tensor
    """(M,) its standard deviation (EPSILON added to the variance)."""

    def __init__(self, n_features: int, net_arch: Sequence[int], activation: type[torch.nn.Module]) -> None:
        super().__init__()
        self.n_features = n_features
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))
        layers: list[torch.nn.Module] = []
        size = n_features + 2
        for width in net_arch:
            layers += [torch.nn.Linear(size, width), activation()]
            size = width
        self.encoder = torch.nn.Sequential(*layers)
        self.score = torch.nn.Linear(2 * size + 1, 1)
        self.cash = torch.nn.Linear(size + 2, 1)
        for head in (self.score, self.cash):
            torch.nn.init.zeros_(head.weight)
            torch.nn.init.zeros_(head.bias)

    def columns_of(self, observations: Tensor | np.ndarray) -> int:
        """N+1 of observations of length D = (M + 2)(N+1).

        :raises ValueError: when D is not a multiple of M + 2.
        """
        size, per_column = int(observations.shape[-1]), self.n_features + 2
        if size % per_column or size < 2 * per_column:
            raise ValueError(f"observations of length {size} are not (M + 2) = {per_column} per column")
        return size // per_column

    def split(self, observations: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(market (B, N+1, M), weights (B, N+1), listed (B, N), drawdown (B, 1))`` of (B, D) ones."""
        m, n = self.n_features, self.columns_of(observations)
        market = observations[:, : m * n].reshape(-1, m, n).transpose(1, 2)
        weights = observations[:, m * n : (m + 1) * n]
        listed = observations[:, (m + 1) * n : (m + 2) * n - 1]
        return market, weights, listed, observations[:, -1:]

    def fit(self, observations: np.ndarray) -> None:
        """Set the standardization to each market feature's mean and std over the listed assets of
        (..., D) ``observations`` (EPSILON added to the variance)."""
        flat = torch.as_tensor(observations.reshape(-1, observations.shape[-1]), dtype=torch.float64)
        market, _, listed, _ = self.split(flat)
        rows = market[:, 1:][listed > 0.5]  # (listed asset-bars, M)
        if len(rows) == 0:
            raise ValueError("no listed asset in the first rollout to standardize the features by")
        mean, variance = rows.mean(dim=0), rows.var(dim=0, unbiased=False)
        self.mean.copy_(mean)
        self.scale.copy_(torch.sqrt(variance + EPSILON))

    def forward(self, observations: Tensor) -> Tensor:
        if observations.dim() == 1:
            return self.forward(observations[None])[0]
        market, weights, listed, drawdown = self.split(observations)
        features = torch.clamp((market[:, 1:] - self.mean) / self.scale, -CLIP, CLIP)
        encoded = self.encoder(torch.cat([features, weights[:, 1:, None], listed[..., None]], dim=2))
        mask = listed[..., None]
        context = (encoded * mask).sum(dim=1) / torch.clamp(mask.sum(dim=1), min=1.0)
        n_assets = encoded.shape[1]
        per_asset = torch.cat(
            [encoded, context[:, None].expand(-1, n_assets, -1), drawdown[:, None].expand(-1, n_assets, -1)],
            dim=2,
        )
        scores = self.score(per_asset)[..., 0]
        cash = self.cash(torch.cat([context, weights[:, :1], drawdown], dim=1))
        return torch.tanh(torch.cat([cash, scores], dim=1))


class EIIEAgent(DirectAgent):
    """The gradient agent with the shared per-asset network, trained on windows of pooled assets.

    Takes :class:`~cryptofolio.agents.direct.DirectAgent`'s parameters, and:

    :param env: the PortfolioEnv windows are drawn from: the pool's (:func:`pool_env`), or the run's.
    :param spaces: the run's own (observation, action) spaces, which a run folder records.
    :param pool: ``market``, ``own`` or a list of symbols: what :func:`pool_env` built ``env`` from.
    :param universe: risky assets per training window; None: as many as the run's (``spaces``).
    """

    def __init__(
        self,
        policy: str = "MlpPolicy",
        env: PortfolioEnv | None = None,
        learning_rate: float | Callable[[float], float] = 1e-3,
        n_steps: int = 64,
        max_grad_norm: float = 1.0,
        policy_kwargs: dict[str, Any] | None = None,
        pool: str | list[str] = "market",
        universe: int | None = None,
        *,
        n_envs: int = 32,
        normalize: bool = False,
        seed: int | None = None,
        device: str = "cpu",
        spaces: tuple[gym.spaces.Box, gym.spaces.Box] | None = None,
        weights: Path | None = None,
    ) -> None:
        if normalize:
            raise ConfigError(
                "normalize: true: the eiie network standardizes each feature itself (any universe size); "
                "set normalize: false"
            )
        self.pool = pool
        self.universe = universe
        super().__init__(
            policy,
            env,
            learning_rate,
            n_steps,
            max_grad_norm,
            policy_kwargs,
            n_envs=n_envs,
            normalize=False,
            seed=seed,
            device=device,
            spaces=spaces,
            weights=weights,
        )

    def _make_network(
        self, n_inputs: int, n_actions: int, net_arch: list[int], activation: type[torch.nn.Module]
    ) -> torch.nn.Module:
        if n_inputs % n_actions:
            raise ConfigError(f"observations of length {n_inputs} do not hold {n_actions} columns")
        return SharedAssetNetwork(n_inputs // n_actions - 2, net_arch, activation)

    def _fit_inputs(self, normalize: bool) -> None:
        env = self.env
        assert env is not None
        own = int(self.action_space.shape[0]) - 1
        size = own if self.universe is None else self.universe
        pooled = len(env.symbols) - 1
        if not 1 <= size <= pooled:
            raise ConfigError(f"universe={size}: windows trade between 1 and the pool's {pooled} assets")
        if self.pool == "own" and size != own:
            raise ConfigError(f"universe={size}: with pool: own, windows trade the run's {own} assets")
        self._size = size
        network = self.network
        assert isinstance(network, SharedAssetNetwork)
        network.fit(self._first_observations())

    def write(self, folder: Path, resumable: bool = False) -> None:
        """The gradient agent's files, and ``pool.json``: the pool's symbols and data fingerprint."""
        super().write(folder, resumable)
        if self.env is not None:
            pool = {"symbols": list(self.env.symbols), "fingerprint": self.env.market.fingerprint()}
            (folder / POOL).write_text(json.dumps(pool, indent=2))

    def read(self, folder: Path, resumable: bool = False) -> None:
        """The gradient agent's files; to continue training, the pool must hold the data it was trained on.

        :raises RunFolderError: naming ``pool.json`` when the pool's assets or data changed.
        """
        super().read(folder, resumable)
        if not resumable or self.env is None:
            return
        if not (folder / POOL).is_file():
            raise RunFolderError(f"{folder}: no {POOL}; the pool this agent trained on is not recorded")
        recorded = read_json(folder / POOL)
        now = {"symbols": list(self.env.symbols), "fingerprint": self.env.market.fingerprint()}
        if recorded != now:
            raise RunFolderError(
                f"{folder / POOL}: the pooled assets or their data changed since the run began (fingerprint "
                f"{recorded.get('fingerprint')}, now {now['fingerprint']}); resume with the same data"
            )

    def _columns(self, starts: np.ndarray) -> np.ndarray | None:
        """(B, k+1): cash, then ``universe`` assets per window, listed ones at its first bar first, in
        random order; None when the windows trade the run's own assets."""
        env = self.env
        assert env is not None
        if self.pool == "own":
            return None
        listed = env.market.available[starts, 1:]
        columns = np.zeros((len(starts), self._size + 1), dtype=np.int64)
        for row, now in enumerate(listed):
            first = self._rng.permutation(np.flatnonzero(now) + 1)
            later = self._rng.permutation(np.flatnonzero(~now) + 1)
            columns[row, 1:] = np.concatenate([first, later])[: self._size]
        return columns


def pool_env(run_env: PortfolioEnv, source: MarketConfig, pool: str | Sequence[str]) -> PortfolioEnv:
    """The PortfolioEnv of the train split windows are drawn from: the pool's assets at the run's split dates.

    :param run_env: the run's train-split env (its splits' dates, profile and env config are used).
    :param source: the run's market (its data and options; its assets are replaced by the pool's).
    :param pool: ``own`` (``run_env`` itself), ``market`` (every asset ``source`` offers) or symbols.
    :raises ConfigError: naming a symbol the source does not offer, or a pool of no asset.
    """
    if pool == "own":
        return run_env
    offered = source.offered()
    if pool == "market":
        symbols = offered
    elif isinstance(pool, str):
        raise ConfigError(f"pool={pool!r}: expected {' or '.join(POOLS)}, or a list of symbols")
    else:
        symbols = tuple(pool)
        missing = [symbol for symbol in symbols if symbol not in offered]
        if missing or not symbols:
            raise ConfigError(
                f"pool: {missing[0] if missing else 'no symbol'} is not an asset of {source.source} "
                f"(it offers {', '.join(offered)})"
            )
    market = dataclasses.replace(source, assets=tuple(symbols), splits=None).load_market()
    dates = run_env.splits.dates(run_env.market)
    splits = split_by_dates(market, train=dates["train"], validation=dates["validation"], test=dates["test"])  # type: ignore[arg-type]
    return PortfolioEnv(market, split="train", splits=splits, profile=run_env.profile, config=run_env.config)


def eiie_agent(
    hyperparams: Mapping[str, Any],
    run_env: PortfolioEnv | None,
    *,
    source: MarketConfig,
    bootstrap_block: int,
    policy: str,
    n_envs: int,
    normalize: bool,
    seed: int | None,
    spaces: tuple[gym.spaces.Box, gym.spaces.Box] | None = None,
    weights: Path | None = None,
) -> EIIEAgent:
    """The agent a run's settings describe, its windows drawn from :func:`pool_env` of ``run_env``;
    ``weights``: the ``model.npz`` it will read, checked before its network is built.

    :raises ConfigError: for a pool with ``bootstrap_block`` or with a residual anchor.
    """
    kwargs = algo_kwargs(dict(hyperparams), 0)
    pool = kwargs.get("pool", "market")
    env = None
    if run_env is not None:
        if pool != "own" and bootstrap_block:
            raise ConfigError(
                f"pool: {pool}: pooled assets are the resampling; set bootstrap_block: 0 (or pool: own)"
            )
        if pool != "own" and run_env.config.actions.residual:
            raise ConfigError(
                f"pool: {pool}: a residual anchor is the run's rule on the run's own assets; "
                "train it with pool: own"
            )
        spaces = (run_env.observation_space, run_env.action_space)  # type: ignore[assignment]
        env = pool_env(run_env, source, pool)
    return EIIEAgent(
        policy, env, **kwargs, n_envs=n_envs, normalize=normalize, seed=seed, spaces=spaces, weights=weights
    )


def make_eiie(config: RunSettings, env: PortfolioEnv, seed: int) -> EIIEAgent:
    """The untrained agent of a run, on its train-split PortfolioEnv (the registry's ``make``)."""
    return eiie_agent(
        config.hyperparams,
        env,
        source=config.market,
        bootstrap_block=config.bootstrap_block,
        policy=config.policy,
        n_envs=config.n_envs,
        normalize=config.normalize,
        seed=seed,
    )


def load_eiie(
    folder: Path, config: Mapping[str, Any], env: PortfolioEnv | None, seed: int | None
) -> EIIEAgent:
    """The agent of a snapshot folder (the registry's ``load``), its arrays read without pickle.

    :param env: the run's train-split PortfolioEnv to continue on (the pool is built again from the
        run's config), or None.
    """
    if env is not None and not isinstance(env, PortfolioEnv):
        raise TypeError("the eiie agent continues on a PortfolioEnv of its train split")
    spaces = read_spaces(folder / SPACES, None if env is None else (env.observation_space, env.action_space))
    agent = eiie_agent(
        config.get("hyperparams") or {},
        env,
        source=from_data(MarketConfig, config.get("market") or {}, "market"),
        bootstrap_block=int(config.get("bootstrap_block", 0)),
        policy=config.get("policy", "MlpPolicy"),
        n_envs=int(config["n_envs"]),
        normalize=bool(config.get("normalize", False)),
        seed=seed,
        spaces=spaces,
        weights=folder / WEIGHTS,
    )
    agent.read(folder, resumable=env is not None)
    agent.num_timesteps = read_state(folder)["timesteps"]
    return agent
