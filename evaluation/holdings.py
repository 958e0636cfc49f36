"""What a person holds today: a holdings file, read and checked, valued on a market at one bar.

A holdings file lists symbols and quantities (units of the asset, not value), as CSV::

    symbol,quantity
    BTC,0.5
    ETH,4
    USDT,2500

or as JSON, either ``{"BTC": 0.5, "ETH": 4, "USDT": 2500}`` or
``[{"symbol": "BTC", "quantity": 0.5}, ...]``. Stablecoins (USDT, USDC) count as cash, one unit
each at the cash asset's price. Every error names the file and the line (CSV) or entry (JSON).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from cryptofolio.envs import DataError, HoldingsError, MarketConfig, MarketData, asset_category
from cryptofolio.envs.files import parse_json, read_text
from cryptofolio.envs.profiles import STABLECOIN


@dataclass(frozen=True)
class Holdings:
    """Quantities per symbol as read from a file.

    :param quantities: symbol (upper case) -> units held, finite and non-negative.
    :param where: symbol -> where it was read (``holdings.csv line 3``), for later errors.
    :param path: the file.
    """

    quantities: dict[str, float]
    where: dict[str, str]
    path: Path

    @property
    def risky(self) -> tuple[str, ...]:
        """Held symbols that are not stablecoins, in file order."""
        return tuple(s for s in self.quantities if asset_category(s) != STABLECOIN)


@dataclass(frozen=True)
class Valuation:
    """Holdings valued at one bar of a market, in the market's column order (cash first).

    :param bar: the bar's index; :param prices: (N+1,) closes at the bar, quote currency.
    :param quantities: (N+1,) units held (stablecoins summed into column 0).
    :param value: total value, quote currency; :param weights: (N+1,) shares of ``value``.
    """

    bar: int
    prices: np.ndarray
    quantities: np.ndarray
    value: float
    weights: np.ndarray


def read_holdings(path: str | Path) -> Holdings:
    """Read a ``.csv`` or ``.json`` holdings file (see the module docstring).

    :raises HoldingsError: naming the file and the line or entry, for a missing or unreadable file,
        a missing column, an empty or repeated symbol, or a quantity that is not a finite,
        non-negative number.
    """
    path = Path(path)
    text = read_text(path, HoldingsError, "holdings file")
    if path.suffix.lower() == ".json":
        rows = _json_rows(text, path)
    elif path.suffix.lower() == ".csv":
        rows = _csv_rows(text, path)
    else:
        raise HoldingsError(f"{path}: holdings must be a .csv or .json file")
    quantities: dict[str, float] = {}
    where: dict[str, str] = {}
    for place, symbol_text, quantity_text in rows:
        symbol = str(symbol_text).strip().upper()
        if not symbol:
            raise HoldingsError(f"{place}: empty symbol")
        if symbol in quantities:
            raise HoldingsError(
                f"{place}: {symbol} is listed twice (also at {where[symbol]}); give one quantity"
            )
        quantities[symbol] = _quantity(quantity_text, place, symbol)
        where[symbol] = place
    if not quantities:
        raise HoldingsError(f"{path}: no holdings; list at least one symbol and quantity")
    return Holdings(quantities, where, path)


def value_holdings(holdings: Holdings, market: MarketData, bar: int) -> Valuation:
    """Value ``holdings`` at the close of ``bar``.

    :raises HoldingsError: for a symbol the market does not have (naming its line and the market's
        symbols), a held asset with no price at the bar, or holdings worth nothing.
    """
    stamp = f"{market.timestamps[bar]:%Y-%m-%d %H:%M}"
    quantities = np.zeros(market.n_assets + 1)
    for symbol, quantity in holdings.quantities.items():
        if symbol == market.symbols[0] or asset_category(symbol) == STABLECOIN:
            quantities[0] += quantity
        elif symbol in market.symbols:
            column = market.symbols.index(symbol)
            if quantity > 0 and not market.available[bar, column]:
                last = market.delisted.get(symbol)
                gone = (
                    ""
                    if last is None or last >= bar
                    else f" (delisted after its last close, {market.timestamps[last]:%Y-%m-%d})"
                )
                raise HoldingsError(f"{holdings.where[symbol]}: {symbol} has no price on {stamp}{gone}")
            quantities[column] = quantity
        else:
            raise HoldingsError(
                f"{holdings.where[symbol]}: unknown symbol {symbol!r}; the market has "
                f"{', '.join(market.symbols[1:])} and {market.symbols[0]} as cash"
            )
    prices = np.where(market.available[bar], market.close[bar], np.nan)
    with np.errstate(over="ignore"):
        values = np.where(quantities > 0, quantities * np.nan_to_num(prices), 0.0)
        value = float(values.sum())
    if not np.isfinite(value):
        raise HoldingsError(f"{holdings.path}: the holdings are worth more than a number can hold on {stamp}")
    if value <= 0:
        raise HoldingsError(f"{holdings.path}: the holdings are worth nothing on {stamp}")
    return Valuation(bar=bar, prices=prices, quantities=quantities, value=value, weights=values / value)


def _csv_rows(text: str, path: Path) -> list[tuple[str, str, Any]]:
    lines = text.splitlines()
    reader = csv.reader(lines)
    header: list[str] | None = None
    rows: list[tuple[str, str, Any]] = []
    for number, fields in enumerate(reader, start=1):
        if not any(f.strip() for f in fields):
            continue
        if header is None:
            header = [f.strip().lower() for f in fields]
            missing = [c for c in ("symbol", "quantity") if c not in header]
            if missing:
                raise HoldingsError(
                    f"{path} line {number}: the header needs columns symbol and quantity; "
                    f"{', '.join(missing)} missing from {fields}"
                )
            continue
        place = f"{path} line {number}"
        if len(fields) != len(header):
            raise HoldingsError(
                f"{place}: {len(fields)} fields, expected {len(header)} ({', '.join(header)})"
            )
        row = dict(zip(header, fields, strict=True))
        rows.append((place, row["symbol"], row["quantity"]))
    if header is None:
        raise HoldingsError(f"{path}: empty file; expected a header symbol,quantity and one row per asset")
    return rows


def _json_rows(text: str, path: Path) -> list[tuple[str, str, Any]]:
    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise HoldingsError(f"{path}: {', '.join(map(repr, repeated))} given twice in one JSON object")
        return dict(pairs)

    data = parse_json(text, path, HoldingsError, object_pairs_hook=unique)
    if isinstance(data, dict):
        return [(f"{path} entry {key!r}", key, value) for key, value in data.items()]
    if not isinstance(data, list):
        raise HoldingsError(
            f'{path}: expected {{"BTC": 0.5, ...}} or [{{"symbol": "BTC", "quantity": 0.5}}, ...]'
        )
    rows = []
    for index, entry in enumerate(data):
        place = f"{path} entry {index}"
        if not isinstance(entry, dict) or "symbol" not in entry or "quantity" not in entry:
            raise HoldingsError(f"{place}: expected an object with symbol and quantity, got {entry!r}")
        rows.append((place, str(entry["symbol"]), entry["quantity"]))
    return rows


def _quantity(raw: Any, place: str, symbol: str) -> float:
    if isinstance(raw, bool):
        raise HoldingsError(f"{place}: quantity of {symbol} is {raw!r}, not a number")
    try:
        quantity = float(raw)
    except (TypeError, ValueError):
        raise HoldingsError(f"{place}: quantity of {symbol} is {raw!r}, not a number") from None
    if not math.isfinite(quantity) or quantity < 0:
        raise HoldingsError(f"{place}: quantity of {symbol} is {raw!r}; it must be finite and non-negative")
    return quantity


def holdings_market(
    holdings: Holdings, market: MarketConfig, universe: Sequence[str], needed_by: str
) -> MarketData:
    """Open ``market`` with the risky assets ``universe``, in that order.

    :param universe: the assets to load; every held risky asset must be among them.
    :param needed_by: who chose the universe, for messages (``the moderate profile``, ``run X``).
    :raises HoldingsError: naming the holdings line of a symbol the source does not have or the
        universe leaves out; DataError: for the universe's assets the source lacks.
    """
    offered = market.offered()
    for symbol in holdings.risky:
        if symbol not in offered:
            where = holdings.where[symbol]
            raise HoldingsError(
                f"{where}: unknown symbol {symbol!r}; {market.source} has {', '.join(offered)}"
            )
        if symbol not in universe:
            raise HoldingsError(
                f"{holdings.where[symbol]}: {symbol} is not among the assets of {needed_by} "
                f"({', '.join(universe)}); leave it out of the holdings or choose --assets"
            )
    lacking = [s for s in universe if s not in offered]
    if lacking:
        raise DataError(f"{market.source} has no prices for {', '.join(lacking)}, which {needed_by} needs")
    return replace(market, assets=tuple(universe)).load_market()


def sell_outside(
    holdings: Holdings,
    outside: Sequence[str],
    market: MarketConfig,
    when: Any,
    rate: float,
    cash: str,
    needed_by: str,
) -> tuple[Holdings, list[str]]:
    """Holdings with the risky assets ``outside`` (held, in ``market``'s source, outside the policy's
    assets) sold into ``cash`` at their close at ``when``, less ``rate`` on the value sold (the ledger's
    charge on a full sale), and one line per sale saying so."""
    sold_here = [s for s in outside if holdings.quantities[s] > 0]
    quantities = {s: q for s, q in holdings.quantities.items() if s not in outside}
    if not sold_here:
        return Holdings(quantities, holdings.where, holdings.path), []
    prices = replace(market, assets=tuple(sold_here)).load_market()
    bar = prices.bar_at(when)
    lines = []
    for symbol in sold_here:
        price = float(prices.close[bar, prices.column(symbol)])
        if not math.isfinite(price):
            raise HoldingsError(
                f"{holdings.where[symbol]}: {symbol} has no price at {prices.timestamps[bar]}"
            )
        sold = holdings.quantities[symbol] * price
        quantities[cash] = quantities.get(cash, 0.0) + sold * (1.0 - rate)
        lines.append(
            f"sold {holdings.quantities[symbol]:.8g} {symbol} (not among the assets of {needed_by}) into "
            f"cash at {price:,.8g}: {sold * (1.0 - rate):,.2f} {cash} after {sold * rate:,.2f} of fees"
        )
    where = {**holdings.where, cash: holdings.where.get(cash, f"{holdings.path} (proceeds of sales)")}
    return Holdings(quantities, where, holdings.path), lines


def cash_in_delisted(
    holdings: Holdings, market: MarketData, bar: int, haircut: float
) -> tuple[Holdings, list[str]]:
    """Holdings with every asset delisted before ``bar`` counted as cash: its last close times
    ``1 - haircut`` (the ledger's treatment of a delisted position), with one line each saying so."""
    cash = market.symbols[0]
    gone = {s: t for s, t in market.delisted.items() if t < bar and holdings.quantities.get(s, 0.0) > 0}
    if not gone:
        return holdings, []
    quantities = {s: q for s, q in holdings.quantities.items() if s not in gone}
    lines = []
    for symbol, last in gone.items():
        close = float(market.close[last, market.column(symbol)])
        worth = holdings.quantities[symbol] * close * (1.0 - haircut)
        quantities[cash] = quantities.get(cash, 0.0) + worth
        lines.append(
            f"{symbol} was delisted after its last close, {close:,.8g} on "
            f"{market.timestamps[last]:%Y-%m-%d}: your {holdings.quantities[symbol]:.8g} count as "
            f"{worth:,.2f} {cash} of cash "
            f"(haircut {haircut:.0%})"
        )
    where = {**holdings.where, cash: holdings.where.get(cash, f"{holdings.path} (delisted assets)")}
    return Holdings(quantities, where, holdings.path), lines


def as_of_bar(market: MarketData, as_of: str | None) -> int:
    """The bar at ``as_of`` (a bar time; a date alone is that day's first bar), default the last."""
    if as_of is None:
        return market.n_bars - 1
    try:
        return market.bar_at(as_of)
    except (KeyError, ValueError) as error:
        raise DataError(f"--as-of {as_of}: no prices at that time; {error.args[0]}") from None
