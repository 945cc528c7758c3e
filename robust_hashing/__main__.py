"""``python -m robust_hashing`` entry point."""

from robust_hashing.main import main

if __name__ == "__main__":
    raise SystemExit(main())
