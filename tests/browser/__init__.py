"""Browser tests: headless Chromium driven by Playwright against pytest-django's live server."""
