"""The identity options ``profile import`` and ``profile measure`` share, declared once (STYLE.md habit 7).

Each is a typer ``Annotated`` alias; a command takes it as ``gpu: GpuOption = None``. They describe the
deployment a profile is of: what neither a benchmark file nor a live endpoint can tell (the GPU, the
catalog prices), and the id it is saved under.
"""

from __future__ import annotations

from typing import Annotated

import typer

GpuOption = Annotated[
    str | None,
    typer.Option("--gpu", help="GPU model, e.g. H100 (recorded in the profile: files and endpoints do not say it)."),
]
GpuPriceOption = Annotated[
    str | None,
    typer.Option("--gpu-price", metavar="ID", help="Catalog id of the GPU price, e.g. digitalocean/gpu-h100-1x."),
]
ServerlessPriceOption = Annotated[
    str | None,
    typer.Option("--serverless-price", metavar="ID", help="Catalog id of the per-token price (serverless)."),
]
EngineOption = Annotated[
    str | None,
    typer.Option("--engine", help="Engine or provider name, e.g. vllm \\[default: what the files or endpoint say]."),
]
ProfileIdOption = Annotated[
    str | None,
    typer.Option(
        "--id",
        metavar="NAME",
        help="Profile id \\[default: '<model>@<count>x<gpu>' when importing, '<model>@<host>' when measuring].",
        show_default=False,
    ),
]
