"""The synthetic-trace spec syntax (``breakeven analyze --synthetic SPEC``)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from breakeven.errors import InputError, UnknownNameError
from tests.conftest import DATA
from traces import Fixed, Lengths, LogNormal, Resampled, ResampledPairs, parse_spec, parse_synthetic_spec
from traces.spec import parse_duration_s, parse_length_spec, parse_rate_rps

AZURE = DATA / "traces" / "AzureLLMInferenceTrace_code.csv"


def test_poisson_spec_end_to_end() -> None:
    spec = "poisson:rate=2,duration=1h,input=lognormal(800,1500),output=fixed(220)"
    trace = parse_synthetic_spec(spec, np.random.default_rng(0))
    assert abs(len(trace) - 7200) < 4 * math.sqrt(7200)
    assert set(trace.df["output_tokens"]) == {220}
    assert trace.meta.source == f"synthetic:{spec}"
    again = parse_synthetic_spec(spec, np.random.default_rng(0))
    pd.testing.assert_frame_equal(trace.df, again.df)


def test_spec_fields() -> None:
    parsed = parse_spec(
        "bursty:rate=7200/h,duration=30m,cv=3,input=fixed(80),output=lognormal(median=220,p90=900,max=4096),model=gpt-oss-120b"
    )
    assert parsed.kind == "bursty"
    assert parsed.rate_rps == 2.0
    assert parsed.duration_s == 1800.0
    assert parsed.options == {"cv": 3.0}
    assert parsed.model == "gpt-oss-120b"
    assert isinstance(parsed.lengths, Lengths)
    assert parsed.lengths.input == Fixed(80)
    assert isinstance(parsed.lengths.output, LogNormal) and parsed.lengths.output.high == 4096
    trace = parsed.generate(np.random.default_rng(1))
    assert set(trace.df["model"]) == {"gpt-oss-120b"}


def test_on_off_and_diurnal_specs() -> None:
    on_off = parse_spec("bursty:rate=5,on=1m,off=4m,duration=2h,input=100,output=10")
    assert on_off.options == {"on": 60.0, "off": 240.0}
    trace = on_off.generate(np.random.default_rng(0))
    assert np.all(np.mod(trace.df["arrival_s"].to_numpy(), 300.0) < 60.0)
    hourly = ";".join(["1"] * 12 + ["2"] * 12)
    day = parse_spec(f"diurnal:rate=1,duration=1d,hourly={hourly},start_hour=6,input=fixed(10),output=fixed(5)")
    assert day.options["hourly"] == [1.0] * 12 + [2.0] * 12
    assert day.options["start_hour"] == 6.0
    sine = parse_spec("diurnal:rate=3,duration=2d,peak_to_trough=4,peak_hour=15,input=fixed(1),output=fixed(1)")
    assert sine.options == {"peak_to_trough": 4.0, "peak_hour": 15.0}


def test_resample_lengths_from_a_real_trace() -> None:
    joint = parse_spec(f"poisson:rate=1,duration=60,lengths=resample({AZURE})")
    assert isinstance(joint.lengths, ResampledPairs)
    marginal = parse_spec(f"poisson:rate=1,duration=60,input=resample({AZURE}),output=fixed(5)")
    assert isinstance(marginal.lengths, Lengths) and isinstance(marginal.lengths.input, Resampled)


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [
        ("poisson rate=2", InputError, "expected KIND:key=value"),
        ("possion:rate=2,duration=1h,input=1,output=1", UnknownNameError, r"did you mean 'poisson'"),
        ("poisson:rate=2,duration=1h,input=1,output=1,cv=2", UnknownNameError, r"unknown key for poisson 'cv'"),
        ("poisson:duration=1h,input=1,output=1", InputError, "missing key 'rate'"),
        ("poisson:rate=2,input=1,output=1", InputError, "missing key 'duration'"),
        ("poisson:rate=fast,duration=1h,input=1,output=1", InputError, "rate: expected a request rate"),
        ("poisson:rate=2,duration=1w,input=1,output=1", InputError, "duration: expected a duration"),
        ("poisson:rate=2,duration=1h,input=1", InputError, "missing output="),
        ("poisson:rate=2,duration=1h,input=lognormal(800,2000),output=1", InputError, "no lognormal has mean 800"),
        ("poisson:rate=2,duration=1h,input=gamma(3),output=1", UnknownNameError, "unknown length model 'gamma'"),
        ("poisson:rate=2,duration=1h,input=fixed(2.5),output=1", InputError, "integer token count"),
        ("bursty:rate=2,duration=1h,on=60,input=1,output=1", InputError, "need both on= and off="),
        ("bursty:rate=2,duration=1h,cv=2,on=1,off=1,input=1,output=1", InputError, "either cv="),
        ("poisson:rate=2,duration=1h,lengths=fixed(3),input=1,output=1", InputError, "either lengths="),
        ("poisson:rate=-2,duration=1h,input=1,output=1", InputError, "positive request rate"),
    ],
)
def test_spec_errors(spec: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        parse_spec(spec)


def test_units() -> None:
    assert parse_duration_s("90") == 90.0
    assert parse_duration_s("1.5h") == 5400.0
    assert parse_duration_s("2d") == 172800.0
    assert parse_rate_rps("120/min") == 2.0
    assert parse_rate_rps("3/s") == 3.0
    assert parse_length_spec("300") == Fixed(300)
    assert parse_length_spec("lognormal(mean=800, p90=1500, min=10)") == LogNormal(p90=1500, mean=800, low=10)
