"""Hostile inputs against the command line: each case's outcome, counted.

    .venv/bin/python tools/hostile_inputs.py [--only SUBSTRING] [--jobs 2] [--out /tmp/hostile]

Each case is a user's mistake (or a planted file): it makes its files in a folder of its own under
``<out>/cases/``, runs one ``cryptofolio`` command there (a subprocess with a timeout) and is
classified by how it ended:

- ``clean refusal``: exit 2, no traceback, and stderr names the culprit (the file, key, option or
  value the case spoiled) in at most five lines;
- ``vague refusal``: exit 2, but the culprit is not named (or the message is long);
- ``traceback``: a Python traceback in stderr, or an exit code other than 0 and 2;
- ``accepted``: exit 0, or still running at the timeout (the input was taken in, not refused).
  Column ``ok`` says whether that is a right answer for the case (a legal input, or one the
  output says it handled); ``accepted`` with ``ok`` empty is a silent wrong result;
- ``lost file``: a file the case made outside the command's output paths changed or vanished, a
  new file appeared outside them (a write through a symlink or a ``../`` in a name), or code
  planted in an input ran (it writes ``PWNED``).

Run-folder cases copy a few tiny runs trained once per invocation into ``<out>/fixtures/``.
Prints a table (case, kind, outcome, exit code, ok, the first stderr line or a traceback's
exception) and the counts per outcome, and writes ``<out>/results.json``, one record per case with
its argv, whole stderr (truncated), the project frame a traceback ended in, and the paths lost.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

CLI = str(Path(sys.executable).with_name("cryptofolio"))
PROJECT = Path(__file__).resolve().parents[1]
MARKER = "PWNED"
"""The file a planted payload creates in its case folder when it runs."""
OUTCOMES = ("clean refusal", "vague refusal", "traceback", "accepted", "lost file")
Setup = Callable[[Path], object]
Frames = dict[str, pd.DataFrame]


@dataclasses.dataclass(frozen=True)
class Case:
    """One hostile input: the files it makes, the command, and what a good answer looks like."""

    name: str
    kind: str
    argv: tuple[str, ...]
    setup: Setup | None = None
    culprit: tuple[str, ...] = ()
    """A refusal is clean when stderr holds one of these (an option also by its bare key)."""
    exit_ok: bool = False
    """Exit 0 is a right answer (the input is legal)."""
    said: tuple[str, ...] = ()
    """Exit 0 is a right answer when the output holds one of these (the input handled, and said)."""
    writes: tuple[str, ...] = ("out",)
    """Paths in the case folder the command may create or change."""
    timeout: float = 120.0


def case(
    name: str,
    kind: str,
    argv: Sequence[str],
    setup: Setup | None = None,
    culprit: str | Sequence[str] = (),
    **options: Any,
) -> Case:
    culprits = (culprit,) if isinstance(culprit, str) else tuple(culprit)
    return Case(name, kind, tuple(argv), setup, culprits, **options)


# --- files the cases start from ---------------------------------------------------------------------


def candles(n: int = 900, seed: int = 0, freq: str = "D") -> pd.DataFrame:
    """One asset's OHLCV from 2021-01-01: a random walk, ``n`` bars of ``freq``."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.03, n)))
    stamps = pd.date_range("2021-01-01", periods=n, freq=freq)
    text = stamps.strftime("%Y-%m-%d" if freq == "D" else "%Y-%m-%d %H:%M:%S")
    return pd.DataFrame(
        {
            "date": text,
            "open": close,
            "high": close * 1.01,
            "low": close * 0.99,
            "close": close,
            "volume": 1000.0,
        }
    )


def write_market(folder: Path, change: Callable[[Frames], None] | None = None, seed: int = 0) -> Path:
    """``folder`` with BTC, ETH and SOL CSVs (after ``change`` of their frames)."""
    folder.mkdir(parents=True, exist_ok=True)
    frames = {symbol: candles(seed=seed + i) for i, symbol in enumerate(("BTC", "ETH", "SOL"))}
    if change:
        change(frames)
    for symbol, frame in frames.items():
        frame.to_csv(folder / f"{symbol}.csv", index=False)
    return folder


def market(change: Callable[[Frames], None] | None = None) -> Setup:
    return lambda folder: write_market(folder / "data", change)


def btc(edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Frames], None]:
    """A change of BTC's frame alone."""
    return lambda frames: frames.__setitem__("BTC", edit(frames["BTC"]))


def every(edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Frames], None]:
    """The same change of every asset's frame."""

    def change(frames: Frames) -> None:
        for symbol in frames:
            frames[symbol] = edit(frames[symbol])

    return change


def cells(column: str, rows: slice, value: Any) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.astype({column: object})
        frame.loc[rows, column] = value
        return frame

    return edit


def btc_file(body: bytes | str, name: str = "BTC.csv") -> Setup:
    """The market folder with ``name`` holding ``body``."""

    def setup(folder: Path) -> None:
        data = write_market(folder / "data")
        (data / name).write_bytes(body if isinstance(body, bytes) else body.encode())

    return setup


def write(name: str, body: bytes | str) -> Setup:
    def setup(folder: Path) -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body if isinstance(body, bytes) else body.encode())

    return setup


def both(*setups: Setup) -> Setup:
    def setup(folder: Path) -> None:
        for step in setups:
            step(folder)

    return setup


def mkdir(name: str) -> Setup:
    return lambda folder: (folder / name).mkdir(parents=True)


def fifo(name: str) -> Setup:
    return lambda folder: os.mkfifo(folder / name)


def link(name: str, target: str) -> Setup:
    return lambda folder: (folder / name).symlink_to(target)


def parquet_bytes() -> bytes:
    buffer = io.BytesIO()
    candles().to_parquet(buffer)
    return buffer.getvalue()


# --- runs trained once, copied by the cases -----------------------------------------------------------


class Fixtures:
    """Tiny runs and a paper journal, made on first use (once per invocation, shared by threads)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lock = threading.Lock()
        self.made: dict[str, Path] = {}
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)

    def get(self, name: str) -> Path:
        with self.lock:
            if name not in self.made:
                self.made[name] = getattr(self, f"_make_{name}")()
            return self.made[name]

    def _train(self, cwd: Path, *options: str) -> Path:
        out = cwd / "runs"
        subprocess.run(
            [CLI, "train", *options, "--out", str(out), "--no-progress-bar"],
            cwd=cwd,
            check=True,
            capture_output=True,
            timeout=600,
        )
        return next(p for p in out.iterdir() if (p / "config.yaml").is_file())

    def _make_direct(self) -> Path:
        """The gradient agent (``model.npz``) on the synthetic market."""
        return self._train(self._folder("direct"), "--algo", "direct", "--timesteps", "256")

    def _make_ppo(self) -> Path:
        """PPO (``model.zip``, ``normalization.json``) on the synthetic market."""
        return self._train(self._folder("ppo"), "--algo", "ppo", "--timesteps", "512")

    def _make_csv(self) -> Path:
        """The gradient agent on ``data/`` (BTC, ETH, SOL, 900 days), recorded as the relative path
        ``data``."""
        cwd = self._folder("csv")
        write_market(cwd / "data")
        return self._train(
            cwd,
            "--algo",
            "direct",
            "--timesteps",
            "256",
            "--market",
            "data",
            "--train",
            "2021-01-01:2022-03-31",
            "--val",
            "2022-04-01:2022-12-31",
        )

    def _make_journal(self) -> Path:
        """A paper journal following moderate on the synthetic market from 2024-06-01."""
        cwd = self._folder("journal")
        (cwd / "h.csv").write_text("symbol,quantity\nBTC,0.5\nUSDC,1000\n")
        subprocess.run(
            [
                CLI,
                "paper",
                "start",
                "--journal",
                "j.db",
                "--policy",
                "moderate",
                "--holdings",
                "h.csv",
                "--as-of",
                "2024-06-01",
            ],
            cwd=cwd,
            check=True,
            capture_output=True,
        )
        return cwd / "j.db"

    def _folder(self, name: str) -> Path:
        folder = self.root / name
        folder.mkdir()
        return folder


FIXTURES: Fixtures | None = None


def fixture(name: str) -> Path:
    assert FIXTURES is not None
    return FIXTURES.get(name)


# --- tampering with a copied run folder ---------------------------------------------------------------


Tamper = Callable[[Path], object]


def edit_json(relative: str, change: Callable[[dict], object]) -> Tamper:
    def tamper(run: Path) -> None:
        path = run / relative
        data = json.loads(path.read_text())
        change(data)
        path.write_text(json.dumps(data))

    return tamper


def put(relative: str, body: bytes | str) -> Tamper:
    def tamper(run: Path) -> None:
        (run / relative).write_bytes(body if isinstance(body, bytes) else body.encode())

    return tamper


def replace_text(relative: str, old: str, new: str) -> Tamper:
    def tamper(run: Path) -> None:
        text = (run / relative).read_text()
        assert old in text, f"{relative} holds no {old!r}"
        (run / relative).write_text(text.replace(old, new, 1))

    return tamper


def remove(relative: str) -> Tamper:
    def tamper(run: Path) -> None:
        path = run / relative
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()

    return tamper


def resigned(tamper: Tamper, *snapshots: str) -> Tamper:
    """``tamper``, then each snapshot's manifest rewritten with its files' new digests (a deliberate edit)."""

    def both_steps(run: Path) -> None:
        tamper(run)
        for snapshot in snapshots or ("best", "final", "checkpoint"):
            manifest_path = run / snapshot / "manifest.json"
            manifest = json.loads(manifest_path.read_text())
            manifest["files"] = {
                p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted((run / snapshot).iterdir())
                if p.is_file() and p.name != "manifest.json"
            }
            manifest_path.write_text(json.dumps(manifest))

    return both_steps


def link_outside(relative: str) -> Tamper:
    """``relative`` in the run made a link to a file of the user's beside the run (``mine-<name>``)."""

    def tamper(run: Path) -> None:
        path = run / relative
        outside = run.parent / f"mine-{path.name}"
        if path.is_dir():
            shutil.copytree(path, outside)
            shutil.rmtree(path)
        else:
            outside.write_bytes(path.read_bytes() if path.exists() else b"the user's own file\n")
            path.unlink(missing_ok=True)
        path.symlink_to(outside.resolve())

    return tamper


def payload_pickle(folder: Path) -> bytes:
    """A pickle that creates ``folder/PWNED`` when it is loaded."""
    return b"cposix\nsystem\n(V" + f"touch {folder / MARKER}".encode() + b"\ntR."


def torch_payload(relative: str) -> Tamper:
    """``relative`` (a torch state dict in ``model.zip``) replaced by a torch file whose pickle runs code."""

    def tamper(run: Path) -> None:
        import torch  # only these cases need it

        class Payload:
            def __reduce__(self) -> tuple[object, tuple[str]]:
                return os.system, (f"touch {run.parent / MARKER}",)

        buffer = io.BytesIO()
        torch.save({"weight": Payload()}, buffer)
        rewrite_zip(run / relative.split("!")[0], relative.split("!")[1], buffer.getvalue())

    return tamper


def serialized_entry(key: str) -> Tamper:
    """``model.zip``'s settings given a ``:serialized:`` entry ``key`` holding a pickle that runs code."""

    def tamper(run: Path) -> None:
        import base64

        path = run / "best" / "model.zip"
        with zipfile.ZipFile(path) as archive:
            data = json.loads(archive.read("data"))
        data[key] = {
            ":type:": "<class 'object'>",
            ":serialized:": base64.b64encode(payload_pickle(run.parent)).decode(),
        }
        rewrite_zip(path, "data", json.dumps(data).encode())

    return tamper


def rewrite_zip(path: Path, member: str, body: bytes, compression: int = zipfile.ZIP_STORED) -> None:
    """``member`` of the archive ``path`` replaced by ``body`` (stored, as stable-baselines3 writes)."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members[member] = body
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)


def npz(**arrays: Any) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def npz_declaring(shape: tuple[int, ...]) -> bytes:
    """An ``.npz`` whose one array's header declares ``shape`` of float32, over 64 bytes of data."""
    from numpy.lib import format as npy

    member = io.BytesIO()
    npy.write_array_header_1_0(member, {"descr": "<f4", "fortran_order": False, "shape": shape})
    member.write(b"\0" * 64)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("weights.npy", member.getvalue())
    return buffer.getvalue()


