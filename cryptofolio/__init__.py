"""The `cryptofolio` command line: one console script dispatching to the project's floors."""
