"""Run the edits on Apache Spark: the public entry points (see igrt_edits.run.spark).

    from igrt_edits.spark import check_dataframe
"""

from igrt_edits.run.spark.accounting import SparkRun
from igrt_edits.run.spark.engine import check_dataframe, check_files
from igrt_edits.run.spark.session import spark_session

__all__ = ["SparkRun", "check_dataframe", "check_files", "spark_session"]
