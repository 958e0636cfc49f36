"""Loading a run folder runs none of its code, and refuses a folder that differs from its manifest."""

import base64
import io
import json
import os
import re
import shutil
import zipfile
from pathlib import Path

import cloudpickle
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from cryptofolio.agents.direct import DirectAgent
from cryptofolio.agents.sb3 import load_policy, read_run_config, read_run_metadata, run_env, unvouched_note
from cryptofolio.agents.snapshots import (
    MANIFEST,
    SNAPSHOTS,
    ObservationNormalizer,
    frozen_normalizer,
    load_replay_buffer,
    normalization_data,
    npz_headers,
    read_spaces,
    restore_normalization,
    write_manifest,
)
from cryptofolio.cli import main
from cryptofolio.envs import synthetic_market
from cryptofolio.envs.errors import RunFolderError
from cryptofolio.training.config import resolve_config
from cryptofolio.training.run_folder import RunFolder
from cryptofolio.training.train import train
from tests.helpers import market_of_columns, tiny_overrides


class Planted:
    """An object whose unpickling runs a shell command that leaves a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def trained(tiny_runs):
    """A tiny PPO run on the synthetic market (each test tampers with a copy)."""
    return tiny_runs[0]


@pytest.fixture
def run(trained, tmp_path):
    copy = tmp_path / trained.name
    shutil.copytree(trained, copy)
    return copy


def plant_in_model(model: Path, key: str, marker: Path) -> None:
    """Rewrite ``model.zip`` with a pickled payload as the serialized entry ``key``."""
    with zipfile.ZipFile(model) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    data = json.loads(files["data"])
    payload = base64.b64encode(cloudpickle.dumps(Planted(marker))).decode()
    data[key] = {":type:": "<class 'object'>", ":serialized:": payload}
    files["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(model, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)


def test_the_planted_payload_does_run_when_unpickled(tmp_path):
    """The test's own control: the payload is live, so its absence below means something."""
    cloudpickle.loads(cloudpickle.dumps(Planted(tmp_path / "ran")))
    assert (tmp_path / "ran").exists()


def test_a_payload_in_a_known_entry_of_the_model_is_replaced_not_run(run, tmp_path):
    marker = tmp_path / "ran"
    plant_in_model(run / "best" / "model.zip", "policy_class", marker)
    write_manifest(
        run / "best", read_run_config(run), read_run_metadata(run)
    )  # a hostile folder rewrites its manifest too
    policy = load_policy(run)
    assert not marker.exists()
    observation = np.zeros(policy.model.observation_space.shape, dtype=np.float32)
    assert policy.predict(observation)[0].shape == policy.model.action_space.shape


def test_an_unexpected_serialized_entry_is_refused_by_name(run, tmp_path, capsys):
    marker = tmp_path / "ran"
    plant_in_model(run / "best" / "model.zip", "evil", marker)
    write_manifest(run / "best", read_run_config(run), read_run_metadata(run))
    with pytest.raises(ValueError, match=r"holds serialized entries evil that PPO does not have"):
        load_policy(run)
    assert main(["evaluate", "--runs", str(run), "--baselines", "cash", "--out", str(tmp_path / "r")]) == 2
    assert "refusing to unpickle them" in capsys.readouterr().err and not marker.exists()


def test_pickles_planted_beside_the_model_are_never_read(run, tmp_path):
    marker = tmp_path / "ran"
    (run / "best" / "vecnormalize.pkl").write_bytes(cloudpickle.dumps(Planted(marker)))
    with pytest.raises(RunFolderError, match=r"best/vecnormalize\.pkl is not listed in manifest\.json"):
        load_policy(run)  # a file the snapshot was not saved with
    for folder in ("best", "final", "checkpoint"):
        for name in ("vecnormalize.pkl", "replay_buffer.pkl"):
            (run / folder / name).write_bytes(cloudpickle.dumps(Planted(marker)))
        write_manifest(run / folder, read_run_config(run), read_run_metadata(run))  # listed, still unread
    load_policy(run)
    load_policy(run, which="checkpoint")
    train(
        resolve_config("ppo", overrides=tiny_overrides("ppo"), n_timesteps=300), RunFolder(run), resume=True
    )
    assert not marker.exists()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
def test_weights_are_read_without_unpickling_code(run, tmp_path):
    marker = tmp_path / "ran"
    model = run / "best" / "model.zip"
    with zipfile.ZipFile(model) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    files["policy.pth"] = cloudpickle.dumps(Planted(marker))
    with zipfile.ZipFile(model, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    write_manifest(run / "best", read_run_config(run), read_run_metadata(run))
    with pytest.raises(ValueError, match=r"model\.zip: its weights cannot be read as plain tensors"):
        load_policy(run)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda run: (run / "best" / "normalization.json").unlink(), r"best/normalization\.json is missing"),
        (lambda run: (run / "best" / "model.zip").write_bytes(b"x"), r"best/model\.zip changed since"),
        (lambda run: (run / "best" / MANIFEST).unlink(), "no manifest.json"),
        (
            lambda run: (run / "config.yaml").write_text(
                (run / "config.yaml").read_text().replace("normalize: true", "normalize: false")
            ),
            r"config\.yaml changed since best/ was saved",
        ),
    ],
    ids=["normalization deleted", "model changed", "manifest deleted", "config edited"],
)
def test_a_folder_that_differs_from_its_manifest_is_refused(run, tamper, message):
    tamper(run)
    with pytest.raises(ValueError, match=message):
        load_policy(run)


