"""Operating an instance: ``notary doctor``, ``notary backup``, ``notary restore``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from notary.cli.audit import audit_instance
from notary.cli.common import NoInstance, emit, json_option, json_text, load_settings, say, shown
from notary.config import Settings


@click.command("doctor")
@json_option
def doctor(as_json: bool) -> None:
    """Examine the instance: days left on every certificate it relies on, free disk space,
    migrations, the worker's heartbeat, waiting contracts, the certificate font. One line per
    finding; exit status 0 when nothing needs action, 1 on a warning (act soon), 2 on a
    failure (broken now).
    """
    from notary.runtime import doctor_scope

    with doctor_scope(load_settings()) as examiner:
        checkup = examiner.checkup(deep=True)
    if as_json:
        click.echo(json_text(checkup.as_dict()))
    else:
        for finding in checkup.findings:
            say(finding.line())
        needing = checkup.needing_action()
        say(f"{len(needing)} finding(s) need action" if needing else "nothing needs action")
    sys.exit(checkup.exit_code)


PASSPHRASE_ENV = "NOTARY_BACKUP_PASSPHRASE"  # noqa: S105 - the variable's name, not a password

#: Exit statuses of ``notary backup`` / ``notary restore`` beyond 0 (done) and 1 (an error).
EXIT_NOT_AUDITED = 3
EXIT_AUDIT_DIVERGED = 4
EXIT_CORRUPT = 65  # EX_DATAERR: the archive does not match its manifest; nothing written
EXIT_REFUSED = 78  # EX_CONFIG: over a log shorter than one published; nothing written


class Refused(click.ClickException):
    """A notary error with an exit status of its own (``code: message``, one line)."""

    def __init__(self, code: str, message: str, exit_code: int) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.exit_code = exit_code


def _io_message(exc: OSError) -> str:
    """A file-system error as one line: the file and what the system said, no traceback."""
    where = f"{exc.filename}: " if exc.filename else ""
    return shown(f"{where}{exc.strerror or exc}")


def _passphrase(*, confirm: bool) -> bytes:
    """From NOTARY_BACKUP_PASSPHRASE, else asked on the terminal; never from the command line."""
    text = os.environ.get(PASSPHRASE_ENV)
    if text is None:
        if not sys.stdin.isatty():
            raise Refused(
                "backup_passphrase_needed",
                f"set {PASSPHRASE_ENV} or run on a terminal to be asked for the passphrase",
                1,
            )
        text = click.prompt("Passphrase for the keys", hide_input=True, confirmation_prompt=confirm, err=True)
    if not text:
        raise Refused("backup_passphrase_needed", "an empty passphrase protects nothing", 1)
    return text.encode("utf-8")


@click.command("backup")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The archive to write (a new file).",
)
@click.option(
    "--include-keys",
    is_flag=True,
    help=f"Also the private keys, encrypted under a passphrase ({PASSPHRASE_ENV} or asked).",
)
@json_option
def backup(out: Path, include_keys: bool, as_json: bool) -> None:  # fmt: skip
    """A consistent copy of the instance while it runs: the database, the documents, the public
    certificates and log key, and a manifest of hashes with the log size it covers. Private
    keys only with --include-keys, encrypted.
    """
    from notary.services.clock import now_text, system_clock
    from notary.services.operations.backup import take_backup

    settings = load_settings()
    if not settings.key_dir.is_dir():
        raise NoInstance(f"no notary instance at {settings.instance_path}")
    passphrase = _passphrase(confirm=True) if include_keys else None
    try:
        taken = take_backup(settings, out, passphrase=passphrase, created_at=now_text(system_clock))
    except OSError as exc:
        raise Refused("io_error", _io_message(exc), 1) from exc
    facts = taken.facts
    emit(
        as_json,
        taken.as_dict(),
        f"backup written to {taken.path}: {taken.size} bytes, {taken.members} members "
        f"({taken.blobs} document files), {taken.seconds:.1f} s\n"
        f"covers the log up to size {facts.tree_size} (newest checkpoint {facts.checkpoint_size})\n"
        + ("private keys included, encrypted" if taken.keys_included else "private keys NOT included"),
    )


@click.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--to",
    "target",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The instance folder to make (new, or empty but for a kept published-checkpoint).",
)
@click.option(
    "--keys-from",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Take the private keys from this folder (kept offline) rather than the backup.",
)
@click.option(
    "--published",
    "published_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A checkpoint the lost instance served (from a monitor or a bundle).",
)
@click.option(
    "--unsafe-accept-shorter-log",
    is_flag=True,
    help="Restore even where a larger checkpoint was published (the leaves after it are lost).",
)
@json_option
def restore(
    archive: Path,
    target: Path,
    keys_from: Path | None,
    published_file: Path | None,
    unsafe_accept_shorter_log: bool,
    as_json: bool,
) -> None:  # fmt: skip
    """Rebuild an instance in --to from a backup, then audit it (as `notary audit`). The whole
    archive is checked against its manifest before anything is written. Exit status 0 restored
    and audited clean, 3 restored but not audited (no private keys), 4 audit divergence,
    65 corrupt archive, 78 refused over a longer published log; 1 any other error.
    """
    from notary.services.operations.archive import BackupCorrupt, check_archive
    from notary.services.operations.restore import restore_backup
    from notary.services.tlog.published import LogBehindPublished

    settings = load_settings()
    target = target.resolve()
    try:
        manifest = check_archive(archive)
        passphrase = _passphrase(confirm=False) if manifest.has_keys and keys_from is None else None
        restored = restore_backup(
            archive,
            target,
            database_url=settings.database_url or f"sqlite:///{target / 'notary.db'}",
            passphrase=passphrase,
            keys_from=keys_from,
            published=published_file.read_text("utf-8") if published_file else None,
            accept_shorter=unsafe_accept_shorter_log,
            checked=manifest,
        )
    except OSError as exc:
        raise Refused("io_error", _io_message(exc), 1) from exc
    except BackupCorrupt as exc:
        raise Refused(exc.code, shown(exc.message), EXIT_CORRUPT) from exc
    except LogBehindPublished as exc:
        raise Refused(exc.code, shown(exc.message), EXIT_REFUSED) from exc
    lines = [f"restored to {target}: the log up to size {restored.manifest.tree_size}"]
    missing = restored.missing
    if missing is not None:
        lines.append(
            f"MISSING: leaves {missing[0]} to {missing[1] - 1} were published after the backup "
            f"(size {missing[1]}); contracts sealed after size {missing[0]} are not in this instance"
        )
    else:
        lines.append(
            f"contracts sealed after the log reached size {restored.manifest.tree_size} are not in this backup"
        )
    if restored.superseded is not None:
        lines.append(f"the published mark that refused it is kept as {restored.superseded}")
    result = restored.as_dict()
    code = 0
    if not (target / "keys" / "log-ed25519.key").exists():
        lines.append(
            f"no private keys restored: put them in {target / 'keys'} (or use --keys-from), then run `notary audit`"
        )
        result["audit"] = None
        code = EXIT_NOT_AUDITED
    else:
        report = audit_instance(Settings.load(instance_path=target))
        result["audit"] = report.as_dict()
        if report.clean:
            lines.append("audit: clean, every hash re-derived from storage agrees")
        else:
            first = report.divergence
            lines.append(f"audit: DIVERGED at {first.check}: {shown(first.what)} {shown(first.where)}")
            code = EXIT_AUDIT_DIVERGED
    emit(as_json, result, "\n".join(lines))
    sys.exit(code)
