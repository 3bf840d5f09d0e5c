"""Sub-commands of `love-eval`; each module has `add_parser(parser)` and `run(args) -> int`."""
