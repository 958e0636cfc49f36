"""The commands of the `cryptofolio` console script, one module each.

Each module parses its own arguments (``build_parser``), turns them into the library's typed
configuration and calls the floors below (``run``); ``main(argv, prog)`` joins the two through
:func:`cryptofolio.commands.errors.run_command`, so a user's mistake ends in one line and exit
code 2. Each is also ``python -m cryptofolio.commands.<name>``.
"""
