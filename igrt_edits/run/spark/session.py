"""The Spark session igrt-edits runs on: the active one, or a local one it starts itself."""

from __future__ import annotations

import os
import sys

from pyspark.sql import SparkSession

LOCAL_DRIVER_MEMORY = "4g"
"""Heap of a Spark that igrt-edits starts itself (SPARK_DRIVER_MEMORY or spark-submit's
--driver-memory choose another)."""


def spark_session(app_name: str = "igrt-edits") -> SparkSession:
    """The active Spark session, or a new one (local mode unless spark-submit says otherwise).

    Spark's Python workers run `python3` from PATH unless PYSPARK_PYTHON is set; a new session
    points them at this interpreter, which has igrt-edits installed.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    if not any(k in os.environ for k in ("SPARK_DRIVER_MEMORY", "PYSPARK_SUBMIT_ARGS")):
        # Started from the plain command (no spark-submit): the driver is also the local
        # executor, and Spark's 1 GB default heap is too small for a file of a few hundred MB
        # read whole (its bytes, their Arrow copy and the cached lines).
        builder = builder.config("spark.driver.memory", LOCAL_DRIVER_MEMORY)
    return builder.getOrCreate()
