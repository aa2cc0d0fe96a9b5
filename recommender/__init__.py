"""recommender: a self-hostable personal email digest of new research papers."""

__version__ = "0.1.0"
