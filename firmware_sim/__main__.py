"""`python -m firmware_sim`: the same command as `sitwell sim`."""

from .cli import sim

if __name__ == "__main__":
    sim(prog_name="python -m firmware_sim")
