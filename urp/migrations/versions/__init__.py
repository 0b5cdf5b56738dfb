"""One module per schema revision, written by hand to match ``urp.models``."""
