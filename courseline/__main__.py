"""`python -m courseline` is the same as the `courseline` command."""

from courseline.cli import main

# The guard matters: worker processes are started by "spawn", which imports this module again.
if __name__ == "__main__":
    main(prog_name="courseline")
