"""Page geometry: box relations, text lines, reading order, and the composition of a page's words and layout
regions into ordered blocks. Pure functions on boxes in PDF points (origin top-left); no I/O, no models."""
