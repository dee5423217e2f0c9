"""pressroom: messy scraped transcripts and news text in, a clean, versioned,
validated Parquet dataset out."""

__version__ = "0.1.0"
