"""Running a check: in memory, streamed, distributed, on Spark; and its result."""
