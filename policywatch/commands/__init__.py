"""The `policywatch` commands, one module per command or group of commands.

Each module has a `register(add)` that declares its subcommands; `add` comes
from `policywatch.cli`, which parses the command line, builds the shared
`Context` and turns what a command returns or raises into an exit status.
"""
