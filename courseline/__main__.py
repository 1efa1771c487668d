"""`python -m courseline` is the same as the `courseline` command."""

from courseline.cli import main

main(prog_name="courseline")
