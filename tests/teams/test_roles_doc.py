"""docs/teams.md shows the role table; it must say what the code enforces."""

from __future__ import annotations

import re

from annotator.models import Role
from annotator.permissions import PERMISSIONS, Action
from tests.conftest import REPO_ROOT


def test_roles_table_in_the_docs_matches_the_permission_table():
    text = (REPO_ROOT / "docs" / "teams.md").read_text()
    header = re.search(r"^\| action \|(.+)\|$", text, re.M)
    roles = [Role(cell.strip()) for cell in header.group(1).split("|")]
    documented = {
        Action(m.group(1)): [cell.strip() == "yes" for cell in m.group(2).split("|")]
        for m in re.finditer(r"^\| `([a-z_]+)` \|(.+)\|$", text, re.M)
    }

    assert set(documented) == set(Action)
    for action, cells in documented.items():
        assert cells == [action in PERMISSIONS[role] for role in roles], action