def test_a_consistent_folder_without_its_normalization_is_still_refused(run):
    (run / "best" / "normalization.json").unlink()
    write_manifest(run / "best", read_run_config(run), read_run_metadata(run))
    with pytest.raises(
        ValueError, match=r"lacks normalization\.json, but the run's config says normalize: True"
    ):
        load_policy(run)


def test_the_frozen_normalizer_equals_vecnormalize_exactly(run):
    env = run_env(run, synthetic_market(seed=0), split="validation")
    venv = VecNormalize(DummyVecEnv([lambda: env]))
    rng = np.random.default_rng(0)
    for _ in range(50):
        venv.obs_rms.update(rng.normal(2.0, 3.0, size=(4, *venv.observation_space.shape)))
    path = run / "stats.json"
    path.write_text(json.dumps(normalization_data(venv)))
    frozen = frozen_normalizer(path, venv.observation_space.shape[0])
    restored = restore_normalization(path, DummyVecEnv([lambda: env]))
    observations = rng.normal(0.0, 10.0, size=(20, *venv.observation_space.shape)).astype(np.float32)
    np.testing.assert_array_equal(frozen.normalize_obs(observations), venv.normalize_obs(observations))
    np.testing.assert_array_equal(restored.normalize_obs(observations), venv.normalize_obs(observations))
    assert restored.obs_rms.count == venv.obs_rms.count and restored.training


def test_bad_normalization_statistics_are_named(tmp_path):
    path = tmp_path / "normalization.json"
    path.write_text(json.dumps({"obs_rms": {"mean": [0.0], "var": [-1.0], "count": 1}}))
    with pytest.raises(ValueError, match=r"normalization\.json: not normalization statistics"):
        frozen_normalizer(path, 1)
    path.write_bytes(b"\x80\x04binary")
    with pytest.raises(ValueError, match=r"normalization\.json: not UTF-8 text"):
        frozen_normalizer(path, 1)


def test_observation_normalizer_clips_to_its_bound():
    normalizer = ObservationNormalizer(np.zeros(2), np.ones(2), 1e-8, 10.0)
    np.testing.assert_array_equal(normalizer.normalize_obs(np.array([100.0, -100.0])), [10.0, -10.0])


def test_an_off_policy_checkpoint_resumes_from_a_plain_replay_buffer(tmp_path):
    config = resolve_config("sac", overrides=tiny_overrides("sac"), n_timesteps=120)
    run = RunFolder.create(tmp_path, config)
    first = train(config, run)
    buffer = first.model.replay_buffer
    with np.load(run.path / "checkpoint" / "replay_buffer.npz", allow_pickle=False) as saved:
        stored = int(saved["pos"])
        np.testing.assert_array_equal(saved["actions"], buffer.actions)
    more = resolve_config("sac", overrides=tiny_overrides("sac"), n_timesteps=240)
    resumed = train(more, run, resume=True).model.replay_buffer
    assert stored > 0 and resumed.pos > stored  # the saved transitions, and the new ones after them
    np.testing.assert_array_equal(resumed.observations[:stored], buffer.observations[:stored])


def test_a_manifest_that_predates_the_metadata_digest_loads_and_is_said_to(run):
    assert unvouched_note(run) is None
    for which in SNAPSHOTS:
        path = run / which / MANIFEST
        manifest = json.loads(path.read_text())
        manifest.pop("data"), manifest.pop("record", None)  # as written before metadata.json was covered
        path.write_text(json.dumps(manifest))
    load_policy(run)
    assert re.search(
        r"saved by a cryptofolio that did not digest its metadata\.json: .* taken as written",
        unvouched_note(run),
    )


def test_an_edited_market_source_is_refused_and_an_edited_status_is_not(run):
    path = run / "metadata.json"
    metadata = json.loads(path.read_text())
    path.write_text(json.dumps({**metadata, "status": "running", "timesteps": 3}))
    load_policy(run)
    path.write_text(json.dumps({**metadata, "market": "/another/folder"}))
    with pytest.raises(RunFolderError, match=r"metadata\.json changed since best/ was saved"):
        load_policy(run)


