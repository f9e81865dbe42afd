"""One class per error code: a client, a report or a test that reads ``code`` knows exactly
which error it has. Classes may share a code only along one line of inheritance (a subclass
that refines its parent's meaning without changing its answer)."""

from __future__ import annotations

import importlib
import pkgutil

import notary
from notary.verify.errors import NotaryError


def every_error_class() -> list[type[NotaryError]]:
    for info in pkgutil.walk_packages(notary.__path__, prefix="notary."):
        if ".migrations" not in info.name and not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    found: list[type[NotaryError]] = []
    pending = [NotaryError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_two_classes_share_a_code_only_along_one_line_of_inheritance():
    by_code: dict[str, list[type[NotaryError]]] = {}
    for cls in every_error_class():
        if "code" in vars(cls):
            by_code.setdefault(cls.code, []).append(cls)
    clashes = []
    for code, classes in sorted(by_code.items()):
        for index, first in enumerate(classes):
            for second in classes[index + 1 :]:
                if not (issubclass(first, second) or issubclass(second, first)):
                    clashes.append(
                        f"{code}: {first.__module__}.{first.__qualname__} and {second.__module__}.{second.__qualname__}"
                    )
    assert clashes == []


def test_every_error_class_has_a_code():
    assert all(isinstance(cls.code, str) and cls.code for cls in every_error_class())
