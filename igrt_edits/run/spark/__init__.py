"""Running the edits on Apache Spark (needs the spark extra)."""