def object_npz() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, weights=np.array([{"a": 1}, print], dtype=object))
    return buffer.getvalue()


HOLDINGS = "symbol,quantity\nBTC,0.5\nUSDC,1000\n"
RUN_COMMANDS = {
    "evaluate": ["evaluate", "--runs", "run", "--baselines", "cash", "--out", "out", "--resamples", "400"],
    "resume": ["train", "--resume", "run", "--timesteps", "4096", "--no-progress-bar"],
    "recommend": ["recommend", "--policy", "run", "--holdings", "h.csv", "--format", "json"],
    "paper": ["paper", "start", "--journal", "out/j.db", "--policy", "run", "--holdings", "h.csv"],
}


def run_case(
    name: str,
    tamper: Tamper | None,
    culprit: str | Sequence[str] = (),
    command: str = "evaluate",
    trained: str = "direct",
    extra: Sequence[str] = (),
    **options: Any,
) -> Case:
    """A copy of the fixture run ``trained`` (``run`` in the case folder) tampered with, then given to
    ``command``."""

    def setup(folder: Path) -> None:
        shutil.copytree(fixture(trained), folder / "run", symlinks=True)
        (folder / "h.csv").write_text(HOLDINGS)
        (folder / "out").mkdir()
        if tamper is not None:
            tamper(folder / "run")

    writes = ("out", "run") if command == "resume" else ("out",)
    options = {"writes": writes, **options}
    return case(name, f"run folder: {command}", [*RUN_COMMANDS[command], *extra], setup, culprit, **options)


# --- the cases -----------------------------------------------------------------------------------------

BACKTEST = ["backtest", "--policies", "cash", "--market", "data", "--out", "out"]


