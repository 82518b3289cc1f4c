"""Printable receipts: signed links (``links``) and the page they open (``page``)."""
