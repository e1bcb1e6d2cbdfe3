"""python -m analyzer"""

from .cli import run

run()
