"""Read and check the inputs: files, header matching, dates, normalizing, context."""
