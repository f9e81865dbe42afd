"""Fixtures shared by every test: a real instance (keys, migrated database) per test.

The instance template (keys and an Alembic-migrated SQLite file) is made once per session and
copied for each test, so every test starts clean without paying for key generation and
migrations again.
"""

from __future__ import annotations

import functools
import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from notary.app import create_app
from notary.cli.instance import init_instance
from notary.config import Settings
from notary.runtime import Runtime
from notary.signing.keystore import ensure_keys
from notary.storage.db import Database
from notary.storage.schema import upgrade
from tests.support.access import Caller, new_investigator
from tests.support.answers import checked_client
from tests.support.clock import MovableClock, suite_now
from tests.support.external_tsa import external  # noqa: F401 - a fixture for every test
from tests.support.people import Person
from tests.support.platforms import PlatformClient, new_platform
from tests.support.postgres import Cluster


@pytest.fixture(scope="session")
def instance_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("instance-template")
    settings = Settings.load({}, instance_path=path)
    # Keys made at the suite's present, the time the service's clock starts from (MovableClock).
    ensure_keys(settings.key_dir, organisation=settings.organisation, now=suite_now())
    init_instance(settings)
    return path


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    cluster = Cluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def postgres_template(postgres: Cluster, instance_template: Path) -> str:
    """A database with the schema migrated once; each test copies it (CREATE DATABASE ... TEMPLATE)."""
    postgres.execute("CREATE DATABASE notary_template")
    database = Database(postgres.url("notary_template"))
    upgrade(database)
    database.dispose()
    return "notary_template"


_database_counter = itertools.count()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test that touches the database runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield ""
        return
    cluster: Cluster = request.getfixturevalue("postgres")
    template = request.getfixturevalue("postgres_template")
    name = f"notary_test_{os.getpid()}_{next(_database_counter)}"
    cluster.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    yield cluster.url(name)
    cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def settings(instance_template: Path, tmp_path: Path, database_url: str) -> Settings:
    instance = tmp_path / "instance"
    shutil.copytree(instance_template, instance)
    return Settings.load({}, instance_path=instance, database_url=database_url)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def runtime(settings: Settings, clock: MovableClock) -> Iterator[Runtime]:
    rt = Runtime(settings, clock=clock, web=True)
    yield rt
    rt.close()


@pytest.fixture
def app(runtime: Runtime) -> Any:
    application = create_app(runtime=runtime)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def client(app: Any) -> Any:
    """Every JSON answer it receives is checked against its route's declared schema."""
    return checked_client(app)


@pytest.fixture
def make_platform(runtime: Runtime, client: Any) -> Callable[..., PlatformClient]:
    """A factory: ``make_platform("Other Lending")`` adds another platform with its own token."""
    return functools.partial(new_platform, runtime, client)


@pytest.fixture
def make_investigator(runtime: Runtime, client: Any) -> Callable[..., Caller]:
    """A factory: ``make_investigator("Officer Li")`` adds an investigator with a token."""
    return functools.partial(new_investigator, runtime, client)


@pytest.fixture
def platform(make_platform: Callable[..., PlatformClient]) -> PlatformClient:
    return make_platform()


@pytest.fixture
def investor(platform: PlatformClient) -> Person:
    person = Person("张三", alg="ed25519")
    platform.enrol(person)
    return person


@pytest.fixture
def borrower(platform: PlatformClient) -> Person:
    person = Person("李四", alg="p256")
    platform.enrol(person)
    return person


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses openssl's authority (the ``external`` fixture) gets tokens stamped by the
    machine's clock: it is a ``wallclock`` test."""
    for item in items:
        if "external" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.wallclock)
