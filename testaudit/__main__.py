"""`python -m testaudit`."""

from testaudit.cli import main

if __name__ == "__main__":
    main()
