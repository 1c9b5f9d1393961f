"""placeholder"""
from policywatch.commands.context import AddCommand


def register(add: AddCommand) -> None:
    pass
