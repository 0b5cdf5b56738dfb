"""Performance benchmarks (`make bench`): they print figures, they never pass or fail."""
