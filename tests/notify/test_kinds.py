"""One vocabulary of notice kinds: each kind is produced somewhere in the product and renders in Russian."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from wbsupply.notify.kinds import TRAITS, NoticeKind
from wbsupply.notify.messages import KNOWN_KINDS, render

PACKAGE = Path(__file__).resolve().parents[2] / "wbsupply"
# Where kinds are defined and rendered: a mention there is not a producer.
DEFINITIONS = {PACKAGE / "notify" / "kinds.py", PACKAGE / "notify" / "messages.py"}


def _produced_kinds() -> dict[str, set[str]]:
    """Kind name → product modules that name it as ``NoticeKind.X`` (outside the definitions)."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if path in DEFINITIONS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "NoticeKind":
                found.setdefault(node.attr, set()).add(str(path.relative_to(PACKAGE)))
    return found


def test_every_kind_has_a_producer_in_the_product() -> None:
    produced = _produced_kinds()
    missing = [kind.name for kind in NoticeKind if kind.name not in produced]
    assert not missing, f"notice kinds nobody produces: {missing}"
    unknown = set(produced) - {kind.name for kind in NoticeKind}
    assert not unknown


def test_no_producer_writes_a_kind_as_a_bare_string() -> None:
    """Producers name kinds through the enum, so the test above sees every one of them."""
    words = "|".join(kind.value for kind in NoticeKind)
    pattern = re.compile(rf"""["']({words})["']""")
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path in DEFINITIONS or "api" in path.relative_to(PACKAGE).parts[:1]:
            continue  # the cabinet's switches name groups, some of which share a kind's word
        for line in path.read_text(encoding="utf-8").splitlines():
            if ("enqueue" in line or "Notice(" in line) and pattern.search(line):
                offenders.append(f"{path.name}: {line.strip()}")
    assert not offenders


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_every_kind_renders_in_russian(kind: NoticeKind) -> None:
    assert kind in TRAITS and kind.value in KNOWN_KINDS
    message = render(kind, {}, "https://cabinet.example.ru")
    assert message.title != "Уведомление wbsupply"  # not the fallback of an unknown kind
    for text in (message.title, message.text):
        assert re.search(r"[а-яё]{3}", text, re.IGNORECASE), text
        assert "None" not in text
