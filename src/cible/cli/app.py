"""``cible`` commands. Each parses its options, calls the Workspace, and renders.

Errors Cible raises on purpose (:class:`cible.domain.errors.CibleError`) print one
sentence on stderr and exit with status 1; an interrupted command exits with 130
after its transaction was rolled back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pydantic
import typer
from typer.core import TyperGroup

from cible.access.audit_log import counts
from cible.access.roles import LOCAL_USER
from cible.cli import audit as audit_cli
from cible.cli import cluster as cluster_cli
from cible.cli import dedupe as dedupe_cli
from cible.cli import i18n
from cible.cli import kpis as kpis_cli
from cible.cli import segments as segments_cli
from cible.cli import serve as serve_cli
from cible.cli.automations import automations_app
from cible.cli.campaigns import campaigns_app
from cible.cli.churn import churn_app
from cible.cli.clv import clv_app
from cible.cli.customers import customers_app
from cible.cli.deliveries import deliveries_app
from cible.cli.drift import drift_app
from cible.cli.experiments import experiments_app
from cible.cli.fairness import fairness_app
from cible.cli.i18n import _, use_lang
from cible.cli.objection import objection_app
from cible.cli.options import JsonOption, LangOption, WorkspaceOption
from cible.cli.output import (
    echo,
    errors,
    number,
    os_reason,
    print_error,
    print_json,
    print_table,
    progress_bars,
)
from cible.cli.privacy import privacy_app
from cible.cli.privacy_access import access_app
from cible.cli.remote import RemoteJobError, connect, open_workspace, refuse_if_served
from cible.cli.snapshots import snapshots_app
from cible.cli.tags import tags_app
from cible.cli.templates import templates_app
from cible.cli.tokens import tokens_app
from cible.domain.config import WorkspaceConfig
from cible.domain.errors import CibleError, ConfigError
from cible.domain.schema import IMPORT_KINDS
from cible.importing.pipeline import StrictRefusalError
from cible.server.served import hand_over
from cible.workspace import Workspace


class _Commands(TyperGroup):
    """Turns Cible's own errors into one line on stderr and exit status 1."""

    def invoke(self, ctx: Any) -> Any:
        # A command line's language starts from scratch (tests run many in one process).
        i18n.reset()
        try:
            return super().invoke(ctx)
        except CibleError as exc:
            print_error(_("Error: {message}").format(message=exc))
            raise typer.Exit(1) from None
        except OSError as exc:
            # The environment, not a bug: a folder without permission, a full disk...
            where = _("Cannot use {path}: ").format(path=exc.filename) if exc.filename else ""
            print_error(_("Error: {message}").format(message=f"{where}{os_reason(exc)}."))
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            errors.print(
                _("Interrupted; the workspace keeps its state from before this command."),
                markup=False,
                highlight=False,
            )
            raise typer.Exit(130) from None


