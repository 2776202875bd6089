"""The retry policy: bounded, growing, jittered, and never earlier than the provider asked."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workqueue import RetryPolicy

SYNC = RetryPolicy()
MAIL = RetryPolicy(
    max_attempts=5,
    steps=(timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2)),
    jitter_low=1.0,
    jitter_high=1.1,
)


def test_the_exponential_doubles_from_two_seconds_to_an_hour() -> None:
    assert [SYNC.step(n) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert SYNC.step(12) == 3600.0 and SYNC.step(1000) == 3600.0


def test_a_schedule_of_steps_repeats_its_last_step() -> None:
    assert [MAIL.step(n) for n in (1, 2, 3, 4, 5)] == [60.0, 300.0, 1800.0, 7200.0, 7200.0]


def test_max_attempts() -> None:
    assert not SYNC.exhausted(7) and SYNC.exhausted(8)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"jitter_low": 0.0},
        {"jitter_low": 2.0},
        {"factor": 0.5},
        {"base": timedelta(0)},
        {"cap": timedelta(seconds=1)},
    ],
)
def test_nonsense_policies_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs)) if "cap" not in kwargs else "base"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


policies = st.one_of(
    st.just(SYNC),
    st.just(MAIL),
    st.builds(
        RetryPolicy,
        base=st.integers(1, 60).map(lambda s: timedelta(seconds=s)),
        factor=st.floats(1.0, 4.0),
        cap=st.integers(60, 86_400).map(lambda s: timedelta(seconds=s)),
        jitter_low=st.floats(0.1, 1.0),
    ),
)


@given(
    policy=policies,
    attempts=st.integers(1, 200),
    retry_after=st.none() | st.floats(0, 100_000, allow_nan=False),
    seed=st.integers(0, 2**32),
)
def test_delay_stays_in_its_band_and_honours_retry_after(
    policy: RetryPolicy, attempts: int, retry_after: float | None, seed: int
) -> None:
    delay = policy.delay(attempts, retry_after, random.Random(seed)).total_seconds()
    ceiling = policy.step(attempts)
    cap = policy.steps[-1].total_seconds() if policy.steps else policy.cap.total_seconds()
    assert ceiling <= cap
    assert policy.step(attempts + 1) >= ceiling  # monotone: a later failure never waits less
    if retry_after is not None:
        assert delay >= retry_after - 1e-6  # never earlier than the provider asked
        assert delay <= max(retry_after, ceiling * policy.jitter_high) + 1e-6
    else:
        assert ceiling * policy.jitter_low - 1e-6 <= delay <= ceiling * policy.jitter_high + 1e-6
