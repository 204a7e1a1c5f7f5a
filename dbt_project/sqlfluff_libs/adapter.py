"""sqlfluff's stand-in for dbt's `adapter` in the jinja templater: a lint run has no database to ask.
(Read by sqlfluff only, through dbt_project/.sqlfluff `library_path`; never imported by the pipeline.)"""


def get_columns_in_relation(relation):
    return []
