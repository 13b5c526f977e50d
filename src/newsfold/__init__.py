"""newsfold: deduplicating news clustering — article files in, cleaned story-clustered parquet out."""

__version__ = "0.1.0"
