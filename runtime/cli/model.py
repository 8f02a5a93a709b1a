"""`mgx model …` commands: the group, assembled from one module per family of verbs."""

from __future__ import annotations

import typer

from runtime.cli import model_info, model_ops, model_serve

app = typer.Typer(help="Pull, serve, monitor and switch local models (vLLM).", no_args_is_help=True)
model_serve.register(app)  # pull, serve, stop, switch
model_info.register(app)  # list, status, stats, gpus
model_ops.register(app)  # add, remove, lora load|unload, sleep, wake