def test_a_compressed_model_archive_is_refused_naming_the_member(run):
    model = run / "best" / "model.zip"
    with zipfile.ZipFile(model) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(model, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    write_manifest(run / "best", read_run_config(run), read_run_metadata(run))
    with pytest.raises(RunFolderError, match=r"model\.zip: \w+ is compressed"):
        load_policy(run)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(epsilon=0.0), r"epsilon is 0\.0, outside \(0, inf\)"),
        (lambda d: d.update(gamma=2), r"gamma is 2\.0, outside \[0, 1\]"),
        (lambda d: d["obs_rms"].update(count=-1), r"obs_rms\.count is -1\.0, not a positive number"),
        (lambda d: d["ret_rms"].update(mean=[0.0, 1.0], var=[1.0, 1.0]), r"ret_rms has shapes \(2,\)"),
        (lambda d: d.update(norm_obs="yes"), r"norm_obs is 'yes', not true or false"),
    ],
    ids=["epsilon", "gamma", "count", "ret_rms", "norm_obs"],
)
def test_normalization_out_of_range_is_named(run, change, message):
    path = run / "best" / "normalization.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    with pytest.raises(
        RunFolderError, match=rf"normalization\.json: not normalization statistics \({message}"
    ):
        restore_normalization(
            path, DummyVecEnv([lambda: run_env(run, synthetic_market(seed=0), split="train")])
        )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["observation"].update(low=[True], high=[True]), "low must hold numbers only"),
        (lambda d: d["observation"].update(low=[], high=[]), "low and high must be vectors of one length"),
    ],
    ids=["booleans", "empty"],
)
def test_spaces_that_are_not_bounded_vectors_are_named(run, change, message):
    path = run / "best" / "spaces.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    with pytest.raises(
        RunFolderError, match=rf"spaces\.json: not a description of two Box spaces .*{message}"
    ):
        read_spaces(path)


def test_spaces_are_compared_with_the_envs_before_the_model_is_built(run, monkeypatch):
    """Another window: spaces.json is refused naming it, and no network is built over its length."""
    env = run_env(run, synthetic_market(seed=0), split="test")
    built, setup = [], PPO._setup_model

    def spy(model):
        built.append(model)
        setup(model)

    monkeypatch.setattr(PPO, "_setup_model", spy)
    other = run_env(run, market_of_columns(synthetic_market(seed=0), [0, 1, 2]), split="test")
    with pytest.raises(RunFolderError, match=r"best/spaces\.json: the model was trained with observations"):
        load_policy(run, env=other)
    assert not built
    assert load_policy(run, env=env) is not None and built


def test_a_replay_buffer_declaring_absurd_sizes_is_refused_before_it_is_read(tmp_path):
    config = resolve_config("sac", overrides=tiny_overrides("sac"), n_timesteps=120)
    run = RunFolder.create(tmp_path, config)
    model = train(config, run).model
    path = run.path / "checkpoint" / "replay_buffer.npz"
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    header = io.BytesIO()  # a header declaring 4 TB of observations, with no data behind it
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10**12,)})
    members["observations.npy"] = header.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    with pytest.raises(
        RunFolderError, match=r"replay_buffer\.npz: not a NumPy archive .*'observations': declares"
    ):
        load_replay_buffer(model, path)


def test_a_replay_buffer_position_outside_the_buffer_is_refused(tmp_path):
    config = resolve_config("sac", overrides=tiny_overrides("sac"), n_timesteps=120)
    run = RunFolder.create(tmp_path, config)
    model = train(config, run).model
    path = run.path / "checkpoint" / "replay_buffer.npz"
    with np.load(path, allow_pickle=False) as saved:
        arrays = {name: saved[name] for name in saved.files}
    np.savez(path, **{**arrays, "pos": np.int64(10**9)})
    with pytest.raises(
        RunFolderError, match=r"replay_buffer\.npz: pos is 1000000000, outside the buffer's 0 to"
    ):
        load_replay_buffer(model, path)


def test_a_direct_network_is_not_built_over_spaces_its_weights_do_not_hold(tmp_path, monkeypatch):
    config = resolve_config("direct", overrides=tiny_overrides("direct"), n_timesteps=100)
    run = RunFolder.create(tmp_path, config)
    train(config, run)
    path = run.path / "best" / "spaces.json"
    spaces = json.loads(path.read_text())
    spaces["observation"] = {"low": [-1e9] * 100_000, "high": [1e9] * 100_000, "dtype": "float32"}
    path.write_text(json.dumps(spaces))
    write_manifest(path.parent, read_run_config(run.path), read_run_metadata(run.path))
    devices = []
    make = DirectAgent._make_network

    def spy(agent, *args):
        devices.append(torch.empty(0).device.type)  # the device a network would be allocated on
        return make(agent, *args)

    monkeypatch.setattr(DirectAgent, "_make_network", spy)
    with pytest.raises(RunFolderError, match=r"model\.npz: holds arrays that do not fit: '0\.weight'"):
        load_policy(run.path)
    assert devices == ["meta"]  # planned on no memory, never built


def test_a_model_npz_that_is_no_zip_archive_is_refused_naming_it(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(cloudpickle.dumps({"a": 1}))  # a pickle under an archive's name
    with pytest.raises(RunFolderError, match=r"model\.npz: not a zip archive"):
        npz_headers(path)
