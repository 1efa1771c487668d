"""courseline: one hashed, verifiable evidence timeline from the digital traces of a stalking campaign."""

__version__ = "0.1.0"
