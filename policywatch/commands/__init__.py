"""The `policywatch` commands, one module per command or group of commands.

`table.py` declares every command (name, help, options) and the function that
carries it out as ``module:function``; `policywatch.cli` builds the command
line from it, imports a command's module only when that command runs, builds
the shared `Context` and turns what a command returns or raises into an exit
status.
"""
