"""A refresh's storage asks its catalogue and partition questions once: a yes is kept, a no asked again."""

from __future__ import annotations

from orchestration.instance_storage import CATALOGUE_QUESTIONS, YesKept, _keep_yes_answers


class Asked:
    def __init__(self, answers: dict) -> None:
        self.answers, self.calls = answers, []

    def __call__(self, *args) -> bool:
        self.calls.append(args)
        return self.answers[args[-1]]


def test_a_yes_is_kept_and_a_no_is_asked_again():
    asked = Asked({"event_logs": True, "new_table": False})
    kept = YesKept(asked)
    assert [kept("event_logs"), kept("event_logs"), kept("new_table"), kept("new_table")] == [True, True, False, False]
    assert asked.calls == [("event_logs",), ("new_table",), ("new_table",)]
    asked.answers["new_table"] = True  # a migration added it
    assert kept("new_table") and kept("new_table") and len(asked.calls) == 4


def test_the_connection_is_not_part_of_the_question_and_forget_asks_afresh():
    asked = Asked({"last_materialization_timestamp": True})
    kept = YesKept(asked, skip=1)
    assert kept("connection 1", "last_materialization_timestamp")
    assert kept("connection 2", "last_materialization_timestamp")
    assert len(asked.calls) == 1
    kept.forget()  # a partition removed between runs is seen by the next one
    asked.answers["last_materialization_timestamp"] = False
    assert not kept("connection 3", "last_materialization_timestamp")


def test_each_catalogue_question_of_a_storage_is_wrapped_once():
    class Storage:
        def __init__(self) -> None:
            self.asked = Asked({"t": True, "c": True})

        def has_table(self, name):
            return self.asked(name)

        def _has_asset_key_col_on_connection(self, conn, column):
            return self.asked(conn, column)

    storage = Storage()
    _keep_yes_answers(storage)
    first = {name: getattr(storage, name) for name in CATALOGUE_QUESTIONS}
    _keep_yes_answers(storage)  # a second instance set-up leaves the wrappers as they are
    assert all(isinstance(getattr(storage, n), YesKept) and getattr(storage, n) is first[n]
               for n in CATALOGUE_QUESTIONS)
    storage.has_table("t"), storage.has_table("t")
    storage._has_asset_key_col_on_connection(object(), "c"), storage._has_asset_key_col_on_connection(object(), "c")
    assert len(storage.asked.calls) == 2


def test_a_question_asked_by_keyword_is_kept_too():
    calls = []

    def has_dynamic_partition(partitions_def_name, partition_key):
        calls.append((partitions_def_name, partition_key))
        return True

    kept = YesKept(has_dynamic_partition)
    assert kept(partitions_def_name="tenant", partition_key="t1") and kept(partitions_def_name="tenant",
                                                                           partition_key="t1")
    assert kept("tenant", "t1") and calls == [("tenant", "t1"), ("tenant", "t1")]


def test_a_partition_deleted_in_this_process_is_asked_about_again():
    # An erasure deletes the tenant's partition; a sensor or run on the same instance must not be told it exists.
    from orchestration.instance_storage import _partition_answers_kept_until_deleted

    class Storage:
        def __init__(self) -> None:
            self.partitions, self.asked = {"t1"}, 0

        def has_dynamic_partition(self, partitions_def_name, partition_key):
            self.asked += 1
            return partition_key in self.partitions

        def delete_dynamic_partition(self, partitions_def_name, partition_key):
            self.partitions.discard(partition_key)

    storage = Storage()
    storage.has_dynamic_partition = _partition_answers_kept_until_deleted(storage)
    assert storage.has_dynamic_partition("tenant", "t1") and storage.has_dynamic_partition("tenant", "t1")
    assert storage.asked == 1
    storage.delete_dynamic_partition("tenant", "t1")
    assert not storage.has_dynamic_partition("tenant", "t1") and storage.asked == 2
