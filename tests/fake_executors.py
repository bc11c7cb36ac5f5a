"""Former home of the test executors, kept for ``--LeptonLabApp.executor_class`` strings (bench/).

Use :mod:`tests.fakes`.
"""

from tests.fakes import FakeExecutor, InstantExecutor

__all__ = ["FakeExecutor", "InstantExecutor"]
