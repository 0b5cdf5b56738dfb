"""The memo's subscriber register and its files (export and import)."""
