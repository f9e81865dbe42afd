"""docs/operations.md stays true: its systemd units pass ``systemd-analyze verify``, its nginx site
passes ``nginx -t`` (where nginx is installed), and every ``notary`` command it writes exists
with the options it names."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from notary.cli import main

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "operations.md"
UNITS = ROOT / "docs" / "operations" / "systemd"
SITE = ROOT / "docs" / "operations" / "nginx" / "notary.conf"
NOTARY = str(Path(sys.executable).parent / "notary")


def _commands(text: str) -> list[str]:
    found = set()
    for block in re.findall(r"```\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            match = re.search(r"(?:^|[\s/])(notary [a-z].*)$", line)
            if match:
                found.add(match.group(1))
    for inline in re.findall(r"`(notary [^`]+)`", text.replace("\n", " ")):
        found.add(inline)
    return sorted(found)


def _resolve(words: list[str]) -> tuple[click.Command, list[str]]:
    command: click.Command = main
    rest = words[1:]
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        sub = command.get_command(click.Context(command), rest[0])
        assert sub is not None, f"no command {' '.join(words)}"
        command, rest = sub, rest[1:]
    return command, rest


def test_every_notary_command_in_the_guide_exists_with_its_options():
    commands = _commands(GUIDE.read_text())
    assert len(commands) > 15
    for unit in UNITS.iterdir():  # and every command the units run
        for line in unit.read_text().splitlines():
            match = re.search(r"/venv/bin/(notary [a-z][^']*)", line)
            if line.startswith("ExecStart=") and match:
                commands.append(match.group(1).replace("%i", "w1"))
    for text in commands:
        words = shlex.split(text.split(" #")[0].replace("...", ""))
        if "&&" in words:
            words = words[: words.index("&&")]
        command, rest = _resolve(words)
        options = {name for param in command.params for name in param.opts}
        for word in rest:
            if word.startswith("--"):
                assert word.split("=")[0] in options, f"{text}: {word} is not an option of {command.name}"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_systemd_units_verify(tmp_path):
    units = sorted(UNITS.glob("*.service")) + sorted(UNITS.glob("*.timer"))
    assert {unit.name for unit in units} >= {
        "notary-web.service", "notary-worker.service", "notary-witness@.service",
        "notary-backup.service", "notary-backup.timer", "notary-doctor.service", "notary-doctor.timer",
    }  # fmt: skip
    names = []
    for unit in units:
        # The guide's venv is /srv/notary/venv; here the binaries must exist, so this one's.
        text = unit.read_text().replace("/srv/notary/venv/bin/notary", NOTARY)
        name = unit.name.replace("@.", "@w1.")
        (tmp_path / name).write_text(text)
        names.append(f"./{name}")
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *names],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""  # unknown keys and sections are only warnings: none


@pytest.mark.skipif(
    shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(), reason="nginx is not installed"
)
def test_the_nginx_site_passes_nginx_t(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from tests.support.clock import suite_now

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "notary.example.cn")])
    now = suite_now()
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now.replace(year=now.year + 1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    (tmp_path / "fullchain.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "privkey.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    site = SITE.read_text().replace("/etc/ssl/notary/", f"{tmp_path}/")
    (tmp_path / "notary.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events {}\n"
        f"http {{\n access_log off;\n client_body_temp_path {tmp_path}/body;\n"
        f" include {tmp_path}/notary.conf;\n}}\n"
    )
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
