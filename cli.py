"""The `writer-r1` command line.

Errors are one clear line and exit code 2; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import logging
import sys
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
err_console = Console(stderr=True)
_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"writer-r1 {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")] = False,
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


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `writer-r1` script."""
    _register()
    try:
        app(args=argv, standalone_mode=False)
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
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
