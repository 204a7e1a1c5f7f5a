"""The one exception the local stack raises for problems a developer can fix (ports, rights, binaries)."""


class StackError(RuntimeError):
    """A bring-up step failed for a reason that the message explains, including how to fix it."""
