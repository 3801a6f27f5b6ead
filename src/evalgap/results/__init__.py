"""The result contract every analysis returns, and the verdict rules."""

from evalgap.results._contract import Provenance, Result, Settings
from evalgap.results._verdict import Bands, band_of, span_of, verdict_of

__all__ = ["Bands", "Provenance", "Result", "Settings", "band_of", "span_of", "verdict_of"]
