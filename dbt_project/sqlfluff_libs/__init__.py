"""sqlfluff's stand-ins for dbt's builtins in the jinja templater, where a lint run can answer without a database.
(Read by sqlfluff only, through dbt_project/.sqlfluff `library_path`; never imported by the pipeline.)

`var` answers from dbt_project.yml's `vars`, as dbt does, so the models render with the project's own facts
(the P&L categories, the restatement lookback) rather than sqlfluff's placeholder string."""

from pathlib import Path as _Path

import yaml as _yaml

_PROJECT_FILE = _Path(__file__).resolve().parents[1] / "dbt_project.yml"
_NO_DEFAULT = object()


def var(name, default=_NO_DEFAULT):
    project_vars = _yaml.safe_load(_PROJECT_FILE.read_text()).get("vars") or {}
    if name in project_vars:
        return project_vars[name]
    if default is _NO_DEFAULT:
        raise KeyError(f"dbt var {name!r} is not set in {_PROJECT_FILE} and has no default")
    return default
