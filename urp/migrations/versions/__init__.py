"""One module per schema revision, written by hand to match ``urp.core.models``."""