app = typer.Typer(
    cls=_Commands,
    name="cible",
    help="Cible: customer segmentation engine. Start with `cible demo` or `cible init`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _everywhere(lang: LangOption = None) -> None:
    """Cible: customer segmentation engine. Start with `cible demo` or `cible init`."""
    # `cible --lang fr COMMAND` sets the language of a whole line; a command's own
    # --lang still wins.
    i18n.reset(lang)


@app.command()
def init(
    path: Annotated[Path | None, typer.Argument(help="Folder to create.")] = None,
    encrypt: Annotated[
        bool,
        typer.Option(
            "--encrypt",
            help="Encrypt the database at rest with the key in CIBLE_ENCRYPTION_KEY.",
        ),
    ] = False,
    backend: Annotated[
        str,
        typer.Option(
            "--backend",
            help="Where the data live: duckdb (a file in the folder), "
            "postgres://user@host:port/database/schema, or spark (a file in the folder, "
            "runs computed on Spark: set its master in \\[engine.spark]).",
        ),
    ] = "duckdb",
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Create a workspace: a folder with cible.toml and one DuckDB file (or a schema
    of a PostgreSQL database, with --backend; or runs computed on Spark)."""
    use_lang(lang)
    target = path or workspace
    settings = {"name": target.resolve().name, "encrypted": encrypt}
    try:
        config = WorkspaceConfig.model_validate(
            {"workspace": settings, "engine": {"backend": backend}}
        )
    except pydantic.ValidationError as exc:
        message = exc.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
        raise ConfigError(f"--backend: {message}.") from None
    with Workspace.create(target, config=config) as ws:
        info = {"workspace": str(ws.path), "schema_version": ws.schema_version}
    if as_json:
        print_json(info)
    else:
        echo(
            _("Created workspace {path} (schema version {version}).").format(
                path=target, version=info["schema_version"]
            )
        )
        echo(
            _("Next: {command}").format(command=f"cible import customers FILE --workspace {target}")
        )


@app.command()
def status(
    lang: LangOption = None, workspace: WorkspaceOption = Path(), as_json: JsonOption = False
) -> None:
    """Show the rows in each table and the latest imports."""
    use_lang(lang)
    remote = connect(workspace)
    if remote is not None:
        found = remote.request("GET", "/api/status")
        counts, recent, version = found["counts"], found["imports"], found["schema_version"]
    else:
        with open_workspace(workspace, read_only=True) as ws:
            counts = ws.counts()
            recent = ws.imports.log().limit(10).to_pyarrow().to_pylist()
            version = ws.schema_version
    if as_json:
        print_json({"schema_version": version, "counts": counts, "imports": recent})
        return
    print_table(_("Tables"), [_("table"), _("rows")], [(k, number(v)) for k, v in counts.items()])
    print_table(
        _("Latest imports"),
        [
            _("id"),
            _("kind"),
            _("file"),
            _("status"),
            _("read"),
            _("loaded"),
            _("rejected"),
            _("flagged"),
        ],
        [
            (
                r["import_id"],
                r["kind"],
                Path(r["file"]).name,
                r["status"],
                number(r["rows_read"]),
                number(r["rows_loaded"]),
                number(r["rows_rejected"]),
                number(r["rows_flagged"]),
            )
            for r in recent
        ],
    )


def _parse_map(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        target, sep, source = pair.partition("=")
        if not sep or not target.strip() or not source.strip():
            raise CibleError(f"--map {pair!r}: write it as FIELD=COLUMN, e.g. amount=Montant.")
        mapping[target.strip()] = source.strip()
    return mapping


@app.command("import")
def import_(
    kind: Annotated[str, typer.Argument(help=f"One of: {', '.join(IMPORT_KINDS)}.")],
    file: Annotated[Path, typer.Argument(help="CSV, Parquet or JSON lines file.")],
    mapping: Annotated[
        list[str] | None,
        typer.Option("--map", help="FIELD=COLUMN: read FIELD from COLUMN (repeatable)."),
    ] = None,
    date_format: Annotated[
        str | None, typer.Option(help="strftime layout of dates, e.g. %m/%d/%Y.")
    ] = None,
    decimal: Annotated[
        str | None, typer.Option(help="Decimal separator: auto, '.' or ','.")
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option(help="CSV separator (default: detected).")
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding (default: detected).")] = None,
    strict: Annotated[bool, typer.Option(help="Load nothing if any row is rejected.")] = False,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """Import a file of KIND; rejected rows are kept with line and reason (`cible rejects`)."""
    use_lang(lang)
    remote = connect(workspace)
    if remote is not None:
        # The server runs on this machine and reads only its incoming/ folder.
        body = {
            "kind": kind,
            "path": hand_over(workspace, file),
            "shown_as": str(file.resolve()),
            "mapping": _parse_map(mapping or []),
            "date_format": date_format,
            "decimal": decimal,
            "delimiter": delimiter,
            "encoding": encoding,
            "strict": strict,
        }
        with progress_bars(not as_json) as bars:
            try:
                found = remote.job("/api/imports", body, progress=bars.task(f"import {file.name}"))
            except RemoteJobError as refusal:
                if not as_json or refusal.result is None:
                    raise
                print_json(refusal.result)  # --strict refused it: the counts, as locally
                raise typer.Exit(1) from None
        if as_json:
            print_json(found)
        else:
            _print_import(found)
        return
    with open_workspace(workspace) as ws, progress_bars(not as_json) as bars:
        try:
            result = ws.audit_log.change(
                LOCAL_USER.actor,
                "import.finish",
                f"file:{file.name}",
                lambda: ws.imports.load(
                    kind,
                    file,
                    mapping=_parse_map(mapping or []),
                    date_format=date_format,
                    decimal=decimal,
                    delimiter=delimiter,
                    encoding=encoding,
                    strict=strict,
                    progress=bars.task(f"import {file.name}"),
                ),
                lambda loaded: {"kind": kind, "result": counts(loaded.as_dict())},
            )
        except StrictRefusalError as refusal:
            if not as_json:
                raise
            print_json(refusal.result.as_dict())
            raise typer.Exit(1) from None
    if as_json:
        print_json(result.as_dict())
        return
    _print_import(result.as_dict())


def _print_import(r: dict[str, Any]) -> None:
    echo(
        _(
            "{file} -> {kind}: read {read:,} = loaded {loaded:,} (new {inserted:,}, updated "
            "{updated:,}, unchanged {unchanged:,}) + rejected {rejected:,}; flagged {flagged:,}."
        ).format(**r)
    )
    if r["ignored_columns"]:
        echo(_("Columns not imported: {columns}.").format(columns=", ".join(r["ignored_columns"])))
    if r["rejected"] or r["flagged"]:
        echo(
            _("See them with: {command}").format(command=f"cible rejects --import {r['import_id']}")
        )


@app.command()
def rejects(
    import_id: Annotated[
        int | None, typer.Option("--import", help="Import id (default: latest of each file).")
    ] = None,
    only_rejected: Annotated[
        bool, typer.Option("--only-rejected", help="Hide rows loaded but flagged.")
    ] = False,
    limit: Annotated[int, typer.Option(min=0, help="Rows to show (0: all).")] = 50,
    lang: LangOption = None,
    workspace: WorkspaceOption = Path(),
    as_json: JsonOption = False,
) -> None:
    """List rows an import rejected or flagged, with file, line, column, value and reason."""
    use_lang(lang)
    with open_workspace(workspace, read_only=True) as ws:
        issues = ws.imports.rejects(import_id, flagged=not only_rejected)
        total = int(issues.count().execute())
        rows = (issues.limit(limit) if limit else issues).to_pyarrow().to_pylist()
    if as_json:
        print_json({"total": total, "issues": rows})
        return
    if not rows:
        echo(_("No rejected or flagged rows."))
        return
    print_table(
        _("{total:,} issue(s)").format(total=total)
        + (_(", first {count}").format(count=len(rows)) if len(rows) < total else ""),
        [
            _("import"),
            _("file"),
            _("line"),
            _("column"),
            _("value"),
            _("reason"),
            _("severity"),
        ],
        [
            (
                r["import_id"],
                Path(r["file"]).name,
                r["line"],
                r["column_name"],
                r["value"],
                r["reason"],
                r["severity"],
            )
            for r in rows
        ],
    )


@app.command()
def demo(
    customers: Annotated[int, typer.Option(min=200, help="Customers to generate.")] = 50_000,
    seed: Annotated[int, typer.Option(min=0, help="Random seed: same seed, same data.")] = 42,
    dataset: Annotated[
        str, typer.Option(help="retailer (synthetic French shop) or cdnow (real CDNOW sample).")
    ] = "retailer",
    force: Annotated[
        bool, typer.Option(help="Replace the workspace folder if it already exists.")
    ] = False,
    workspace: Annotated[
        Path,
        typer.Option(
            "--workspace",
            "-w",
            help="Folder of the demo workspace (not read from $CIBLE_WORKSPACE, so that "
            "--force can never replace your own workspace).",
        ),
    ] = Path("demo-workspace"),
    planted_change: Annotated[
        str | None,
        typer.Option(
            help="A planted group (such as loyal_regular) buying half as often in the last "
            "quarter, for drift checks to find."
        ),
    ] = None,
    campaign: Annotated[
        bool,
        typer.Option(
            help="Add a past win-back campaign with a holdout and a planted effect "
            "(retailer), for `cible experiments analyse winback`."
        ),
    ] = True,
    lang: LangOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a workspace filled with demo data, then say what to run next."""
    use_lang(lang)
    from cible.demo import build_demo

    # --force replaces the folder: never under a server that owns it.
    refuse_if_served(workspace)

    with progress_bars(not as_json) as bars:
        summary = build_demo(
            workspace,
            dataset=dataset,
            customers=customers,
            seed=seed,
            replace=force,
            planted_change=planted_change,
            campaign=campaign,
            progress=bars.task,
        )
    if as_json:
        print_json(summary)
        return
    for result in summary["imports"]:
        _print_import(result)
    print_table(
        _("Loaded"), [_("table"), _("rows")], [(k, number(v)) for k, v in summary["counts"].items()]
    )
    echo(
        _("Workspace ready in {path} ({seconds:.1f} s).").format(
            path=summary["workspace"], seconds=summary["seconds"]
        )
    )
    if summary.get("truth"):
        echo(
            _("Planted groups (for checking clusterings): {groups}").format(groups=summary["truth"])
        )
    run = summary["run"]
    echo(
        _(
            "Run {run_id} as of {as_of:%Y-%m-%d}: {segments} segments, {memberships:,} "
            "memberships. Reports: {reports}"
        ).format(
            run_id=run["run_id"],
            as_of=run["as_of"],
            segments=run["segments"],
            memberships=run["memberships"],
            reports=", ".join(summary["reports"]),
        )
    )
    echo(_("Next:"))
    echo(f"  open {summary['reports'][0]}")
    echo(f"  cible segments list --workspace {workspace}")
    echo(f"  cible rejects --workspace {workspace}")
    if summary.get("campaign"):
        echo(f"  cible experiments analyse winback --workspace {workspace}")


app.command()(segments_cli.run)
app.add_typer(segments_cli.segments_app, name="segments")
app.command()(segments_cli.report)
app.command()(cluster_cli.cluster)
app.add_typer(clv_app, name="clv")
app.add_typer(churn_app, name="churn")
app.command()(audit_cli.audit)
app.command()(audit_cli.normalise)
app.command()(dedupe_cli.dedupe)
app.command()(serve_cli.serve)
app.add_typer(tokens_app, name="tokens")
# One `cible privacy` group: erasure and suppression (cli/privacy.py), access, the
# record of processing, retention and consents (cli/privacy_access.py).
privacy_app.registered_commands.extend(access_app.registered_commands)
privacy_app.registered_commands.extend(fairness_app.registered_commands)
privacy_app.registered_commands.extend(objection_app.registered_commands)
app.add_typer(privacy_app, name="privacy")
app.add_typer(templates_app, name="templates")
app.add_typer(customers_app, name="customers")
app.add_typer(tags_app, name="tags")
app.add_typer(automations_app, name="automations")
app.add_typer(campaigns_app, name="campaigns")
app.add_typer(deliveries_app, name="deliveries")
app.add_typer(snapshots_app, name="snapshots")
app.add_typer(drift_app, name="drift")
app.add_typer(experiments_app, name="experiments")
app.command("kpis")(kpis_cli.kpis)


def main() -> None:
    """Entry point of the ``cible`` script."""
    app()
