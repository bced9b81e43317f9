"""Allow `python -m terra_cli`."""

from terra_cli.app import main

if __name__ == "__main__":
    main()
