"""Holdings files: read, refused with the line named, valued at a bar."""

import numpy as np
import pytest

from cryptofolio.envs import DataError
from cryptofolio.evaluation.holdings import read_holdings, value_holdings


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_and_both_json_forms_read_the_same(tmp_path):
    csv = write(tmp_path, "h.csv", "Symbol,Quantity\nbtc,0.5\n\nETH,4\nUSDT,2500\n")
    mapping = write(tmp_path, "h.json", '{"BTC": 0.5, "ETH": 4, "USDT": 2500}')
    rows = write(
        tmp_path,
        "rows.json",
        '[{"symbol": "BTC", "quantity": 0.5}, {"symbol": "ETH", "quantity": "4"}, '
        '{"symbol": "USDT", "quantity": 2500}]',
    )
    expected = {"BTC": 0.5, "ETH": 4.0, "USDT": 2500.0}
    for path in (csv, mapping, rows):
        holdings = read_holdings(path)
        assert holdings.quantities == expected
        assert holdings.risky == ("BTC", "ETH")
    assert read_holdings(csv).where["ETH"].endswith("h.csv line 4")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "h.csv",
            "symbol,quantity\nBTC,1\nETH,-2\n",
            r"h.csv line 3: quantity of ETH is '-2'; it must be finite",
        ),
        ("h.csv", "symbol,quantity\nBTC,one\n", r"h.csv line 2: quantity of BTC is 'one', not a number"),
        ("h.csv", "symbol,quantity\nBTC,nan\n", r"h.csv line 2: quantity of BTC is 'nan'; it must be finite"),
        (
            "h.csv",
            "symbol,quantity\nBTC,1\nbtc,2\n",
            r"h.csv line 3: BTC is listed twice \(also at .*line 2\)",
        ),
        ("h.csv", "symbol,quantity\n,1\n", r"h.csv line 2: empty symbol"),
        ("h.csv", "symbol,quantity\nBTC,1,3\n", r"h.csv line 2: 3 fields, expected 2"),
        ("h.csv", "asset,amount\nBTC,1\n", r"h.csv line 1: the header needs columns symbol and quantity"),
        ("h.csv", "", r"h.csv: empty file"),
        ("h.csv", "symbol,quantity\n", r"h.csv: no holdings"),
        ("h.json", '{"BTC": 1,\n "ETH": }', r"h.json line 2: not valid JSON"),
        ("h.json", '{"BTC": -1}', r"h.json entry 'BTC': quantity of BTC is -1"),
        ("h.json", '{"BTC": true}', r"h.json entry 'BTC': quantity of BTC is True, not a number"),
        ("h.json", '[{"symbol": "BTC"}]', r"h.json entry 0: expected an object with symbol and quantity"),
        ("h.json", "3", r"h.json: expected"),
        ("h.json", '{"BTC": 1, "ETH": 2, "BTC": 3}', r"h.json: 'BTC' given twice in one JSON object"),
        ("h.json", '[{"symbol": "BTC", "quantity": 1, "quantity": 2}]', r"'quantity' given twice"),
        ("h.json", '{"BTC": NaN}', r"h.json entry 'BTC': quantity of BTC is nan; it must be finite"),
        ("h.txt", "BTC 1", r"h.txt: holdings must be a .csv or .json file"),
    ],
)
def test_bad_holdings_files_are_refused_with_the_line_named(tmp_path, name, text, message):
    with pytest.raises(DataError, match=message):
        read_holdings(write(tmp_path, name, text))


def test_a_byte_order_mark_is_read_as_prices_files_are(tmp_path):
    path = tmp_path / "h.csv"
    path.write_bytes("\ufeffsymbol,quantity\nBTC,1\n".encode())
    assert read_holdings(path).quantities == {"BTC": 1.0}


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(DataError, match=r"nothing.csv: no such holdings file"):
        read_holdings(tmp_path / "nothing.csv")


def test_holdings_are_valued_at_the_bar_with_stablecoins_as_cash(tmp_path, make_market):
    market = make_market({"BTC": [100.0, 200.0], "ETH": [10.0, 20.0]})
    holdings = read_holdings(write(tmp_path, "h.csv", "symbol,quantity\nBTC,2\nUSDC,100\nUSDT,100\n"))
    valued = value_holdings(holdings, market, 1)
    assert valued.value == pytest.approx(600.0)
    np.testing.assert_allclose(valued.quantities, [200.0, 2.0, 0.0])
    np.testing.assert_allclose(valued.weights, [1 / 3, 2 / 3, 0.0])


def test_holdings_the_market_cannot_price_are_refused_with_the_line_named(tmp_path, make_market):
    market = make_market({"BTC": [100.0, 200.0], "SOL": [np.nan, 5.0]})
    unknown = read_holdings(write(tmp_path, "a.csv", "symbol,quantity\nBTC,1\nDOGE,3\n"))
    with pytest.raises(DataError, match=r"a.csv line 3: unknown symbol 'DOGE'; the market has BTC, SOL"):
        value_holdings(unknown, market, 1)
    unlisted = read_holdings(write(tmp_path, "b.csv", "symbol,quantity\nSOL,3\n"))
    with pytest.raises(DataError, match=r"b.csv line 2: SOL has no price on 2024-01-01"):
        value_holdings(unlisted, market, 0)
    empty = read_holdings(write(tmp_path, "c.csv", "symbol,quantity\nBTC,0\n"))
    with pytest.raises(DataError, match=r"c.csv: the holdings are worth nothing"):
        value_holdings(empty, market, 1)
