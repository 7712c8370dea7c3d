"""The benchmark commands write to their database, so they refuse any whose name does not say bench."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["bench_exports", "bench_audit"])
def test_the_benchmarks_refuse_a_database_that_is_not_a_bench_database(command):
    with pytest.raises(CommandError, match="bench"):
        call_command(command)
