"""Package version (kept in step with package.json by hatch-nodejs-version)."""

__version__ = "0.1.0"
