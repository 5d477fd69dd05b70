"""The hidden-layer size rule of spec 5.1, checked against values worked out by hand.

Rule: lo = min(n_in, n_out) (2 if it is 1), hi = max(n_in, n_out),
k = floor(ln(hi)/ln(lo) - 2); k <= 1: one layer of min(lo^2, floor((lo+hi)/2));
otherwise k layers lo^2 .. lo^(k+1), ascending if n_in < n_out else descending;
no hidden layer when n_in == n_out.
"""

import pytest

from avarep.layers import hidden_sizes


@pytest.mark.parametrize(
    "n_in, n_out, expected",
    [
        # lo=10, hi=6400: ln6400/ln10 = 3.806 -> k = floor(1.806) = 1 -> min(100, 3205) = 100
        (6400, 10, [100]),
        (10, 6400, [100]),
        # lo=10, hi=3240: ln3240/ln10 = 3.511 -> k = 1 -> min(100, 1625) = 100
        (3240, 10, [100]),
        (10, 3240, [100]),
        # lo=8, hi=40: ln40/ln8 = 1.774 -> k = floor(-0.226) = -1 -> min(64, floor(48/2)=24) = 24
        (40, 8, [24]),
        (8, 40, [24]),
        # lo=4, hi=10 (the tiny P=4 networks of the protocol tests): ln10/ln4 = 1.661 -> k = -1
        # -> min(16, floor(14/2) = 7) = 7
        (4, 10, [7]),
        (10, 4, [7]),
        # lo=5, hi=500: ln500/ln5 = 3.861 -> k = 1 -> min(25, 252) = 25
        (5, 500, [25]),
        # lo=10, hi=20000: ln20000/ln10 = 4.301 -> k = 2 -> 10^2, 10^3 ascending
        (10, 20000, [100, 1000]),
        # ... and descending when n_in > n_out
        (20000, 10, [1000, 100]),
        # lo=2, hi=100: log2(100) = 6.644 -> k = 4 -> 4, 8, 16, 32
        (2, 100, [4, 8, 16, 32]),
        (100, 2, [32, 16, 8, 4]),
        # lo=3, hi=1000: log3(1000) = 6.288 -> k = 4 -> 9, 27, 81, 243
        (3, 1000, [9, 27, 81, 243]),
        (1000, 3, [243, 81, 27, 9]),
    ],
)
def test_hidden_sizes_hand_values(n_in, n_out, expected):
    assert hidden_sizes(n_in, n_out) == expected


@pytest.mark.parametrize("n", [1, 2, 10, 6400])
def test_equal_sizes_have_no_hidden_layer(n):
    assert hidden_sizes(n, n) == []


@pytest.mark.parametrize(
    "n_in, n_out, expected",
    [
        # lo = 1 is treated as 2: hi=100 -> log2(100) = 6.644 -> k = 4 -> [4, 8, 16, 32]
        # (with lo = 1 literally, ln(1) = 0 would divide by zero)
        (1, 100, [4, 8, 16, 32]),
        (100, 1, [32, 16, 8, 4]),
        # lo = 1 -> 2, hi = 10: log2(10) = 3.32 -> k = 1 -> min(4, floor(12/2) = 6) = 4
        # (lo = 1 literally would give min(1, 5) = 1)
        (1, 10, [4]),
        # lo = 1 -> 2, hi = 6400: log2(6400) = 12.64 -> k = 10 -> 2^2 .. 2^11, descending
        (6400, 1, [2048, 1024, 512, 256, 128, 64, 32, 16, 8, 4]),
        # lo = 1 -> 2, hi = 2: log2(2) = 1 -> k = -1 -> min(4, floor(4/2) = 2) = 2
        (1, 2, [2]),
    ],
)
def test_lo_one_is_treated_as_two(n_in, n_out, expected):
    assert hidden_sizes(n_in, n_out) == expected


@pytest.mark.parametrize("n_in, n_out", [(0, 10), (10, 0), (-1, 5), (5, -3), (0, 0)])
def test_invalid_sizes_raise(n_in, n_out):
    with pytest.raises(ValueError):
        hidden_sizes(n_in, n_out)