def market_data_cases() -> list[Case]:
    """CSV market data that lies about what it holds."""
    kind = "market data"

    def data(
        name: str,
        change: Callable[[Frames], None],
        culprit: str | Sequence[str] = "BTC.csv",
        argv: Sequence[str] = (),
        **options: Any,
    ) -> Case:
        return case(name, kind, [*BACKTEST, *argv], market(change), culprit, **options)

    def stamps(make: Callable[[Any], Any]) -> Callable[[pd.DataFrame], pd.DataFrame]:
        return lambda f: f.assign(date=make(pd.to_datetime(f["date"], utc=True)))

    def epoch(unit: Literal["s", "ms", "ns"]) -> Callable[[Any], Any]:
        return lambda s: (s - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(1, unit=unit)

    def half_hourly(f: pd.DataFrame) -> pd.DataFrame:
        hourly = pd.date_range("2021-01-01", periods=len(f) // 2, freq="h").strftime("%Y-%m-%d %H:%M:%S")
        days = pd.date_range(hourly[-1], periods=len(f) - len(hourly) + 1, freq="D")[1:]
        return f.assign(date=[*hourly, *days.strftime("%Y-%m-%d %H:%M:%S")])

    def mixed_units(f: pd.DataFrame) -> pd.DataFrame:
        seconds = (pd.to_datetime(f["date"], utc=True) - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(
            1, unit="s"
        )
        return f.assign(date=[s * 1000 if i % 2 else s for i, s in enumerate(seconds)])

    cases = [
        data("no close column", btc(lambda f: f.drop(columns=["close"]))),
        data("no time column", btc(lambda f: f.drop(columns=["date"]))),
        data("two time columns", btc(lambda f: f.assign(timestamp=f["date"]))),
        data("empty close cells", btc(cells("close", slice(100, 105), np.nan))),
        data("closes 'nan' as text", btc(cells("close", slice(100, 100), "nan"))),
        data("negative closes", btc(cells("close", slice(100, 105), -5.0))),
        data("zero closes", btc(cells("close", slice(100, 100), 0.0))),
        data("infinite closes", btc(cells("close", slice(100, 100), "inf"))),
        data("a close of 1e400", btc(cells("close", slice(100, 100), "1e400"))),
        data("close column holding text", btc(lambda f: f.assign(close="high"))),
        data(
            "closes with thousands separators",
            btc(lambda f: f.assign(close=[f"{c:,.2f}" for c in f["close"] * 100])),
        ),
        data("negative volume", btc(cells("volume", slice(5, 5), -1.0))),
        data("duplicate timestamps", btc(lambda f: pd.concat([f, f.iloc[[10]]]).sort_index())),
        data("unsorted timestamps", btc(lambda f: f.iloc[::-1])),
        data("two rows swapped", btc(lambda f: f.iloc[[*range(50), 51, 50, *range(52, len(f))]])),
        data("one row", btc(lambda f: f.iloc[:1])),
        data("header only", btc(lambda f: f.iloc[:0])),
        data("a gap of a year", btc(lambda f: pd.concat([f.iloc[:200], f.iloc[565:]]))),
        data("a gap of one day", btc(lambda f: f.drop(index=300))),
        data(
            "a gap of one day, --ffill-limit 1",
            btc(lambda f: f.drop(index=300)),
            argv=["--ffill-limit", "1"],
            exit_ok=True,
        ),
        data("hourly then daily in one file", btc(half_hourly)),
        data("one asset hourly, the others daily", lambda fr: fr.__setitem__("BTC", candles(freq="h"))),
        data("time in seconds", btc(stamps(epoch("s"))), exit_ok=True),
        data("time in milliseconds", btc(stamps(epoch("ms"))), exit_ok=True),
        data("time in nanoseconds", btc(stamps(epoch("ns"))), exit_ok=True),
        data("seconds and milliseconds mixed", btc(mixed_units)),
        data("ISO times with Z", btc(stamps(lambda s: s.dt.strftime("%Y-%m-%dT%H:%M:%SZ"))), exit_ok=True),
        data("times at +05:00", btc(stamps(lambda s: s.dt.strftime("%Y-%m-%dT%H:%M:%S+05:00")))),
        data("day-first dates (31/01/2021)", btc(stamps(lambda s: s.dt.strftime("%d/%m/%Y")))),
        data("month-first dates (01/31/2021)", every(stamps(lambda s: s.dt.strftime("%m/%d/%Y")))),
        data(
            "row numbers as times",
            every(lambda f: f.assign(date=range(1, len(f) + 1))),
            ("date", "time", "BTC.csv", "ETH.csv", "SOL.csv"),
        ),
        data("garbage dates", btc(lambda f: f.assign(date="someday"))),
        data(
            "dates in the 2920s",
            every(lambda f: f.assign(date="29" + f["date"].str[2:])),
            ("BTC.csv", "ETH.csv", "SOL.csv", "29"),
        ),
        data("symbol column says ETH", btc(lambda f: f.assign(symbol="ETH"))),
        data("pair column says ETHUSDT", btc(lambda f: f.assign(pair="ETHUSDT"))),
        data("symbol column says BTC/USDT", btc(lambda f: f.assign(symbol="BTC/USDT")), exit_ok=True),
        data("high below close", btc(lambda f: f.assign(high=f["close"] / 2)), exit_ok=True),
        data(
            "prices x1000 from row 400",
            btc(lambda f: f.assign(close=np.where(f.index >= 400, f["close"] * 1000, f["close"]))),
            exit_ok=True,
        ),
    ]
    csv_text = candles().to_csv(index=False)
    raw: list[tuple[str, bytes | str]] = [
        ("parquet named .csv", parquet_bytes()),
        ("JSON named .csv", candles().to_json(orient="records")),
        ("empty file", ""),
        ("binary noise", bytes(range(256)) * 16),
        ("gzip named .csv", gzip.compress(csv_text.encode())),
        ("semicolon separators", candles().to_csv(index=False, sep=";")),
        ("tab separators", candles().to_csv(index=False, sep="\t")),
        ("decimal commas", candles().to_csv(index=False, sep=";", decimal=",")),
        ("latin-1 bytes", "date,close\n2021-01-01,1\xe9\n".encode("latin-1")),
        ("UTF-16", csv_text.encode("utf-16")),
        ("a lone quote", 'date,close\n"2021-01-01,1\n'),
        ("NUL bytes inside", csv_text[:200] + "\0" * 10 + csv_text[200:]),
        (
            "CRLF and a blank line in the middle",
            csv_text[:300].replace("\n", "\r\n") + "\r\n\r\n" + csv_text[300:],
        ),
    ]
    cases += [case(n, kind, BACKTEST, btc_file(body), "BTC.csv") for n, body in raw]
    cases += [
        case("byte-order mark", kind, BACKTEST, btc_file("\ufeff" + csv_text), exit_ok=True),
        case(
            "plain text named .csv.gz", kind, BACKTEST, both(btc_file(csv_text, "XRP.csv.gz")), "XRP.csv.gz"
        ),
        case("btc.csv beside BTC.csv", kind, BACKTEST, btc_file(csv_text, "btc.csv"), ("btc.csv", "BTC")),
        case(
            "BTC.CSV in upper case",
            kind,
            BACKTEST,
            both(market(), lambda f: (f / "data/BTC.csv").rename(f / "data/BTC.CSV")),
            ("BTC.CSV",),
            exit_ok=True,  # read as BTC.csv (it was skipped silently)
        ),
        case(
            "AppleDouble ._BTC.csv",
            kind,
            BACKTEST,
            btc_file(b"\x00\x05\x16\x07" + bytes(200), "._BTC.csv"),
            "._BTC.csv",
        ),
        case("a folder named ETC.csv", kind, BACKTEST, both(market(), mkdir("data/ETC.csv")), "ETC.csv"),
        case(
            "a symlink loop LOOP.csv",
            kind,
            BACKTEST,
            both(market(), link("data/LOOP.csv", "LOOP.csv")),
            "LOOP.csv",
        ),
        case(
            "a FIFO named XRP.csv",
            kind,
            BACKTEST,
            both(market(), fifo("data/XRP.csv")),
            "XRP.csv",
            timeout=30,
        ),
        case("a folder without CSVs", kind, BACKTEST, write("data/notes.txt", "nothing"), "data"),
        case("an empty folder", kind, BACKTEST, mkdir("data"), "data"),
        case("no such market", kind, BACKTEST, None, "data"),
        case(
            "market a text file",
            kind,
            [*BACKTEST[:4], "notes.txt", "--out", "out"],
            write("notes.txt", "hi"),
            "notes.txt",
        ),
        case(
            "market /dev/zero",
            kind,
            [*BACKTEST[:4], "/dev/zero", "--out", "out"],
            None,
            "/dev/zero",
            timeout=30,
        ),
        case(
            "one asset's candles as a table",
            kind,
            [*BACKTEST[:4], "data/BTC.csv", "--out", "out"],
            market(),
            "BTC.csv",
        ),
    ]
    return cases + table_cases() + market_option_cases()


def table_cases() -> list[Case]:
    """One table of closes (``--market table.csv``)."""
    kind = "market table"
    argv = ["backtest", "--policies", "cash", "--market", "t.csv", "--out", "out"]
    dates = pd.date_range("2021-01-01", periods=400, freq="D").strftime("%Y-%m-%d")
    table = pd.DataFrame({"date": dates, "BTC": candles(400)["close"], "ETH": candles(400, 1)["close"]})
    text = table.to_csv(index=False)
    return [
        case(
            "table: BTC and btc columns",
            kind,
            argv,
            write("t.csv", table.assign(btc=table["BTC"]).to_csv(index=False)),
            "btc",
        ),
        case(
            "table: a text cell",
            kind,
            argv,
            write("t.csv", text.replace(f"{table['ETH'][7]}", "n/a", 1)),
            "t.csv",
        ),
        case(
            "table: no time column",
            kind,
            argv,
            write("t.csv", table.drop(columns="date").to_csv(index=False)),
            "t.csv",
        ),
        case(
            "table: .parquet holding CSV",
            kind,
            [*argv[:4], "t.parquet", *argv[5:]],
            write("t.parquet", text),
            "t.parquet",
        ),
        case("table: .csv holding parquet", kind, argv, write("t.csv", parquet_bytes()), "t.csv"),
        case("table: .xlsx", kind, [*argv[:4], "t.xlsx", *argv[5:]], write("t.xlsx", text), "t.xlsx"),
        case(
            "table: an empty column",
            kind,
            argv,
            write("t.csv", table.assign(SOL="").to_csv(index=False)),
            "SOL",
        ),
        case(
            "table: the cash asset as a column",
            kind,
            argv,
            write("t.csv", table.assign(USDT=1.0).to_csv(index=False)),
            "USDT",
            exit_ok=True,
        ),
        case(
            "table: a column named close",
            kind,
            argv,
            write("t.csv", table.rename(columns={"ETH": "close"}).to_csv(index=False)),
            ("close", "t.csv"),
        ),
    ]


def market_option_cases() -> list[Case]:
    """The market options given values that cannot hold."""
    kind = "market options"

    def opt(name: str, argv: Sequence[str], culprit: str | Sequence[str], **options: Any) -> Case:
        return case(name, kind, [*BACKTEST, *argv], market(), culprit, **options)

    return [
        opt("--assets not in the data", ["--assets", "BTC,DOGE"], "DOGE"),
        opt("--assets empty", ["--assets", ","], "--assets"),
        opt("--assets BTC twice", ["--assets", "BTC,BTC"], ("--assets", "BTC")),
        opt("--cash BTC, a risky asset", ["--cash", "BTC"], ("--cash", "BTC")),
        opt("--cash EUR, a fiat currency", ["--cash", "EUR"], (), exit_ok=True),
        opt("--cash-prices a missing file", ["--cash", "USDC", "--cash-prices", "USDC.csv"], "USDC.csv"),
        opt(
            "--cash-prices BTC's file as USDC's",
            ["--cash", "USDC", "--cash-prices", "data/BTC.csv"],
            ("BTC.csv", "--cash-prices"),
        ),
        opt(
            "--cash-prices /dev/zero",
            ["--cash", "USDC", "--cash-prices", "/dev/zero"],
            "/dev/zero",
            timeout=30,
        ),
        opt("--columns without =", ["--columns", "close"], "--columns"),
        opt("--columns naming no column", ["--columns", "close=Adj Close"], "Adj Close"),
        opt("--columns an unknown name", ["--columns", "price=close"], ("price", "--columns")),
        opt("--columns time twice", ["--columns", "time=date,time=open"], ("time", "--columns")),
        opt("--ffill-limit -3", ["--ffill-limit", "-3"], "--ffill-limit"),
        opt("--market-seed on a CSV market", ["--market-seed", "5"], "--market-seed"),
        opt("--start garbage", ["--start", "yesterday"], ("--start", "yesterday")),
        opt("--start after --end", ["--start", "2022-01-01", "--end", "2021-06-01"], ("--start", "--end")),
        opt("--start past the data", ["--start", "2030-01-01"], ("--start", "2030")),
        opt("--end before the data", ["--end", "1990-01-01"], ("--end", "1990")),
        case(
            "synthetic --market-seed -1",
            kind,
            ["backtest", "--policies", "cash", "--market-seed", "-1", "--out", "out"],
            None,
            ("--market-seed", "seed"),
        ),
        case(
            "synthetic --market-seed 2**70",
            kind,
            ["backtest", "--policies", "cash", "--market-seed", str(2**70), "--out", "out"],
            None,
            ("--market-seed", "seed"),
        ),
    ]


def split_cases() -> list[Case]:
    """--train/--val/--test, --split and --window that do not fit the data."""
    kind = "splits"
    good = {
        "--train": "2021-01-01:2021-12-31",
        "--val": "2022-01-01:2022-06-30",
        "--test": "2022-07-01:2023-06-19",
    }

    def dated(name: str, culprit: str | Sequence[str], **given: str) -> Case:
        options = {**good, **{f"--{k}": v for k, v in given.items()}}
        argv = [*BACKTEST, *(x for pair in options.items() for x in pair)]
        return case(name, kind, argv, market(), culprit)

    cases = [
        dated("test past the data", ("test", "2030"), test="2023-01-01:2030-06-30"),
        dated("train before the data", ("train", "1990"), train="1990-01-01:2021-12-31"),
        dated("train reversed", ("train",), train="2021-12-31:2021-01-01"),
        dated("train and val overlapping", ("val", "validation"), val="2021-06-01:2022-06-30"),
        dated("val of one day", ("val", "validation"), val="2022-01-01:2022-01-01"),
        dated("test before train", ("test",), test="2020-01-01:2020-06-30"),
        dated("train garbage", "--train", train="soon:later"),
        dated("train a single date", "--train", train="2021-01-01"),
        dated("train on February 30", ("--train", "2021-02-30"), train="2021-01-01:2021-02-30"),
        dataclasses.replace(
            dated("train with hours", ("--train",), train="2021-01-01 00:00:2021-12-31"), exit_ok=True
        ),
        case("--val without --train", kind, [*BACKTEST, "--val", good["--val"]], market(), "--train"),
        case("--test alone", kind, [*BACKTEST, "--test", good["--test"]], market(), ("--train", "--test")),
        case("--window 0", kind, [*BACKTEST, "--window", "0"], market(), "window"),
        case("--window -5", kind, [*BACKTEST, "--window", "-5"], market(), "window"),
        case("--window longer than the data", kind, [*BACKTEST, "--window", "100000"], market(), "window"),
        case("--window 2.5", kind, [*BACKTEST, "--window", "2.5"], market(), "--window"),
        case("--split not a split", kind, [*BACKTEST, "--split", "future"], market(), "--split"),
    ]
    return cases


def cost_and_policy_cases() -> list[Case]:
    """--fee, --slippage, --cash-yield and baseline specs of impossible values."""
    kind = "numeric options"
    bt = ["backtest", "--policies", "cash", "--out", "out"]
    costs = [("--fee", v) for v in ("-1", "nan", "1e309", "inf", "cheap", "1", "0x10")]
    costs += [
        ("--slippage", "-0.1"),
        ("--slippage", "nan"),
        ("--cash-yield", "1e6"),
        ("--cash-yield", "-1"),
        ("--cash-yield", "nan"),
    ]
    cases = [case(f"{option} {value}", kind, [*bt, option, value], None, option) for option, value in costs]
    specs = {
        "moonshot": "moonshot",
        "moderate:bandd=0.1": "bandd",
        "moderate:band=-1": "band",
        "moderate:band=nan": "band",
        "moderate:band=1e309": "band",
        "moderate:calendar=hourly": "calendar",
        "moderate+rocket": "rocket",
        "moderate+": "moderate+",
        "+voltarget": "+voltarget",
        "moderate+voltarget:vol=-1": "vol",
        "moderate+ddbrake:budget=2": "budget",
        "moderate+ddbrake:window_days=0": "window_days",
        "moderate+voltarget:window_days=100000": "window_days",
        "moderate:band=0.1:band=0.2": "band",
        "moderate,moderate": "moderate",
        "": "--policies",
    }
    cases += [
        case(f"--policies {spec!r}", "policy specs", [*bt[:2], spec, *bt[3:]], None, culprit)
        for spec, culprit in specs.items()
    ]
    return cases


def training_option_cases() -> list[Case]:
    """train's numbers and --set overrides (refused before any training, or trained tiny)."""
    kind = "training options"
    tr = ["train", "--algo", "direct", "--out", "out", "--no-progress-bar"]
    tiny = ["--timesteps", "64"]
    values = [
        ("--timesteps 1e20", ["--timesteps", "1e20"], "--timesteps"),
        ("--timesteps -5", ["--timesteps", "-5"], "timesteps"),
        ("--timesteps 0", ["--timesteps", "0"], "timesteps"),
        ("--timesteps 10**12", ["--timesteps", str(10**12)], "timesteps"),
        ("--n-envs 0", ["--n-envs", "0", *tiny], "n_envs"),
        ("--n-envs 10**8", ["--n-envs", str(10**8), *tiny], "n_envs"),
        ("--seed -1", ["--seed", "-1", *tiny], "seed"),
        ("--seed 2**40", ["--seed", str(2**40), *tiny], "seed"),
        ("--vec-env threads", ["--vec-env", "threads"], "--vec-env"),
        ("--algo moon", ["--algo", "moon"], "--algo"),
        ("--set an unknown key", ["--set", "learnin_rate=0.1", *tiny], "learnin_rate"),
        ("--set without =", ["--set", "learning_rate", *tiny], "learning_rate"),
        ("--set an empty key", ["--set", "=1", *tiny], "--set"),
        ("--set a..b=1", ["--set", "env..costs=1", *tiny], ("env..costs", "--set")),
        ("--set unparsable YAML", ["--set", "policy_kwargs.net_arch=[64,", *tiny], ("net_arch", "--set")),
        ("--set learning_rate=.nan", ["--set", "learning_rate=.nan", *tiny], "learning_rate"),
        ("--set learning_rate=1e400", ["--set", "learning_rate=1e400", *tiny], "learning_rate"),
        (
            "--set a network of 10**8 units",
            ["--set", "policy_kwargs.net_arch=[100000000]", *tiny],
            "net_arch",
        ),
        (
            "--set activation os.system",
            ["--set", "policy_kwargs.activation_fn=os.system", *tiny],
            "activation_fn",
        ),
        ("--set env.costs.fee=-1", ["--set", "env.costs.fee=-1", *tiny], "fee"),
        ("--set env.observation.window=0", ["--set", "env.observation.window=0", *tiny], "window"),
        (
            "--set env.episode_length=1",
            ["--set", "env.episode_length=1", *tiny],
            "episode_length",
        ),  # legal, if odd
        ("--set market.source=x", ["--set", "market.source=x", *tiny], "market"),
        ("--set seed=nan", ["--set", "seed=nan", *tiny], "seed"),
        ("--set eval_freq=0", ["--set", "eval_freq=0", *tiny], "eval_freq"),
        (
            "--set selection_metric=max_drawdown",
            ["--set", "selection_metric=max_drawdown", *tiny],
            "selection_metric",
        ),
        (
            "--set env.actions.anchor=moonshot",
            ["--set", "env.actions.anchor=moonshot", *tiny],
            ("anchor", "moonshot"),
        ),
        ("--fee nan on train", ["--fee", "nan", *tiny], "fee"),
        (
            "--train past the data on train",
            ["--train", "2019-01-01:2031-01-01", "--val", "2031-01-02:2031-06-01", *tiny],
            ("train", "2031"),
        ),
    ]
    legal = {"--set env.episode_length=1"}
    return [
        case(name, kind, [*tr, *argv], None, culprit, exit_ok=name in legal) for name, argv, culprit in values
    ]


def config_file_cases() -> list[Case]:
    """--hyperparams YAML files (the layout of configs/<algo>.yaml) and tune's --space."""
    kind = "config files"
    tr = [
        "train",
        "--algo",
        "direct",
        "--hyperparams",
        "h.yaml",
        "--out",
        "out",
        "--timesteps",
        "64",
        "--no-progress-bar",
    ]
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    bodies: dict[str, tuple[bytes | str, str | tuple[str, ...]]] = {
        "a list": ("- 1\n- 2\n", "h.yaml"),
        "a scalar": ("42\n", "h.yaml"),
        "default a string": ("default: fast\n", "default"),
        "default a list": ("default: [1, 2]\n", "default"),
        "default null": ("default:\n", "default"),
        "a key given twice": ("default:\n  learning_rate: 0.1\n  learning_rate: 0.2\n", "learning_rate"),
        "an anchor and alias": (
            "default: &a\n  learning_rate: 0.1\nmoderate: *a\n",
            ("h.yaml", "anchor", "alias"),
        ),
        "a billion laughs": (f"default: {{}}\n{laughs}", ("h.yaml", "anchor", "alias")),
        "a misspelled profile": ("default: {}\nmoderat:\n  learning_rate: 0.1\n", "moderat"),
        "an unknown setting": ("default:\n  learnign_rate: 0.1\n", "learnign_rate"),
        "a negative learning rate": ("default:\n  learning_rate: -0.1\n", "learning_rate"),
        "learning rate .nan": ("default:\n  learning_rate: .nan\n", "learning_rate"),
        "learning rate .inf": ("default:\n  learning_rate: .inf\n", "learning_rate"),
        "learning rate a word": ("default:\n  learning_rate: fast\n", "learning_rate"),
        "learning rate true": ("default:\n  learning_rate: true\n", "learning_rate"),
        "n_envs 1.5": ("default:\n  n_envs: 1.5\n", "n_envs"),
        "n_envs a list": ("default:\n  n_envs: [1]\n", "n_envs"),
        "seed -1": ("default:\n  seed: -1\n", "seed"),
        "a 5000-digit integer": ("default:\n  n_envs: " + "9" * 5000 + "\n", ("n_envs", "h.yaml")),
        "a python object tag": ("default: !!python/object/apply:os.system ['touch PWNED']\n", "h.yaml"),
        "a custom tag": ("default: !secret {}\n", "h.yaml"),
        "a tab indent": ("default:\n\tlearning_rate: 0.1\n", "h.yaml"),
        "binary bytes": (b"\x00\x01\x02\xff\xfe", "h.yaml"),
        "UTF-16": ("default:\n  learning_rate: 0.1\n".encode("utf-16"), "h.yaml"),
        "env a list": ("default:\n  env: [1, 2]\n", "env"),
        "env an unknown section": ("default:\n  env:\n    rewards: {}\n", "rewards"),
        "env.costs.fee -1": ("default:\n  env:\n    costs:\n      fee: -1\n", "fee"),
        "env.reward.objective moon": ("default:\n  env:\n    reward:\n      objective: moon\n", "objective"),
        "a market section": ("default:\n  market:\n    source: elsewhere\n", "market"),
        "policy_kwargs a string": ("default:\n  policy_kwargs: big\n", "policy_kwargs"),
        "net_arch of 10**8": ("default:\n  policy_kwargs:\n    net_arch: [100000000]\n", "net_arch"),
        "policy CnnPolicy": ("default:\n  policy: CnnPolicy\n", "policy"),
        "policy os.system": ("default:\n  policy: os.system\n", "policy"),
        "an empty file": ("", ("h.yaml", "default")),
        "keys that are lists": ("default:\n  ? [a, b]\n  : 1\n", "h.yaml"),
        "nested 100,000 deep": ("default: " + "[" * 100_000 + "]" * 100_000 + "\n", "h.yaml"),
    }
    cases = [
        case(f"--hyperparams: {name}", kind, tr, write("h.yaml", body), culprit)
        for name, (body, culprit) in bodies.items()
    ]
    big = "default:\n  learning_rate: 0.1\n  note: " + "a" * 100_000_000 + "\n"
    cases += [
        case("--hyperparams: a 100 MB line", kind, tr, write("h.yaml", big), ("h.yaml", "note"), timeout=120),
        case("--hyperparams: missing", kind, tr, None, "h.yaml"),
        case("--hyperparams: a folder", kind, tr, mkdir("h.yaml"), "h.yaml"),
        case("--hyperparams: a FIFO", kind, tr, fifo("h.yaml"), "h.yaml", timeout=30),
        case(
            "--hyperparams: /dev/zero", kind, [*tr[:4], "/dev/zero", *tr[5:]], None, "/dev/zero", timeout=60
        ),
    ]
    tune = [
        "tune",
        "--algo",
        "direct",
        "--space",
        "s.yaml",
        "--trials",
        "1",
        "--timesteps",
        "64",
        "--storage",
        "sqlite:///out/t.db",
        "--out",
        "out",
        "--no-progress-bar",
    ]
    spaces = {
        "a list": ("- 1\n", "s.yaml"),
        "an unknown learner": ("moon:\n  learning_rate: [1e-4, 1e-3, log]\n", ("moon", "s.yaml")),
        "an unknown setting": ("direct:\n  learnign_rate: [1e-4, 1e-3]\n", "learnign_rate"),
        "a reversed range": ("direct:\n  learning_rate: [1e-3, 1e-4]\n", "learning_rate"),
        "a log range from 0": ("direct:\n  learning_rate: [0, 1e-3, log]\n", "learning_rate"),
        "an empty choice": ("direct:\n  learning_rate: []\n", "learning_rate"),
        "a range of NaN": ("direct:\n  learning_rate: [.nan, 1]\n", "learning_rate"),
        "a value that cannot train": ("direct:\n  learning_rate: [-1, 1]\n", "learning_rate"),
    }
    cases += [
        case(f"--space: {name}", kind, tune, write("s.yaml", body), culprit)
        for name, (body, culprit) in spaces.items()
    ]
    return cases


def run_folder_cases() -> list[Case]:
    """Run folders tampered with, given to evaluate, train --resume, recommend and paper."""
    syn = ["--market", "synthetic"]
    cases = [
        run_case("metadata.json not JSON", put("metadata.json", "{oops"), "metadata.json"),
        run_case("metadata.json a list", put("metadata.json", "[]"), "metadata.json"),
        run_case("metadata.json missing", remove("metadata.json"), "metadata.json"),
        run_case(
            "metadata.json of another market (symbols)",
            edit_json("metadata.json", lambda m: m.__setitem__("symbols", ["USDC", "BTC"])),
            "metadata.json",
        ),
        run_case(
            "metadata.json fingerprint a number",
            edit_json("metadata.json", lambda m: m.__setitem__("market_fingerprint", 7)),
            ("market_fingerprint", "metadata.json"),
        ),
        run_case(
            "metadata.json periods_per_year a word",
            edit_json("metadata.json", lambda m: m.__setitem__("periods_per_year", "daily")),
            ("periods_per_year", "metadata.json"),
        ),
        run_case(
            "metadata.json hourly bars",
            edit_json("metadata.json", lambda m: m.__setitem__("periods_per_year", 8760.0)),
            ("periods_per_year", "metadata.json"),
        ),
        run_case(
            "metadata.json training dates edited",
            edit_json(
                "metadata.json",
                lambda m: m["splits"]["train"]["dates"].__setitem__(1, "2019-06-30T00:00:00+00:00"),
            ),
            "metadata.json",
        ),
        run_case(
            "metadata.json nested 100,000 deep",
            put("metadata.json", "[" * 100_000 + "]" * 100_000),
            "metadata.json",
        ),
        run_case(
            "config.yaml nested 100,000 deep",
            put("config.yaml", "[" * 100_000 + "]" * 100_000),
            "config.yaml",
        ),
        run_case(
            "metadata.json anchors removed",
            edit_json("metadata.json", lambda m: m.pop("anchors")),
            "metadata.json",
        ),
        run_case(
            "metadata.json market renamed",
            edit_json("metadata.json", lambda m: m.__setitem__("market", "synthetic(seed=5)")),
            "metadata.json",
            exit_ok=True,
        ),
        run_case("config.yaml seed edited", replace_text("config.yaml", "seed: 0", "seed: 3"), "config.yaml"),
        run_case(
            "config.yaml market seed edited",
            replace_text("config.yaml", "  seed: 0\n", "  seed: 5\n"),
            "config.yaml",
        ),
        run_case("config.yaml not YAML", put("config.yaml", "algo: [\n"), "config.yaml"),
        run_case("config.yaml a list", put("config.yaml", "- ppo\n"), "config.yaml"),
        run_case("config.yaml missing", remove("config.yaml"), ("run", "config.yaml")),
        run_case(
            "config.yaml an unknown learner",
            replace_text("config.yaml", "algo: direct", "algo: moon"),
            ("moon", "config.yaml"),
        ),
        run_case(
            "config.yaml a python tag",
            put("config.yaml", "algo: !!python/object/apply:os.system ['touch PWNED']\n"),
            "config.yaml",
        ),
        run_case(
            "config.yaml n_envs a string",
            replace_text("config.yaml", "n_envs: ", "n_envs: many #"),
            ("n_envs", "config.yaml"),
        ),
        run_case("model.npz replaced by text", put("best/model.npz", "hello"), "model.npz"),
        run_case(
            "model.npz a pickle, manifest re-signed",
            resigned(put("best/model.npz", b"\x80\x04\x95cposix\nsystem\n.")),
            "model.npz",
        ),
        run_case(
            "model.npz an object array, manifest re-signed",
            resigned(put("best/model.npz", object_npz())),
            "model.npz",
        ),
        run_case(
            "model.npz declaring 10**12 floats, manifest re-signed",
            resigned(put("best/model.npz", npz_declaring((10**12,)))),
            "model.npz",
        ),
        run_case(
            "model.npz declaring 10**6 floats over 64 bytes, manifest re-signed",
            resigned(put("best/model.npz", npz_declaring((10**6,)))),
            "model.npz",
        ),
        run_case(
            "model.npz arrays of other shapes, manifest re-signed",
            resigned(put("best/model.npz", npz(w=np.zeros((3, 3))))),
            "model.npz",
        ),
        run_case("manifest.json removed", remove("best/manifest.json"), "manifest.json"),
        run_case("manifest.json not JSON", put("best/manifest.json", "{"), "manifest.json"),
        run_case("manifest.json a list", put("best/manifest.json", "[]"), "manifest.json"),
        run_case(
            "manifest.json names ../config.yaml",
            edit_json("best/manifest.json", lambda m: m["files"].__setitem__("../config.yaml", "0")),
            "manifest.json",
        ),
        run_case(
            "manifest.json digests numbers",
            edit_json("best/manifest.json", lambda m: m.__setitem__("files", {k: 1 for k in m["files"]})),
            "manifest.json",
        ),
        run_case(
            "a stray file in best/",
            put("best/extra.pkl", payload_pickle(Path("/nonexistent"))),
            (),
            exit_ok=True,
        ),
        run_case("state.json not JSON", put("best/state.json", "x"), "state.json"),
        run_case(
            "state.json not JSON, manifest re-signed", resigned(put("best/state.json", "x")), "state.json"
        ),
        run_case(
            "state.json timesteps a word, manifest re-signed",
            resigned(edit_json("best/state.json", lambda s: s.__setitem__("timesteps", "many"))),
            ("timesteps", "state.json"),
        ),
        run_case(
            "spaces.json shape edited, manifest re-signed",
            resigned(edit_json("best/spaces.json", lambda s: s["observation"].update(low=[0.0], high=[1.0]))),
            "spaces.json",
        ),
        run_case(
            "spaces.json dtype float64, manifest re-signed",
            resigned(
                edit_json("best/spaces.json", lambda s: s["observation"].__setitem__("dtype", "float64"))
            ),
            "spaces.json",
        ),
        run_case("best/ removed", remove("best"), "best"),
        run_case("best/ a file", both(remove("best"), put("best", "x")), "best"),
        run_case(
            "best/ a link to final/",
            both(remove("best"), lambda r: (r / "best").symlink_to("final")),
            "best",
            exit_ok=True,
        ),
        run_case("--which final without final/", remove("final"), ("final",), extra=["--which", "final"]),
        run_case(
            "best/model.npz a link outside",
            link_outside("best/model.npz"),
            ("model.npz", "link"),
            exit_ok=True,
        ),
        run_case(
            "a run folder holding a link, evaluated",
            link_outside("progress.csv"),
            ("progress.csv", "link"),
            exit_ok=True,
        ),
    ]
    cases += [
        run_case(
            "PPO: model.zip replaced by text", put("best/model.zip", "hello"), "model.zip", trained="ppo"
        ),
        run_case(
            "PPO: policy.pth runs code, manifest re-signed",
            resigned(torch_payload("best/model.zip!policy.pth")),
            "model.zip",
            trained="ppo",
        ),
        run_case(
            "PPO: a :serialized: entry unknown, manifest re-signed",
            resigned(serialized_entry("evil")),
            ("model.zip", "evil"),
            trained="ppo",
        ),
        run_case(
            "PPO: a :serialized: policy_class, manifest re-signed",
            resigned(serialized_entry("policy_class")),
            ("model.zip",),
            trained="ppo",
            exit_ok=True,
        ),
        run_case(
            "PPO: model.zip data not JSON, manifest re-signed",
            resigned(lambda r: rewrite_zip(r / "best/model.zip", "data", b"{")),
            "model.zip",
            trained="ppo",
        ),
        run_case(
            "PPO: model.zip a zip bomb, manifest re-signed",
            resigned(
                lambda r: rewrite_zip(
                    r / "best/model.zip", "data", b" " * 300_000_000 + b"{}", zipfile.ZIP_DEFLATED
                )
            ),
            "model.zip",
            trained="ppo",
            timeout=120,
        ),
        run_case(
            "PPO: normalization.json of other shapes, re-signed",
            resigned(
                edit_json(
                    "best/normalization.json", lambda n: n["obs_rms"].update(mean=[0.0] * 3, var=[1.0] * 3)
                )
            ),
            "normalization.json",
            trained="ppo",
        ),
        run_case(
            "PPO: normalization.json NaN means, re-signed",
            resigned(
                edit_json(
                    "best/normalization.json",
                    lambda n: n["obs_rms"].__setitem__("mean", [float("nan")] * len(n["obs_rms"]["mean"])),
                )
            ),
            "normalization.json",
            trained="ppo",
        ),
        run_case(
            "PPO: normalization.json epsilon -1, re-signed",
            resigned(edit_json("best/normalization.json", lambda n: n.__setitem__("epsilon", -1.0))),
            ("normalization.json", "epsilon"),
            trained="ppo",
        ),
        run_case(
            "PPO: normalization.json 10**7 means, re-signed",
            resigned(edit_json("best/normalization.json", lambda n: n["obs_rms"].update(mean=[0.0] * 10**7))),
            "normalization.json",
            trained="ppo",
        ),
        run_case(
            "PPO: normalization.json removed",
            remove("best/normalization.json"),
            "normalization.json",
            trained="ppo",
        ),
    ]
    resume = "resume"
    cases += [
        run_case(
            "resume: progress.csv a link outside",
            link_outside("progress.csv"),
            ("progress.csv", "link"),
            resume,
        ),
        run_case(
            "resume: config.yaml a link outside", link_outside("config.yaml"), ("config.yaml", "link"), resume
        ),
        run_case(
            "resume: checkpoint/ a link outside", link_outside("checkpoint"), ("checkpoint", "link"), resume
        ),
        run_case(
            "resume: events file a link outside",
            lambda r: link_outside(next(p.name for p in r.iterdir() if p.name.startswith("events")))(r),
            ("events", "link"),
            resume,
        ),
        run_case(
            "resume: metadata.json a link outside",
            link_outside("metadata.json"),
            ("metadata.json", "link"),
            resume,
        ),
        run_case(
            "resume: checkpoint state.json emptied", put("checkpoint/state.json", "{}"), "state.json", resume
        ),
        run_case("resume: without checkpoint/", remove("checkpoint"), "checkpoint", resume),
        run_case(
            "resume: optimizer.npz other shapes, re-signed",
            resigned(put("checkpoint/optimizer.npz", npz(m=np.zeros(2))), "checkpoint"),
            "optimizer.npz",
            resume,
        ),
        run_case(
            "resume: optimizer.npz declaring 10**12, re-signed",
            resigned(put("checkpoint/optimizer.npz", npz_declaring((10**12,))), "checkpoint"),
            "optimizer.npz",
            resume,
        ),
        run_case(
            "resume: progress.csv binary", put("progress.csv", bytes(range(256)) * 8), "progress.csv", resume
        ),
        run_case(
            "resume: progress.csv removed", remove("progress.csv"), "progress.csv", resume, exit_ok=True
        ),
        run_case("resume: with --algo", None, "--algo", resume, extra=["--algo", "ppo"]),
        run_case("resume: with --market", None, "--market", resume, extra=["--market", "synthetic"]),
        run_case(
            "resume: config.yaml edited",
            replace_text("config.yaml", "seed: 0", "seed: 3"),
            "config.yaml",
            resume,
        ),
        run_case(
            "resume: metadata.json status a list",
            edit_json("metadata.json", lambda m: m.__setitem__("status", [])),
            ("status", "metadata.json"),
            resume,
            exit_ok=True,
        ),
    ]
    cases += [
        run_case(
            "recommend: manifest.json a list", put("best/manifest.json", "[]"), "manifest.json", "recommend"
        ),
        run_case(
            "recommend: --assets other than the run's",
            None,
            "--assets",
            "recommend",
            extra=["--assets", "BTC,ETH"],
        ),
        run_case(
            "recommend: --market of other assets",
            lambda r: write_market(r.parent / "data"),
            ("data", "BTC"),
            "recommend",
            extra=["--market", "data"],
        ),
        run_case(
            "recommend: metadata.json symbols edited",
            edit_json("metadata.json", lambda m: m.__setitem__("symbols", ["USDC", "BTC"])),
            "metadata.json",
            "recommend",
        ),
        run_case("recommend: --peak below today's value", None, "--peak", "recommend", extra=["--peak", "1"]),
        run_case(
            "recommend: config.yaml edited",
            replace_text("config.yaml", "seed: 0", "seed: 3"),
            "config.yaml",
            "recommend",
        ),
        run_case(
            "recommend: two runs, one tampered",
            lambda r: (
                shutil.copytree(r, r.parent / "run2", symlinks=True),
                put("best/manifest.json", "[]")(r.parent / "run2"),
            ),
            "run2",
            "recommend",
            extra=["--policy", "run,run2"],
        ),
        run_case(
            "recommend: PPO policy.pth runs code, re-signed",
            resigned(torch_payload("best/model.zip!policy.pth")),
            "model.zip",
            "recommend",
            trained="ppo",
        ),
        run_case("paper: a tampered run", put("best/model.npz", "x"), "model.npz", "paper"),
        run_case(
            "paper: PPO policy.pth runs code, re-signed",
            resigned(torch_payload("best/model.zip!policy.pth")),
            "model.zip",
            "paper",
            trained="ppo",
        ),
    ]
    return cases + run_market_cases(syn) + run_path_cases()


def run_market_cases(syn: list[str]) -> list[Case]:
    """A run evaluated on another market than its own, or on splits it used."""
    kind = "run's market"

    def nudge_anchors(run: Path) -> None:
        metadata = json.loads((run / "metadata.json").read_text())
        dates = {
            pd.Timestamp(d).strftime("%Y-%m-%d") for points in metadata["anchors"].values() for d, _ in points
        }
        for path in (run.parent / "data").glob("*.csv"):
            frame = pd.read_csv(path)
            frame.loc[frame["date"].isin(dates), "close"] *= 1 + 1e-6
            frame.to_csv(path, index=False)

    def csv_run(
        name: str,
        data_seed: int | None,
        extra: Sequence[str],
        culprit: str | Sequence[str],
        tamper: Tamper | None = None,
        **options: Any,
    ) -> Case:
        """The run trained on ``data`` (a relative path), copied with a ``data`` folder of its own."""

        def setup(run: Path) -> None:
            if data_seed is not None:
                write_market(run.parent / "data", seed=data_seed)
            if tamper is not None:
                tamper(run)

        return dataclasses.replace(
            run_case(name, setup, culprit, trained="csv", extra=extra, **options), kind=kind
        )

    def relabel(case_: Case) -> Case:
        return dataclasses.replace(case_, kind=kind)

    return [
        relabel(
            run_case(
                "evaluate --market-seed 3 (the run's is 0)",
                None,
                "--market-seed",
                extra=["--market-seed", "3"],
                exit_ok=True,  # applied over the run's market: other prices, said first among the claims
            )
        ),
        relabel(
            run_case(
                "evaluate --assets BTC,ETH on the run's market",
                None,
                "--assets",
                extra=["--assets", "BTC,ETH"],
            )
        ),
        relabel(
            run_case(
                "evaluate --start 2024-06-01 on the run's market",
                None,
                "--start",
                extra=["--start", "2024-06-01"],
            )
        ),
        relabel(
            run_case(
                "evaluate --ffill-limit 5 on the run's market",
                None,
                "--ffill-limit",
                extra=["--ffill-limit", "5"],
                exit_ok=True,  # applied over the run's market, whose prices have no gap to fill: the same
            )
        ),
        relabel(
            run_case(
                "evaluate --market synthetic --market-seed 3",
                None,
                (),
                extra=[*syn, "--market-seed", "3"],
                said=("not the data",),
            )
        ),
        relabel(run_case("evaluate --split train", None, ("train", "training"), extra=["--split", "train"])),
        relabel(
            run_case(
                "evaluate --split validation",
                None,
                ("validation", "selection"),
                extra=["--split", "validation"],
            )
        ),
        relabel(
            run_case(
                "evaluate --test inside the training dates",
                None,
                ("--test", "train"),
                extra=["--test", "2020-01-01:2020-12-31"],
            )
        ),
        relabel(
            run_case(
                "evaluate --market a CSV folder of other assets",
                lambda r: write_market(r.parent / "data"),
                ("data", "BTC"),
                extra=["--market", "data"],
            )
        ),
        csv_run("CSV run: its relative data/ missing here", None, [], ("data",)),
        csv_run("CSV run: another data/ here (other prices)", 7, [], ("data",), said=("not the data",)),
        csv_run("CSV run: same data/ copied here", 0, [], (), exit_ok=True),
        csv_run(
            "CSV run: --split train on its prices, anchors nudged 1e-6",
            0,
            ["--split", "train"],
            ("train", "training"),
            nudge_anchors,
        ),
        csv_run(
            "CSV run: --market hourly data of the same assets",
            None,
            ["--market", "hourly"],
            ("hourly", "bars"),
            lambda r: write_market(
                r.parent / "hourly", every(lambda f: f.assign(date=candles(freq="h")["date"]))
            ),
        ),
        relabel(
            run_case(
                "recommend --market-seed 3 (same assets)",
                None,
                (),
                "recommend",
                extra=["--market-seed", "3"],
                exit_ok=True,
            )
        ),
    ]


def run_path_cases() -> list[Case]:
    """What --runs, --resume and --policy name is not a run folder."""
    kind = "run folder paths"
    ev = RUN_COMMANDS["evaluate"]
    return [
        case("--runs a file", kind, ev, write("run", "x"), "run"),
        case("--runs missing", kind, ev, None, "run"),
        case("--runs an empty folder", kind, ev, mkdir("run"), "run"),
        case("--runs a glob matching nothing", kind, [*ev[:2], "nomatch*", *ev[3:]], None, "nomatch"),
        case(
            "--runs the same run twice via a link",
            kind,
            [*ev[:3], "again", *ev[3:]],
            both(lambda f: shutil.copytree(fixture("direct"), f / "run"), link("again", "run")),
            ("run", "again", "twice"),
        ),
        case("--runs a link loop", kind, ev, link("run", "run"), "run"),
        case(
            "--resume a file", kind, RUN_COMMANDS["resume"], write("run", "x"), "run", writes=("out", "run")
        ),
        case("--resume missing", kind, RUN_COMMANDS["resume"], None, "run", writes=("out",)),
        case(
            "--resume an empty folder",
            kind,
            RUN_COMMANDS["resume"],
            mkdir("run"),
            "run",
            writes=("out", "run"),
        ),
        case(
            "recommend --policy a file",
            kind,
            RUN_COMMANDS["recommend"],
            both(write("run", "x"), write("h.csv", HOLDINGS)),
            "run",
        ),
        case(
            "recommend --policy an empty folder",
            kind,
            RUN_COMMANDS["recommend"],
            both(mkdir("run"), write("h.csv", HOLDINGS)),
            "run",
        ),
    ]


def holdings_cases() -> list[Case]:
    """Holdings files for recommend, diagnose and paper start."""
    kind = "holdings"
    rec = ["recommend", "--policy", "moderate", "--holdings", "h.csv", "--format", "json"]
    bodies: dict[str, tuple[str, str | tuple[str, ...]]] = {
        "negative quantity": ("symbol,quantity\nBTC,-1\nUSDC,100\n", "BTC"),
        "NaN quantity": ("symbol,quantity\nBTC,nan\n", "BTC"),
        "inf quantity": ("symbol,quantity\nBTC,inf\n", "BTC"),
        "quantity 1e400": ("symbol,quantity\nBTC,1e400\n", "BTC"),
        "quantity 1e308 twice": ("symbol,quantity\nBTC,1e308\nETH,1e308\n", "h.csv"),
        "quantity a word": ("symbol,quantity\nBTC,lots\n", "BTC"),
        "quantity with a comma": ('symbol,quantity\nBTC,"1,5"\n', "BTC"),
        "quantity with a currency sign": ("symbol,quantity\nBTC,$5\n", "BTC"),
        "unknown symbol": ("symbol,quantity\nZZZ,1\nBTC,1\n", "ZZZ"),
        "symbol twice": ("symbol,quantity\nBTC,1\nBTC,2\n", "BTC"),
        "btc and BTC": ("symbol,quantity\nbtc,1\nBTC,2\n", "BTC"),
        "empty symbol": ("symbol,quantity\n,1\nBTC,1\n", ("h.csv", "symbol")),
        "no quantity column": ("symbol\nBTC\n", "quantity"),
        "no symbol column": ("quantity\n1\n", "symbol"),
        "columns swapped": ("quantity,symbol\n1,BTC\n", ()),
        "an extra column": ("symbol,quantity,note\nBTC,1,mine\n", ()),
        "a row too long": ("symbol,quantity\nBTC,1,2\n", ("h.csv", "BTC")),
        "empty": ("", "h.csv"),
        "header only": ("symbol,quantity\n", "h.csv"),
        "all zero": ("symbol,quantity\nBTC,0\n", "h.csv"),
        "only stablecoins": ("symbol,quantity\nUSDT,100\nUSDC,50\n", ()),
        "JSON inside a .csv": ('{"BTC": 1}', "h.csv"),
        "semicolons": ("symbol;quantity\nBTC;1\n", "h.csv"),
        "a NUL byte": ("symbol,quantity\nBTC,1\0\n", ("h.csv", "BTC")),
        "a symbol with spaces": ("symbol,quantity\n B T C ,1\n", ("B T C", "h.csv")),
    }
    ok = {"columns swapped", "an extra column", "only stablecoins"}
    cases = [
        case(f"holdings: {name}", kind, rec, write("h.csv", body), culprit, exit_ok=name in ok)
        for name, (body, culprit) in bodies.items()
    ]
    js = [*rec[:4], "h.json", *rec[5:]]
    json_bodies: dict[str, tuple[str, str | tuple[str, ...]]] = {
        "not JSON": ("{", "h.json"),
        "CSV inside a .json": ("symbol,quantity\nBTC,1\n", "h.json"),
        "a string": ('"BTC"', "h.json"),
        "a number": ("5", "h.json"),
        "quantity a mapping": ('{"BTC": {"q": 1}}', "BTC"),
        "quantity true": ('{"BTC": true}', "BTC"),
        "quantity a string": ('{"BTC": "1"}', "BTC"),
        "quantity null": ('{"BTC": null}', "BTC"),
        "quantity NaN": ('{"BTC": NaN}', "BTC"),
        "quantity Infinity": ('{"BTC": Infinity}', "BTC"),
        "list without quantity": ('[{"symbol": "BTC"}]', ("quantity", "h.json")),
        "list of numbers": ("[1, 2]", "h.json"),
        "a symbol twice": ('{"BTC": 1, "BTC": 2}', "BTC"),
        "deeply nested": ("[" * 100_000 + "]" * 100_000, "h.json"),
    }
    cases += [
        case(
            f"holdings JSON: {name}",
            kind,
            js,
            write("h.json", body),
            culprit,
            exit_ok=name == "quantity a string",
        )
        for name, (body, culprit) in json_bodies.items()
    ]
    one = write("h.csv", "symbol,quantity\nBTC,1\nUSDC,100\n")
    cases += [
        case("holdings: .txt", kind, [*rec[:4], "h.txt", *rec[5:]], write("h.txt", HOLDINGS), "h.txt"),
        case("holdings: missing", kind, rec, None, "h.csv"),
        case("holdings: a folder", kind, rec, mkdir("h.csv"), "h.csv"),
        case("holdings: a FIFO", kind, rec, fifo("h.csv"), "h.csv", timeout=30),
        case("holdings: a link loop", kind, rec, link("h.csv", "h.csv"), "h.csv"),
        case("recommend --as-of garbage", kind, [*rec, "--as-of", "tomorrow"], one, "--as-of"),
        case(
            "recommend --as-of before the data",
            kind,
            [*rec, "--as-of", "1990-01-01"],
            one,
            ("--as-of", "1990"),
        ),
        case(
            "recommend --as-of after the data",
            kind,
            [*rec, "--as-of", "2099-01-01"],
            one,
            ("--as-of", "2099"),
        ),
        case("recommend --peak -5", kind, [*rec, "--peak", "-5"], one, "--peak"),
        case("recommend --peak nan", kind, [*rec, "--peak", "nan"], one, "--peak"),
        case("recommend --window 0", kind, [*rec, "--window", "0"], one, "window"),
        case("recommend --window 1", kind, [*rec, "--window", "1"], one, "window"),
        case("recommend --window 10**9", kind, [*rec, "--window", str(10**9)], one, "window"),
        case(
            "recommend --assets DOGE (not in the profile)",
            kind,
            [*rec, "--assets", "DOGE"],
            one,
            "DOGE",
            said=("not among the assets",),
        ),
        case("recommend --assets ZZZ (not in the market)", kind, [*rec, "--assets", "ZZZ"], one, "ZZZ"),
        case("recommend --assets empty", kind, [*rec, "--assets", ","], one, "--assets"),
        case("recommend --policy moonshot", kind, [*rec[:2], "moonshot", *rec[3:]], one, "moonshot"),
        case("recommend --policy empty", kind, [*rec[:2], "", *rec[3:]], one, "--policy"),
        case(
            "recommend --orders into a folder",
            kind,
            [*rec, "--orders", "out"],
            both(one, mkdir("out")),
            "out",
        ),
        case("recommend --orders .txt", kind, [*rec, "--orders", "out/o.txt"], one, "o.txt"),
        case(
            "recommend --orders in a missing folder",
            kind,
            [*rec, "--orders", "out/a/b/o.csv"],
            one,
            ("o.csv", "out/a/b"),
            exit_ok=True,
        ),
        case("recommend --fetch on synthetic", kind, [*rec, "--fetch", "binance"], one, "--fetch"),
        case(
            "diagnose: negative quantity",
            kind,
            ["diagnose", "--holdings", "h.csv"],
            write("h.csv", "symbol,quantity\nBTC,-1\n"),
            "BTC",
        ),
        case(
            "diagnose: --window 0", kind, ["diagnose", "--holdings", "h.csv", "--window", "0"], one, "window"
        ),
        case(
            "diagnose: --as-of after the data",
            kind,
            ["diagnose", "--holdings", "h.csv", "--as-of", "2099-01-01"],
            one,
            ("--as-of", "2099"),
        ),
    ]
    return cases


def paper_cases() -> list[Case]:
    """Paper-trading journals that are not what they say."""
    kind = "paper journal"
    start = ["paper", "start", "--journal", "j.db", "--policy", "moderate", "--holdings", "h.csv"]
    one = write("h.csv", HOLDINGS)
    journal_files = ("j.db", "j.db-journal", "j.db-wal", "j.db-shm")

    def journal(folder: Path) -> None:
        shutil.copy(fixture("journal"), folder / "j.db")

    return [
        case(
            "paper start: a text file as journal", kind, start, both(one, write("j.db", "my notes\n")), "j.db"
        ),
        case("paper start: an existing journal", kind, start, both(one, journal), "j.db"),
        case("paper start: journal a folder", kind, start, both(one, mkdir("j.db")), "j.db"),
        case(
            "paper start: negative holdings", kind, start, write("h.csv", "symbol,quantity\nBTC,-1\n"), "BTC"
        ),
        case(
            "paper start: --as-of after the data",
            kind,
            [*start, "--as-of", "2099-01-01"],
            one,
            ("--as-of", "2099"),
            writes=journal_files,
        ),
        case("paper start: without --holdings", kind, start[:6], None, "--holdings"),
        case(
            "paper start: sqlite:// in memory",
            kind,
            [*start[:3], "sqlite://", *start[4:]],
            one,
            ("--journal", "sqlite://"),
        ),
        case(
            "paper start: mysql URL",
            kind,
            [*start[:3], "mysql://u@h/db", *start[4:]],
            one,
            ("--journal", "mysql"),
        ),
        case("paper start: --fee nan", kind, [*start, "--fee", "nan"], one, "fee", writes=journal_files),
        case("paper advance: missing journal", kind, ["paper", "advance", "--journal", "j.db"], None, "j.db"),
        case(
            "paper advance: a text file",
            kind,
            ["paper", "advance", "--journal", "j.db"],
            write("j.db", "notes\n"),
            "j.db",
        ),
        case(
            "paper advance: an SQLite file of other tables",
            kind,
            ["paper", "advance", "--journal", "j.db"],
            sqlite_of_other_tables,
            "j.db",
        ),
        case(
            "paper advance: --market-seed 5 (other prices)",
            kind,
            ["paper", "advance", "--journal", "j.db", "--market-seed", "5"],
            journal,
            ("j.db", "closes"),
            writes=journal_files,
        ),
        case(
            "paper advance: --market of other assets",
            kind,
            ["paper", "advance", "--journal", "j.db", "--market", "data"],
            both(journal, market()),
            ("data", "j.db"),
            writes=journal_files,
        ),
        case(
            "paper advance: bars table edited",
            kind,
            ["paper", "advance", "--journal", "j.db"],
            both(journal, edit_journal),
            ("j.db",),
            writes=journal_files,
        ),
        case(
            "paper status: --figure a folder",
            kind,
            ["paper", "status", "--journal", "j.db", "--figure", "out"],
            both(journal, mkdir("out")),
            "out",
        ),
        case(
            "paper status: --figure .txt",
            kind,
            ["paper", "status", "--journal", "j.db", "--figure", "out/f.txt"],
            both(journal, mkdir("out")),
            "f.txt",
        ),
    ]


def sqlite_of_other_tables(folder: Path) -> None:
    import sqlite3

    with sqlite3.connect(folder / "j.db") as db:
        db.execute("CREATE TABLE recipes (name TEXT)")
        db.execute("INSERT INTO recipes VALUES ('soup')")


def edit_journal(folder: Path) -> None:
    """The journal's first bar given a value of text (an append-only journal edited by hand)."""
    import sqlite3

    with sqlite3.connect(folder / "j.db") as db:
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            db.execute(f"DROP TRIGGER {name}")
        db.execute("UPDATE bars SET bar_value = 'lots'")


def own_policy_cases() -> list[Case]:
    """evaluate --policy FILE.py:ATTR that breaks its contract (its code is the user's: it may run)."""
    kind = "your policy"
    ev = ["evaluate", "--baselines", "cash", "--out", "out", "--resamples", "400"]
    rule = "import numpy as np\nfrom cryptofolio.agents import Rule\nclass P(Rule):\n    def target_weights(self, view, weights, first):\n        return {}\n"  # noqa: E501
    returns = {
        "returns NaN weights": "np.full(len(weights), np.nan)",
        "returns weights summing to 2": "np.full(len(weights), 2 / len(weights))",
        "returns negative weights": "np.r_[2.0, -1.0, np.zeros(len(weights) - 2)]",
        "returns the wrong length": "np.ones(2) / 2",
        "returns a list": "list(weights)",
        "returns None": "None",
        "returns text": "'all in'",
    }
    files = {name: rule.replace("return {}", f"return {value}") for name, value in returns.items()}
    valid = {"--policy returns a list"}
    predict = "class P:\n    def predict(self, obs, state=None, episode_start=None, deterministic=True):\n"
    files |= {
        "predict returns 5": predict + "        return 5.0, state\n",
        "predict returns NaN": "import numpy as np\n"
        + predict
        + "        return np.full(10, np.nan), state\n",
        "no predict": "class P:\n    pass\n",
        "needs arguments": "class P:\n    def __init__(self, x):\n        pass\n",
        "a number": "P = 5\n",
        "a syntax error": "class P(:\n",
        "imports a missing module": "import not_a_module_here\nclass P:\n    pass\n",
    }
    cases = [
        case(
            f"--policy {name}",
            kind,
            [*ev, "--policy", "p.py:P"],
            write("p.py", body),
            "P",
            exit_ok=f"--policy {name}" in valid,
        )
        for name, body in files.items()
    ]
    cases += [
        case(
            "--policy without a colon", kind, [*ev, "--policy", "p.py"], write("p.py", "P = 1\n"), "--policy"
        ),
        case("--policy a missing file", kind, [*ev, "--policy", "none.py:P"], None, "none.py"),
        case("--policy a folder named .py", kind, [*ev, "--policy", "p.py:P"], mkdir("p.py"), "p.py"),
        case("--policy os:system", kind, [*ev, "--policy", "os:system"], None, ("os:system", "system")),
        case(
            "--policy named like a baseline",
            kind,
            [*ev, "--policy", "cash=examples/momentum.py:Momentum"],
            lambda f: shutil.copytree(PROJECT / "examples", f / "examples"),
            "cash",
        ),
        case("--compare-with nothing", kind, [*ev, "--compare-with", "nothing"], None, "nothing"),
        case("--compare-with two", kind, [*ev, "--compare-with", "moderate,cash"], None, "--compare-with"),
        case("--resamples 1", kind, [*ev[:-1], "1"], None, "--resamples"),
        dataclasses.replace(
            run_case(
                "--resamples 10**12 with a run",
                None,
                "--resamples",
                extra=["--resamples", str(10**12)],
                timeout=90,
            ),
            kind=kind,
        ),
    ]
    return cases


def path_cases() -> list[Case]:
    """Output paths that are files, inside run folders, unwritable, odd, or hold links out."""
    kind = "output paths"
    bt = ["backtest", "--policies", "cash"]
    ev = ["evaluate", "--baselines", "cash", "--resamples", "400"]

    def precious(name: str) -> Setup:
        """``out/<name>`` a link to the user's ``precious.txt`` beside ``out``."""
        return both(write("precious.txt", "mine\n"), mkdir("out"), link(f"out/{name}", "../precious.txt"))

    def a_run(folder: Path) -> None:
        shutil.copytree(fixture("direct"), folder / "run")

    return [
        case(
            "backtest --out an existing file",
            kind,
            [*bt, "--out", "taken"],
            write("taken", "mine"),
            "taken",
            writes=(),
        ),
        case(
            "evaluate --out an existing file",
            kind,
            [*ev, "--out", "taken"],
            write("taken", "mine"),
            "taken",
            writes=(),
        ),
        case(
            "train --out an existing file",
            kind,
            ["train", "--algo", "direct", "--timesteps", "64", "--out", "taken"],
            write("taken", "mine"),
            "taken",
            writes=(),
        ),
        case(
            "backtest --out under a file",
            kind,
            [*bt, "--out", "taken/out"],
            write("taken", "mine"),
            "taken",
            writes=(),
        ),
        case(
            "backtest --out in /proc",
            kind,
            [*bt, "--out", "/proc/hostile-out"],
            None,
            "/proc/hostile-out",
            writes=(),
        ),
        case(
            "backtest --out with a newline",
            kind,
            [*bt, "--out", "a\nb"],
            None,
            exit_ok=True,
            writes=("a\nb",),
        ),
        case(
            "train --out with a newline",
            kind,
            ["train", "--algo", "direct", "--timesteps", "64", "--no-progress-bar", "--out", "a\nb"],
            None,
            exit_ok=True,
            writes=("a\nb",),
        ),
        case(
            "backtest --out empty",
            kind,
            [*bt, "--out", ""],
            None,
            "--out",
            writes=("results", "metrics.csv", "metrics.json"),
        ),
        case(
            "backtest --out inside a run folder",
            kind,
            [*bt, "--out", "run/best/report"],
            a_run,
            ("run", "--out"),
            writes=("run/best/report",),
        ),
        case(
            "evaluate --out the run folder itself",
            kind,
            [*ev, "--runs", "run", "--out", "run"],
            a_run,
            ("run", "--out"),
            writes=("run",),
        ),
        case(
            "backtest --out holding metrics.csv linked outside",
            kind,
            [*bt, "--out", "out"],
            precious("metrics.csv"),
            ("metrics.csv", "link"),
        ),
        case(
            "evaluate --out holding report.md linked outside",
            kind,
            [*ev, "--out", "out"],
            precious("report.md"),
            ("report.md", "link"),
        ),
        case(
            "backtest --out holding results/ linked outside",
            kind,
            [*bt, "--out", "out"],
            both(
                mkdir("mine"), mkdir("out"), write("mine/cash.csv", "mine\n"), link("out/results", "../mine")
            ),
            ("results", "link"),
        ),
        case(
            "recommend --orders a link to the user's file",
            kind,
            ["recommend", "--policy", "moderate", "--holdings", "h.csv", "--orders", "out/o.csv"],
            both(write("h.csv", HOLDINGS), precious("o.csv")),
            ("o.csv", "link"),
        ),
    ]


def study_cases() -> list[Case]:
    """tune, sweep, study, ablation, walkforward and data: odd names, storages and numbers."""
    kind = "studies"
    tune = ["tune", "--algo", "direct", "--trials", "1", "--timesteps", "64", "--no-progress-bar"]
    store = ["--storage", "sqlite:///out/s.db"]
    sweep = ["sweep", "--algo", "direct", "--timesteps", "64", "--no-progress-bar", "--out", "out", *store]
    study = ["study", "--market", "synthetic", "--quick", "--out", "out/report", "--root", "out/root", *store]
    ablation = ["ablation", "--market", "synthetic", "--quick", "--out", "out/r", "--checkpoints", "out/c"]
    wf = [
        "walkforward",
        "--algo",
        "direct",
        "--timesteps",
        "64",
        "--out",
        "out/r",
        "--checkpoints",
        "out/c",
        "--no-progress-bar",
    ]
    notes = write("notes.txt", "my notes\n")
    deep = ["--out", "deep/er/out"]
    cases = [
        case(
            "tune --storage a text file",
            kind,
            [*tune, "--out", "out", "--storage", "sqlite:///notes.txt"],
            notes,
            "notes.txt",
        ),
        case(
            "tune --storage a folder",
            kind,
            [*tune, "--out", "out", "--storage", "sqlite:///db"],
            mkdir("db"),
            "db",
        ),
        case(
            "tune --storage mongo://", kind, [*tune, "--out", "out", "--storage", "mongo://x"], None, "mongo"
        ),
        case(
            "tune --storage sqlite:// in memory",
            kind,
            [*tune, "--out", "out", "--storage", "sqlite://"],
            None,
            "--storage",
        ),
        case(
            "tune --storage not a URL",
            kind,
            [*tune, "--out", "out", "--storage", "my study"],
            None,
            ("my study", "--storage"),
        ),
        case(
            "tune --storage in /proc",
            kind,
            [*tune, "--out", "out", "--storage", "sqlite:////proc/x/s.db"],
            None,
            ("/proc", "--storage"),
        ),
        case(
            "tune --storage postgresql unreachable",
            kind,
            [*tune, "--out", "out", "--storage", "postgresql://u@127.0.0.1:1/db"],
            None,
            ("--storage", "postgresql"),
            timeout=60,
        ),
        case(
            "tune --study ../../../escaped",
            kind,
            [*tune, *deep, *store[:1], "sqlite:///deep/s.db", "--study", "../../../escaped"],
            None,
            ("--study", "escaped"),
            writes=("deep",),
        ),
        case(
            "tune --study with a slash",
            kind,
            [*tune, "--out", "out", *store, "--study", "a/b"],
            None,
            ("--study", "a/b"),
            exit_ok=True,
        ),
        case(
            "tune --study empty",
            kind,
            [*tune, "--out", "out", *store, "--study", ""],
            None,
            "--study",
            exit_ok=True,
        ),
        case(
            "tune --study with a newline",
            kind,
            [*tune, "--out", "out", *store, "--study", "a\nb"],
            None,
            "--study",
            exit_ok=True,
        ),
        case(
            "tune --trials -1", kind, [*tune[:4], "-1", *tune[5:], "--out", "out", *store], None, "--trials"
        ),
        case(
            "tune --space a missing file",
            kind,
            [*tune, "--out", "out", *store, "--space", "s.yaml"],
            None,
            "s.yaml",
        ),
        case(
            "tune --export into a run folder",
            kind,
            [*tune, "--out", "out", *store, "--export", "run/config.yaml"],
            lambda f: shutil.copytree(fixture("direct"), f / "run"),
            ("run", "--export"),
            writes=("out",),
        ),
        case(
            "tune --storage of another study's market",
            kind,
            [*tune, "--out", "out", *store, "--study", "x", "--market-seed", "1"],
            lambda f: subprocess.run(
                [CLI, *tune, "--out", "out", *store, "--study", "x"], cwd=f, capture_output=True
            ),
            ("market", "x"),
            writes=("out",),
        ),
        case("sweep --seeds 0-1000000", kind, [*sweep, "--seeds", "0-1000000"], None, "--seeds", timeout=45),
        case(
            "sweep --seeds 0-99999999999",
            kind,
            [*sweep, "--seeds", "0-99999999999"],
            None,
            "--seeds",
            timeout=45,
        ),
        case("sweep --seeds 5-1", kind, [*sweep, "--seeds", "5-1"], None, "--seeds"),
        case("sweep --seeds -3", kind, [*sweep, "--seeds", "-3"], None, "--seeds"),
        case("sweep --seeds 2**40", kind, [*sweep, "--seeds", str(2**40)], None, ("--seeds", "seed")),
        case(
            "sweep --storage a text file",
            kind,
            [*sweep[:-2], "--storage", "sqlite:///notes.txt", "--seeds", "0"],
            notes,
            "notes.txt",
        ),
        case(
            "sweep --study ../../../escaped",
            kind,
            [
                *sweep[:6],
                *deep,
                "--storage",
                "sqlite:///deep/s.db",
                "--seeds",
                "0",
                "--study",
                "../../../escaped",
            ],
            None,
            ("--study", "escaped"),
            writes=("deep",),
        ),
        case(
            "study --quick --seeds 0-1000000",
            kind,
            [*study, "--workers", "0", "--seeds", "0-1000000"],
            None,
            "--seeds",
            exit_ok=True,
            timeout=45,
        ),
        case(
            "study --seeds 0-1000000 without --quick",
            kind,
            [*study[:3], *study[4:], "--workers", "0", "--seeds", "0-1000000"],
            None,
            "--seeds",
            timeout=45,
        ),
        case("study --workers -1", kind, [*study, "--workers", "-1"], None, "--workers"),
        case("study --workers 100000", kind, [*study, "--workers", "100000"], None, "--workers"),
        case(
            "study --test-span garbage",
            kind,
            [*study, "--workers", "0", "--test-span", "soon"],
            None,
            "--test-span",
        ),
        case(
            "study --test-span reversed",
            kind,
            [*study, "--workers", "0", "--test-span", "2024-06-30:2023-07-01"],
            None,
            "--test-span",
        ),
        case(
            "study --test-span not half-years",
            kind,
            [*study, "--workers", "0", "--test-span", "2023-07-02:2024-06-30"],
            None,
            "--test-span",
        ),
        case(
            "study --test-span past the data",
            kind,
            [*study, "--workers", "0", "--test-span", "2029-07-01:2030-06-30"],
            None,
            ("--test-span", "2030"),
        ),
        case(
            "study --profiles moon",
            kind,
            [*study, "--workers", "0", "--profiles", "moderate,moon"],
            None,
            "moon",
        ),
        case(
            "study --algos ppo twice",
            kind,
            [*study, "--workers", "0", "--algos", "ppo,ppo"],
            None,
            ("--algos", "ppo"),
        ),
        case(
            "study --timesteps ppo=0",
            kind,
            [*study, "--workers", "0", "--timesteps", "ppo=0"],
            None,
            "--timesteps",
        ),
        case(
            "study --timesteps ppo=10**12",
            kind,
            [*study, "--workers", "0", "--timesteps", f"ppo={10**12}"],
            None,
            "--timesteps",
        ),
        case(
            "study --storage a text file",
            kind,
            [*study[:-2], "--storage", "sqlite:///notes.txt", "--workers", "0"],
            notes,
            "notes.txt",
        ),
        case(
            "study --study ../../escaped (default --root)",
            kind,
            [*study[:6], *study[8:], "--study", "../../escaped", "--workers", "0"],
            None,
            ("--study", "escaped"),
            writes=("out", "checkpoints"),
        ),
        case(
            "study --root a file",
            kind,
            [*study[:7], "root", *study[8:], "--workers", "0"],
            write("root", "mine"),
            "root",
            writes=("out",),
        ),
        case(
            "study --root holding study.json not JSON",
            kind,
            [*study, "--workers", "0"],
            write("out/root/study.json", "{"),
            "study.json",
        ),
        case("ablation --workers 0", kind, [*ablation, "--workers", "0"], None, "--workers"),
        case("ablation --variants moon", kind, [*ablation, "--variants", "moon"], None, "moon"),
        case("ablation --profile moon", kind, [*ablation, "--profile", "moon"], None, "moon"),
        case(
            "ablation --reuse a folder without ablation.json",
            kind,
            [*ablation, "--reuse", "old"],
            mkdir("old"),
            ("old", "ablation.json"),
        ),
        case("ablation --reuse a file", kind, [*ablation, "--reuse", "old"], write("old", "x"), "old"),
        case(
            "ablation --reuse holding ablation.json not JSON",
            kind,
            [*ablation, "--reuse", "old"],
            write("old/ablation.json", "{"),
            "ablation.json",
        ),
        case(
            "ablation --reuse holding ablation.json a list",
            kind,
            [*ablation, "--reuse", "old"],
            write("old/ablation.json", "[]"),
            "ablation.json",
        ),
        case(
            "ablation --resume holding ablation.json a list",
            kind,
            [*ablation, "--variants", "free", "--resume", "old"],
            write("old/ablation.json", "[]"),
            "ablation.json",
            writes=("out", "old"),
            timeout=120,
        ),
        case(
            "ablation --checkpoints a file",
            kind,
            [*ablation[:-1], "taken"],
            write("taken", "mine"),
            "taken",
            writes=("out",),
            timeout=90,
        ),
        case("walkforward --train-days 0", kind, [*wf, "--train-days", "0"], None, "--train-days"),
        case(
            "walkforward --train-days 100000",
            kind,
            [*wf, "--train-days", "100000"],
            None,
            ("train-days", "100000"),
        ),
        case("walkforward --step-days 0", kind, [*wf, "--step-days", "0"], None, "--step-days"),
        case("walkforward --seeds garbage", kind, [*wf, "--seeds", "x"], None, "--seeds"),
        case(
            "walkforward --seeds 0-1000000", kind, [*wf, "--seeds", "0-1000000"], None, "--seeds", timeout=45
        ),
        case(
            "walkforward --set an unknown key", kind, [*wf, "--set", "learnin_rate=1"], None, "learnin_rate"
        ),
        case(
            "walkforward on 900 days of CSVs",
            kind,
            [*wf, "--market", "data"],
            market(),
            ("data", "days", "fold"),
        ),
        case(
            "walkforward --checkpoints a file",
            kind,
            [
                *wf[:8],
                "taken",
                *wf[9:],
                "--train-days",
                "100",
                "--val-days",
                "30",
                "--test-days",
                "30",
                "--market",
                "data",
            ],
            both(market(), write("taken", "mine")),
            "taken",
            writes=("out",),
            timeout=90,
        ),
        case(
            "data fetch --since garbage",
            kind,
            ["data", "fetch", "--exchange", "binance", "--symbols", "BTC", "--since", "soon", "--out", "out"],
            None,
            ("--since", "soon"),
        ),
        case(
            "data fetch --timeframe 7x",
            kind,
            [
                "data",
                "fetch",
                "--exchange",
                "binance",
                "--symbols",
                "BTC",
                "--since",
                "2024-01-01",
                "--timeframe",
                "7x",
                "--out",
                "out",
            ],
            None,
            ("--timeframe", "7x"),
        ),
        case(
            "data fetch --until garbage",
            kind,
            [
                "data",
                "fetch",
                "--exchange",
                "binance",
                "--symbols",
                "BTC",
                "--since",
                "2024-01-01",
                "--until",
                "later",
                "--out",
                "out",
            ],
            None,
            ("--until", "later"),
        ),
        case(
            "data update --out a text file",
            kind,
            ["data", "update", "--exchange", "binance", "--out", "notes.txt"],
            notes,
            ("notes.txt", "ccxt"),
            writes=(),
        ),
        case(
            "demo --out an existing file",
            kind,
            ["demo", "--quick", "--no-progress-bar", "--out", "taken", "--checkpoints", "out"],
            write("taken", "mine"),
            "taken",
            writes=("out",),
            timeout=150,
        ),
    ]
    return cases


def all_cases() -> list[Case]:
    cases = [
        *market_data_cases(),
        *split_cases(),
        *cost_and_policy_cases(),
        *training_option_cases(),
        *config_file_cases(),
        *run_folder_cases(),
        *holdings_cases(),
        *paper_cases(),
        *own_policy_cases(),
        *path_cases(),
        *study_cases(),
    ]
    names = Counter(c.name for c in cases)
    assert max(names.values()) == 1, [n for n, k in names.items() if k > 1]
    return cases


# --- running and judging ---------------------------------------------------------------------------------


def snapshot(folder: Path) -> dict[str, str]:
    """Every path under ``folder`` (links not followed) -> a file's SHA-256, a link's target, or its kind."""
    found = {}
    for parent, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            path = Path(parent) / name
            relative = str(path.relative_to(folder))
            if path.is_symlink():
                found[relative] = f"link to {os.readlink(path)}"
            elif path.is_dir():
                found[relative] = "folder"
            elif path.is_file():
                found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                found[relative] = "special file"
    return found


def lost_paths(before: dict[str, str], after: dict[str, str], writes: tuple[str, ...]) -> list[str]:
    """What changed outside ``writes``: changed or vanished paths, and new ones."""

    def allowed(path: str) -> bool:
        return any(path == w or path.startswith(f"{w}/") for w in writes)

    changed = [f"changed or gone: {p}" for p, d in before.items() if not allowed(p) and after.get(p) != d]
    added = [f"new: {p}" for p in after if p not in before and not allowed(p)]
    return changed + added


def named(culprits: tuple[str, ...], message: str) -> bool:
    """Whether ``message`` names one of ``culprits`` (an option also as its bare key: ``--ffill-limit``,
    ``ffill-limit``, ``ffill_limit``), ignoring case."""
    if not culprits:
        return True
    text = message.lower()
    forms = {f.lower() for c in culprits for f in (c, c.lstrip("-"), c.lstrip("-").replace("-", "_"))}
    return any(form and form in text for form in forms)


FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+), in (\S+)')


def project_frame(stderr: str) -> str:
    """The last traceback frame in the project's own code, as ``path:line in function``."""
    frames = [m.groups() for m in map(FRAME.match, stderr.splitlines()) if m]
    own = [f for f in frames if str(PROJECT) in f[0] and "site-packages" not in f[0]]
    path, line, function = (own or frames or [("", "", "")])[-1]
    return f"{path.replace(str(PROJECT) + '/', '')}:{line} in {function}" if path else ""


def exception_line(stderr: str) -> str:
    """A traceback's exception (the last line before the command's 'this is a bug' line)."""
    lines = [
        line for line in stderr.splitlines() if line.strip() and "this is a bug in cryptofolio" not in line
    ]
    return lines[-1] if lines else ""


RUNNING: set[subprocess.Popen[str]] = set()
"""The commands running now, each the leader of its own process group."""


def execute(argv: Sequence[str], cwd: Path, timeout: float) -> tuple[int | None, str, str]:
    """Run the command; on timeout kill its process group. Returns (exit code or None, stdout, stderr)."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg"}
    process = subprocess.Popen(
        [CLI, *argv],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        env=env,
        start_new_session=True,
    )
    RUNNING.add(process)
    try:
        out, err = process.communicate(timeout=timeout)
        return process.returncode, out, err
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        return None, out, err
    finally:
        RUNNING.discard(process)


def stop(signum: int, _frame: object) -> None:
    """On SIGTERM or SIGINT: kill the running commands' process groups and end (results so far are saved)."""
    for process in list(RUNNING):
        os.killpg(process.pid, signal.SIGKILL)
    raise SystemExit(128 + signum)


def classify(case_: Case, code: int | None, out: str, err: str, lost: list[str]) -> tuple[str, str]:
    """(outcome, why)."""
    if lost:
        return "lost file", "; ".join(lost[:4])
    if code is None:
        return "accepted", f"still running after {case_.timeout:g} s (not refused)"
    if "Traceback" in err or code not in (0, 2):
        return "traceback", f"exit {code}"
    if code == 0:
        return "accepted", ""
    message = without_usage(err)
    if not named(case_.culprit, message):
        return "vague refusal", f"names none of {', '.join(case_.culprit)}"
    if len(message.splitlines()) > 5:
        return "vague refusal", "more than five lines"
    return "clean refusal", ""


def without_usage(err: str) -> str:
    """stderr's non-empty lines without argparse's usage block (which precedes its one ``error:`` line)."""
    lines = [line for line in err.splitlines() if line.strip()]
    if lines and lines[0].startswith("usage:"):
        lines = [line for line in lines if ": error: " in line] or lines
    return "\n".join(lines)


def run(case_: Case, root: Path) -> dict[str, object]:
    folder = root / "cases" / re.sub(r"[^A-Za-z0-9]+", "-", case_.name).strip("-")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    try:
        if case_.setup is not None:
            case_.setup(folder)
    except Exception as error:  # a broken case, not a finding: say it and go on
        return record(case_, None, "", f"setup failed: {type(error).__name__}: {error}", [], started, "setup")
    before = snapshot(folder)
    code, out, err = execute(case_.argv, folder, case_.timeout)
    lost = lost_paths(before, snapshot(folder), case_.writes)
    if (folder / MARKER).exists():
        lost.insert(0, f"code from a file ran: {MARKER} written")
    outcome, why = classify(case_, code, out, err, lost)
    return record(case_, code, out, err, lost, started, outcome, why)


def record(
    case_: Case,
    code: int | None,
    out: str,
    err: str,
    lost: list[str],
    started: float,
    outcome: str,
    why: str = "",
) -> dict[str, object]:
    lines = without_usage(err).splitlines()
    said = any(s in out + err for s in case_.said)
    return {
        "case": case_.name,
        "kind": case_.kind,
        "argv": ["cryptofolio", *case_.argv],
        "outcome": outcome,
        "exit": code,
        "exit_ok": outcome == "accepted" and (case_.exit_ok or said),
        "why": why,
        "culprit": list(case_.culprit),
        "first_line": lines[0] if lines else "",
        "exception": exception_line(err) if outcome == "traceback" else "",
        "where": project_frame(err) if outcome == "traceback" else "",
        "stderr": err[-4000:],
        "stdout_tail": out[-600:],
        "lost": lost,
        "seconds": round(time.perf_counter() - started, 1),
    }


def table(results: list[dict[str, object]]) -> str:
    rows = [
        f"{'case':<58} {'kind':<20} {'outcome':<14} {'exit':>4} {'ok':<2}  stderr (a traceback: its error)"
    ]
    for r in results:
        shown = r["exception"] or r["first_line"] or r["why"]
        ok = "ok" if r["exit_ok"] else ""
        rows.append(
            f"{str(r['case'])[:58]:<58} {str(r['kind'])[:20]:<20} {r['outcome']:<14} "
            f"{r['exit']!s:>4} {ok:<2}  {str(shown)[:110]}"
        )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", default="", help="run the cases whose name or kind holds this text")
    parser.add_argument("--out", type=Path, default=Path("/tmp/hostile"), help="where cases and results go")
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once (2)")
    args = parser.parse_args()
    global FIXTURES
    FIXTURES = Fixtures(args.out / "fixtures")
    wanted = args.only.lower()
    cases = [c for c in all_cases() if wanted in c.name.lower() or wanted in c.kind.lower()]
    print(f"{len(cases)} cases, {args.jobs} at a time; folders in {args.out / 'cases'}", file=sys.stderr)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    ordered = run_all(cases, args.out, args.jobs)
    print(table(ordered))
    counts = Counter(str(r["outcome"]) for r in ordered)
    silent = sum(1 for r in ordered if r["outcome"] == "accepted" and not r["exit_ok"])
    print(
        f"\n{len(ordered)} cases: "
        + ", ".join(f"{o} {counts[o]}" for o in (*OUTCOMES, "setup") if counts[o])
        + f" ({silent} accepted that should have been refused)"
    )
    return 0


def run_all(cases: list[Case], out: Path, jobs: int) -> list[dict[str, object]]:
    """Every case's record, in case order; ``results.json`` is rewritten after each case ends."""
    results: dict[str, dict[str, object]] = {}
    pool = concurrent.futures.ThreadPoolExecutor(jobs)
    try:
        futures = [pool.submit(run, c, out) for c in cases]
        for done, future in enumerate(concurrent.futures.as_completed(futures), start=1):
            result = future.result()
            results[str(result["case"])] = result
            print(
                f"[{done}/{len(cases)}] {result['outcome']:<14} {result['case']}", file=sys.stderr, flush=True
            )
            ordered = [results[c.name] for c in cases if c.name in results]
            (out / "results.json").write_text(json.dumps(ordered, indent=2))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return ordered


if __name__ == "__main__":
    sys.exit(main())
