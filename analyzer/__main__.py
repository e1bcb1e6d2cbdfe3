"""python -m analyzer"""

from .cli import main

main()
