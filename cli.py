"""The `writer-r1` command line.

Errors are one clear line (never wrapped when stderr is not a terminal) and exit code 2; `--debug` (before or
after the subcommand) shows the traceback instead. A `--base-url` (or `WRITER_R1_BASE_URL`) that cannot be
reached is named at once, before any work starts.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import Annotated

import click
import typer
from rich.console import Console
from rich.markup import escape
from writer_r1 import __version__

app = typer.Typer(
    name="writer-r1",
    help="Better LLM writing with interpretable, fine-grained criteria.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err_console = Console(stderr=True, soft_wrap=True)  # one line stays one line, in a terminal or a log file
_state = {"debug": False}
_ROOT_FLAGS = ("--debug", "--verbose", "-v")
_MODEL_COMMANDS = {("reflect",), ("judge",), ("criteria", "build"), ("verify", "text"), ("data", "prepare"), ("eval",)}
"""Commands that call a model (their first one or two words): the ones worth checking the server for."""


def _version(value: bool) -> None:
    if value:
        typer.echo(f"writer-r1 {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show info logs.")] = False,
) -> None:
    _state["debug"] = debug
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def _register() -> None:
    """Attach the command groups that live beside the capability they drive (once)."""
    if _state.get("registered"):
        return
    _state["registered"] = True
    from writer_r1.constraints.commands import app as verify_app

    app.add_typer(verify_app, name="verify", help="Verify constraints (IFEval-compatible and writing checks).")
    from writer_r1.agents.commands import judge_command

    app.command("judge")(judge_command)
    from writer_r1.graphs.reflect_command import reflect_command

    app.command("reflect")(reflect_command)
    from writer_r1.graphs.commands import app as criteria_app

    app.add_typer(criteria_app, name="criteria", help="Build criteria with the Grounded-Theory graph.")
    from writer_r1.rl.commands import data_app, train_app

    app.add_typer(train_app, name="train")
    app.add_typer(data_app, name="data")
    from writer_r1.eval.commands import app as eval_app

    app.add_typer(eval_app, name="eval")


def hoist_root_flags(argv: Sequence[str], flags: frozenset[str] = frozenset()) -> list[str]:
    """`--debug` / `--verbose` written after the subcommand, moved before it (where the root options live).
    A token that is the value of an option (one not in `flags`, the options that take no value) stays.

    >>> hoist_root_flags(["reflect", "--task", "x", "--debug"])
    ['--debug', 'reflect', '--task', 'x']
    >>> hoist_root_flags(["reflect", "--task", "--debug"])  # the value of --task stays
    ['reflect', '--task', '--debug']
    """
    args = list(argv)
    end = args.index("--") if "--" in args else len(args)
    hoisted: list[str] = []
    kept: list[str] = []
    for position, arg in enumerate(args[:end]):
        previous = args[position - 1] if position else ""
        is_value = previous.startswith("-") and "=" not in previous and previous not in flags | set(_ROOT_FLAGS)
        (hoisted if arg in _ROOT_FLAGS and not is_value else kept).append(arg)
    return hoisted + kept + args[end:]


def _flags() -> frozenset[str]:
    """Every option of every command that takes no value."""
    command = typer.main.get_command(app)
    names: set[str] = {"--help"}
    stack = [command]
    while stack:
        current = stack.pop()
        for param in current.params:
            if isinstance(param, click.Option) and (param.is_flag or param.count):
                names.update(param.opts)
                names.update(param.secondary_opts)
        stack.extend(getattr(current, "commands", {}).values())
    return frozenset(names)


def _option(argv: Sequence[str], *names: str) -> str | None:
    for position, arg in enumerate(argv):
        for name in names:
            if arg == name and position + 1 < len(argv):
                return argv[position + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def check_server(argv: Sequence[str], timeout_s: float = 5.0) -> None:
    """Fail at once, naming the URL, when the OpenAI-compatible server a model command will use is unreachable."""
    from writer_r1.core.errors import UserError

    words = [arg for arg in argv if not arg.startswith("-")][:2]
    if "--help" in argv or not any(tuple(words[: len(c)]) == c for c in _MODEL_COMMANDS):
        return
    model = _option(argv, "--model", "-m") or os.environ.get("WRITER_R1_MODEL")
    base_url = _option(argv, "--base-url") or os.environ.get("WRITER_R1_BASE_URL")
    if not base_url or (model is not None and not model.startswith("openai")):
        return
    import httpx

    try:
        httpx.get(base_url.rstrip("/") + "/models", timeout=timeout_s)
    except httpx.HTTPError as error:
        raise UserError(
            f"cannot reach the model server at {base_url} ({type(error).__name__}: {error or 'no answer'}); "
            "start it (e.g. vllm serve MODEL) or fix --base-url / WRITER_R1_BASE_URL"
        ) from error


def _message(error: BaseException) -> str:
    """The one line a user sees for `error`."""
    import openai  # a base dependency, through langchain-openai

    if isinstance(error, openai.APIConnectionError):
        url = getattr(getattr(error, "request", None), "url", None)
        return f"cannot reach the model server{f' at {url}' if url else ''}: {error}"
    text = str(error).strip()
    return " ".join(text.split("\n")[0].split()) if text else type(error).__name__


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `writer-r1` script."""
    _register()
    argv = hoist_root_flags(sys.argv[1:] if argv is None else argv, _flags())
    if "--debug" in argv[: argv.index("--") if "--" in argv else len(argv)]:
        _state["debug"] = True
    try:
        check_server(argv)
        # Without standalone mode click returns a command's `typer.Exit(code)` instead of exiting with it.
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.exceptions.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except click.ClickException as error:
        error.show()
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as error:  # noqa: BLE001 - the CLI's contract: one line, exit 2
        if _state["debug"]:
            raise
        err_console.print(f"[bold red]error:[/] {escape(_message(error))}", highlight=False, markup=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
