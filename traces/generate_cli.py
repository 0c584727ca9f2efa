"""``breakeven trace generate ...``: write a synthetic trace (seeded: the same --seed gives the same file).

Each command parses its options, calls one generator of :mod:`traces.generators` or
:mod:`traces.conversations` and writes the trace (STYLE.md habit 7). :mod:`traces.cli` mounts this app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from breakeven.cli_support import OptionGroup, new_app, stdout, with_option_groups
from breakeven.errors import InputError
from breakeven.io import check_output_file
from traces.conversations import (
    CLOSED_LOOP_THINK_S,
    OPEN_LOOP_THINK_S,
    ConversationShape,
    closed_loop_conversations,
    shared_prompt,
)
from traces.conversations import conversations as gen_conversations
from traces.conversations import rag as gen_rag
from traces.generators import bursty as gen_bursty
from traces.generators import diurnal as gen_diurnal
from traces.generators import on_off as gen_on_off
from traces.generators import poisson as gen_poisson
from traces.lengths import LengthModel, Lengths, LengthsLike, ResampledPairs
from traces.loaders import load_trace
from traces.model import Trace
from traces.prefix import DEFAULT_BLOCK_TOKENS
from traces.prefix_spec import parse_think, parse_turns
from traces.spec import parse_duration_s, parse_length_spec, parse_rate_rps, parse_spec
from traces.writer import write_trace

generate_app = new_app(
    "Generate a synthetic trace (seeded: the same --seed gives the same file). "
    "Rates are mean requests/second ('2', '120/min', '7200/h'); durations take s/m/h/d ('1h')."
)

# Options shared by the generate commands.
SeedOption = Annotated[int, typer.Option("--seed", help="Seed of the random generator (same seed, same trace).")]
RateOption = Annotated[
    str, typer.Option("--rate", "-r", help="Mean request rate: req/s, or with /min or /h ('7200/h').")
]
DurationOption = Annotated[str, typer.Option("--duration", "-d", help="Duration: seconds, or with s/m/h/d ('30m').")]
InputOption = Annotated[
    str | None,
    typer.Option(
        "--input",
        help="Input-length model: fixed(N), lognormal(MEAN,P90), lognormal(median=M,p90=Q), resample(FILE).",
        show_default=False,
    ),
]
OutputOption = Annotated[
    str | None, typer.Option("--output", help="Output-length model, same syntax as --input.", show_default=False)
]
LengthsFromOption = Annotated[
    Path | None,
    typer.Option(
        "--lengths-from",
        help="Draw input/output pairs from this trace file (instead of --input/--output).",
        show_default=False,
    ),
]


def _writable(out: Path) -> Path:
    """``--out`` checked as it is parsed: a refused path stops a command before it generates anything."""
    return check_output_file(out, option="--out", example="trace.parquet")


OutOption = Annotated[
    Path,
    typer.Option("-o", "--out", help="Where to write the trace (.parquet, .csv or .jsonl).", callback=_writable),
]
LabelOption = Annotated[
    str | None, typer.Option("--model", "-m", help="Label every request with this model name.", show_default=False)
]
# Prompt structure (conversations, rag, shared): the parts a prompt is built of, each a length model.
BlockOption = Annotated[
    int, typer.Option("--block-tokens", min=1, help="Tokens per hash_ids block of the generated prompts.")
]
DocOption = Annotated[str, typer.Option("--doc", help="Document length (length model, drawn once per document).")]
QuestionOption = Annotated[str, typer.Option("--question", help="Question length per turn (length model).")]
AnswerOption = Annotated[str, typer.Option("--output", help="Answer length (length model).")]
SystemOption = Annotated[
    int, typer.Option("--system", min=0, help="System prompt tokens every prompt starts with (shared).")
]
ZipfOption = Annotated[
    float, typer.Option("--zipf", min=0.0, help="Popularity: document of rank r drawn with probability ∝ r^-zipf.")
]


@dataclass(frozen=True)
class LengthOptions(OptionGroup):
    """Where the request lengths come from: --input and --output length models, or pairs --lengths-from a trace."""

    input_spec: InputOption = None
    output_spec: OutputOption = None
    lengths_from: LengthsFromOption = None

    def model(self) -> LengthsLike:
        """The length model the options give."""
        if self.lengths_from is not None:
            if self.input_spec or self.output_spec:
                raise InputError("options --lengths-from and --input/--output: give one or the other")
            source = load_trace(self.lengths_from)
            return ResampledPairs(
                source.df["input_tokens"].to_numpy(),
                source.df["output_tokens"].to_numpy(),
                label=str(self.lengths_from),
            )
        if not self.input_spec or not self.output_spec:
            raise InputError(
                "options --input and --output: both are required, e.g. --input 'lognormal(800,1500)' "
                "--output 'fixed(220)'"
            )
        return Lengths(
            input=parse_length_spec(self.input_spec, column="input_tokens", where="option --input"),
            output=parse_length_spec(self.output_spec, column="output_tokens", where="option --output"),
        )


def _rate_duration(rate: str, duration: str) -> tuple[float, float]:
    """``--rate`` [1/s] and ``--duration`` [s]."""
    return parse_rate_rps(rate, where="option --rate"), parse_duration_s(duration, where="option --duration")


def _prompt_parts(doc: str, question: str, answer: str) -> tuple[LengthModel, LengthModel, LengthModel]:
    """``--doc``, ``--question`` and ``--output`` as length models (documents, questions, answers)."""
    return (
        parse_length_spec(doc, column="input_tokens", where="option --doc"),
        parse_length_spec(question, column="input_tokens", where="option --question"),
        parse_length_spec(answer, column="output_tokens", where="option --output"),
    )


def _generate(
    generator: Callable[..., Trace],
    out: Path,
    lengths: LengthsLike,
    *,
    rate: str,
    duration: str,
    seed: int,
    **options: Any,
) -> None:
    """Run an arrival generator of :mod:`traces.generators` (or ``shared_prompt``) on the command's options and
    write its trace: ``generator(rate_rps, duration_s, lengths, rng, **options)``."""
    rate_rps, duration_s = _rate_duration(rate, duration)
    _write(generator(rate_rps, duration_s, lengths, np.random.default_rng(seed), **options), out)


def _write(trace: Trace, out: Path) -> None:
    path = write_trace(trace, out)
    stdout.print(f"wrote {len(trace):,} requests ({trace.duration_s:,.0f} s) to {path}")


@generate_app.command("poisson")
@with_option_groups
def generate_poisson(
    *,
    out: OutOption,
    rate: RateOption,
    duration: DurationOption = "1h",
    lengths: LengthOptions,
    seed: SeedOption = 0,
    model: LabelOption = None,
) -> None:
    """Poisson arrivals (exponential gaps) at a constant mean rate."""
    _generate(gen_poisson, out, lengths.model(), rate=rate, duration=duration, seed=seed, model=model)


@generate_app.command("bursty")
@with_option_groups
def generate_bursty(
    *,
    out: OutOption,
    rate: RateOption,
    duration: DurationOption = "1h",
    cv: Annotated[
        float, typer.Option("--cv", help="Coefficient of variation of the Gamma inter-arrival gaps (1 = Poisson).")
    ] = 2.0,
    on: Annotated[
        str | None, typer.Option("--on", help="On/off bursts instead of Gamma gaps: busy period ('60s').")
    ] = None,
    off: Annotated[str | None, typer.Option("--off", help="On/off bursts: idle period ('4m').")] = None,
    lengths: LengthOptions,
    seed: SeedOption = 0,
    model: LabelOption = None,
) -> None:
    """Bursty arrivals: Gamma inter-arrival gaps with a chosen CV, or on/off bursts (--on/--off)."""
    drawn = lengths.model()
    if (on is None) != (off is None):
        raise InputError("options --on/--off: give both (busy and idle periods) or neither")
    if on is not None and off is not None:
        on_s = parse_duration_s(on, where="option --on")
        off_s = parse_duration_s(off, where="option --off")
        _generate(gen_on_off, out, drawn, rate=rate, duration=duration, seed=seed, on_s=on_s, off_s=off_s, model=model)
    else:
        _generate(gen_bursty, out, drawn, rate=rate, duration=duration, seed=seed, cv=cv, model=model)


@generate_app.command("diurnal")
@with_option_groups
def generate_diurnal(
    *,
    out: OutOption,
    rate: RateOption,
    duration: DurationOption = "1d",
    peak_to_trough: Annotated[
        float, typer.Option("--peak-to-trough", help="Sinusoidal profile: peak rate / trough rate.")
    ] = 3.0,
    peak_hour: Annotated[
        float, typer.Option("--peak-hour", help="Sinusoidal profile: hour of day of the peak.")
    ] = 14.0,
    hourly: Annotated[
        str | None,
        typer.Option("--hourly", help="Piecewise profile: 24 relative weights, comma-separated, one per hour of day."),
    ] = None,
    start_hour: Annotated[float, typer.Option("--start-hour", help="Hour of day at t = 0.")] = 0.0,
    lengths: LengthOptions,
    seed: SeedOption = 0,
    model: LabelOption = None,
) -> None:
    """Diurnal arrivals: a 24-hour rate profile (sinusoidal or piecewise hourly) around a mean rate."""
    drawn = lengths.model()
    weights = None
    if hourly is not None:
        try:
            weights = [float(w) for w in hourly.replace(";", ",").split(",") if w.strip()]
        except ValueError as exc:
            raise InputError(f"option --hourly: expected 24 numbers, found {hourly!r}") from exc
    _generate(
        gen_diurnal,
        out,
        drawn,
        rate=rate,
        duration=duration,
        seed=seed,
        peak_to_trough=peak_to_trough,
        peak_hour=peak_hour,
        hourly=weights,
        start_hour=start_hour,
        model=model,
    )


@generate_app.command("spec")
def generate_spec(
    spec: Annotated[
        str,
        typer.Argument(
            help="Synthetic spec, e.g. 'poisson:rate=2,duration=1h,input=lognormal(800,1500),output=fixed(220)'."
        ),
    ],
    *,
    out: OutOption,
    seed: SeedOption = 0,
) -> None:
    """Generate from a spec string (the syntax `breakeven analyze --synthetic` takes; see docs/traces.md)."""
    _write(parse_spec(spec).generate(np.random.default_rng(seed)), out)


# ------------------------------------------------------------------------------ generate: prefix structure


@generate_app.command("conversations")
def generate_conversations(
    *,
    out: OutOption,
    users: Annotated[
        int | None,
        typer.Option(
            "--users",
            min=1,
            help="Closed loop: concurrent users, each sending its next turn when the last answer ends "
            "(think_time_s column). Give --count with it.",
            show_default=False,
        ),
    ] = None,
    count: Annotated[
        int | None, typer.Option("--count", min=1, help="Closed loop: conversations in the pool.", show_default=False)
    ] = None,
    rate: Annotated[
        str | None,
        typer.Option(
            "--rate",
            "-r",
            help="Open loop: conversations started per second ('0.1', '6/min'). Give --duration with it.",
            show_default=False,
        ),
    ] = None,
    duration: Annotated[
        str | None, typer.Option("--duration", "-d", help="Open loop: window conversations start in ('1h').")
    ] = None,
    doc: DocOption = "3500",
    turns: Annotated[str, typer.Option("--turns", help="Turns per conversation: N or LOW..HIGH.")] = "3..5",
    question: QuestionOption = "50",
    output_spec: AnswerOption = "830",
    think: Annotated[
        str | None,
        typer.Option(
            "--think",
            help="Pause before each turn \\[s]: exponential mean 'S', 'exp(S)' or 'fixed(S)' (default 1 closed "
            "loop, 30 open loop).",
            show_default=False,
        ),
    ] = None,
    system: SystemOption = 0,
    docs: Annotated[
        int, typer.Option("--docs", min=0, help="Documents in a shared pool (0: one per conversation).")
    ] = 0,
    zipf: ZipfOption = 1.0,
    block_tokens: BlockOption = DEFAULT_BLOCK_TOKENS,
    seed: SeedOption = 0,
    model: LabelOption = None,
) -> None:
    """Multi-turn conversations (prompt = previous prompt + answer + new question), closed or open loop.

    The defaults are the seed's Dynamo demo: a 3,500-token document, 3-5 turns, 830-token answers.
    """
    closed = _closed_loop(users, count, rate, duration)
    doc_len, question_len, answer_len = _prompt_parts(doc, question, output_spec)
    shape = ConversationShape(
        doc=doc_len,
        question=question_len,
        output=answer_len,
        turns=parse_turns(turns, "option --turns"),
        system_tokens=system,
        docs=docs,
        zipf=zipf,
        think=parse_think(think or str(CLOSED_LOOP_THINK_S if closed else OPEN_LOOP_THINK_S), "option --think"),
        block_tokens=block_tokens,
    )
    rng = np.random.default_rng(seed)
    if users is not None and count is not None:
        trace = closed_loop_conversations(users, count, rng, shape=shape, model=model)
    else:
        rate_cps, duration_s = _rate_duration(str(rate), str(duration))
        trace = gen_conversations(rate_cps, duration_s, rng, shape=shape, model=model)
    _write(trace, out)


def _closed_loop(users: int | None, count: int | None, rate: str | None, duration: str | None) -> bool:
    """Whether ``conversations`` runs a closed loop (--users/--count) or an open one (--rate/--duration)."""
    closed = users is not None or count is not None
    if closed and (rate is not None or duration is not None):
        raise InputError("options --users/--count (closed loop) and --rate/--duration (open loop): give one pair")
    if closed and (users is None or count is None):
        raise InputError("options --users and --count: a closed loop needs both")
    if not closed and (rate is None or duration is None):
        raise InputError("options: give --users and --count (closed loop) or --rate and --duration (open loop)")
    return closed


@generate_app.command("shared")
@with_option_groups
def generate_shared(
    *,
    out: OutOption,
    rate: RateOption,
    system: Annotated[int, typer.Option("--system", min=0, help="System prompt tokens every request starts with.")],
    duration: DurationOption = "1h",
    prompts: Annotated[
        int, typer.Option("--prompts", min=1, help="Distinct system prompts, chosen uniformly per request.")
    ] = 1,
    lengths: LengthOptions,
    block_tokens: BlockOption = DEFAULT_BLOCK_TOKENS,
    seed: SeedOption = 0,
    model: LabelOption = None,
) -> None:
    """Poisson requests sharing a system prompt; --input is the user part after it."""
    options = {"system_tokens": system, "prompts": prompts, "block_tokens": block_tokens, "model": model}
    _generate(shared_prompt, out, lengths.model(), rate=rate, duration=duration, seed=seed, **options)


@generate_app.command("rag")
def generate_rag(
    *,
    out: OutOption,
    rate: RateOption,
    docs: Annotated[int, typer.Option("--docs", min=1, help="Documents in the pool.")],
    duration: DurationOption = "1h",
    zipf: ZipfOption = 1.0,
    doc: DocOption = "2000",
    question: QuestionOption = "50",
    output_spec: AnswerOption = "200",
    system: SystemOption = 0,
    block_tokens: BlockOption = DEFAULT_BLOCK_TOKENS,
    seed: SeedOption = 0,
    model: LabelOption = None,
) -> None:
    """Retrieval-augmented requests: system prompt + one document of a pool (Zipf popularity) + a question."""
    rate_rps, duration_s = _rate_duration(rate, duration)
    doc_len, question_len, answer_len = _prompt_parts(doc, question, output_spec)
    trace = gen_rag(
        rate_rps,
        duration_s,
        np.random.default_rng(seed),
        docs=docs,
        zipf=zipf,
        doc=doc_len,
        question=question_len,
        output=answer_len,
        system_tokens=system,
        block_tokens=block_tokens,
        model=model,
    )
    _write(trace, out)
