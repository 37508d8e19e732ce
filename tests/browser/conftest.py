"""Browser-suite fixtures live in tests/fixtures_browser.py; this makes them visible to tests/browser/."""

from tests.fixtures_browser import *  # noqa: F403
