"""Text as it should be stored and exported: clean characters, words from a PDF's characters, hyphenation,
page furniture, headings and lists, and the quality test of a text layer. Pure functions; no I/O."""
